"""Launch a pretraining run as a job: fingerprint, skip-if-done, command line, hostfile, streaming, manifest.

A run is a lineage step like a preprocessing stage. Its folder is ``<out_root>/pretrain/<fingerprint>/``
where ``fingerprint = hash(shards and vocab fingerprints, training parameters, training code version)``
(:func:`pipeline.dataset.fingerprint` / :func:`pipeline.dataset.code_version`), so an identical rerun is
skipped. Training writes into ``<out_root>/pretrain/.run-<fingerprint>/`` (kept between attempts: a
killed job resumes from its latest checkpoint there); only a finished run, with its ``_manifest.json``, is
renamed into place.

The job itself is ``python -m model.train`` behind the ``deepspeed`` launcher (multi-node through a
hostfile), ``torchrun``, Slurm's ``srun`` (inside an allocation), or nothing (one process). ``OMP_NUM_THREADS`` is set per process: neither
``deepspeed`` nor a bare process does it, and oversubscribed cores make CPU training several times slower.
No Prefect here: :mod:`flows.pretrain` passes a line callback to forward the job's progress.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from model.config import PretrainConfig
from pipeline.dag import NotDeidentifiedError
from pipeline.dataset import MANIFEST, Dataset, code_version, fingerprint
from pipeline.lineage import lineage_chain

STAGE = "pretrain"
JOB_LOG = "job.log"
CONFIG_FILE = "config.yaml"
LineSink = Callable[[str], None]
COUNTS = ("steps", "tokens", "samples", "parameters", "best_val_loss", "final_val", "stopped_early", "resumed_from",
          "world_size", "precision")  # fmt: skip
"""Numbers from the job's ``result.json`` that go into the run manifest."""


DETERMINISTIC_ERRORS = frozenset({
    "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError", "NameError", "ImportError",
    "ModuleNotFoundError", "SyntaxError", "AssertionError", "FileNotFoundError", "NotDeidentifiedError",
    "OutOfMemoryError", "ValidationError",
})  # fmt: skip
"""Errors a rerun of the same job would hit again (settings, code, data, memory): not worth a retry."""


class JobFailed(RuntimeError):
    """The training job exited non-zero; the message carries its last error line and the log path."""

    def __init__(self, message: str, exit_code: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.exit_code, self.error = exit_code, error

    @property
    def retryable(self) -> bool:
        """Worth another attempt (which resumes from the newest complete checkpoint): a killed process, a lost
        node, an NCCL timeout -- anything but an error that the same settings and data would raise again."""
        if self.error is None:
            return True
        name = self.error.split(":", 1)[0].strip().rsplit(".", 1)[-1]
        return name not in DETERMINISTIC_ERRORS


def input_dataset(path: Path, stage: str) -> Dataset:
    """A preprocessing output folder as a Dataset (fingerprint from its manifest).

    Like every stage after ``deid``, pretraining refuses data whose recorded lineage does not pass through
    ``deid``: a model can memorise and emit what it was trained on.
    """
    path = Path(path).resolve()
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{path} has no {MANIFEST}: pass a {stage!r} dataset folder produced by `ehrlm preprocess`")
    m = json.loads(manifest.read_text())
    if m.get("stage") != stage:
        raise ValueError(f"{path} is a {m.get('stage')!r} dataset, expected {stage!r}")
    if not any(step["stage"] == "deid" for step in lineage_chain(path)):
        raise NotDeidentifiedError(f"pretraining refuses {stage!r} input {path}: its lineage does not pass through 'deid'")
    return Dataset(stage, m["fingerprint"], path)


def training_code_version() -> str:
    """Hash of the modules whose source determines the trained weights."""
    from model import bert, config, samples, train

    return code_version(bert, config, samples, train)


@dataclass(frozen=True)
class RunPlan:
    config: PretrainConfig
    inputs: dict[str, Dataset]
    code: str
    out_root: Path

    @property
    def params(self) -> dict[str, Any]:
        return self.config.fingerprint_params()

    @property
    def fingerprint(self) -> str:
        return fingerprint(STAGE, self.params, self.code, {k: d.fingerprint for k, d in self.inputs.items()})

    @property
    def final_dir(self) -> Path:
        return self.out_root / STAGE / self.fingerprint

    @property
    def work_dir(self) -> Path:
        return self.out_root / STAGE / f".run-{self.fingerprint}"


def plan(shards: Path, vocab: Path, config: PretrainConfig | dict | str | Path, out_root: Path) -> RunPlan:
    inputs = {"shards": input_dataset(shards, "shards"), "vocab": input_dataset(vocab, "vocab")}
    return RunPlan(PretrainConfig.load(config), inputs, training_code_version(), Path(out_root).resolve())


def completed(p: RunPlan) -> dict[str, Any] | None:
    """The finished run's manifest, if this exact run is already on disk."""
    path = p.final_dir / MANIFEST
    if not path.is_file():
        return None
    m = json.loads(path.read_text())
    if m.get("fingerprint") != p.fingerprint or any(not (p.final_dir / part).exists() for part in m.get("parts", [])):
        return None
    return m


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hostfile_text(hosts: Mapping[str, int]) -> str:
    """DeepSpeed/pdsh hostfile: one ``host slots=N`` line per node."""
    return "".join(f"{host} slots={slots}\n" for host, slots in hosts.items())


def build_command(
    cfg: PretrainConfig,
    config_file: Path,
    shards: Path,
    vocab: Path,
    run_dir: Path,
    *,
    master_port: int,
    hostfile: Path | None = None,
    python: str = sys.executable,
    extra_args: tuple[str, ...] = (),
) -> list[str]:
    """The job's command line for the configured launcher.

    ``master_addr`` is passed only when the user set it: a default of 127.0.0.1 would override DeepSpeed's
    discovery (the hostfile's first host), and every remote rank would wait for a master on its own loopback.
    """
    launch = cfg.launch
    script = ["--config", str(config_file), "--shards", str(shards), "--vocab", str(vocab), "--run-dir", str(run_dir),
              *extra_args]  # fmt: skip
    addr = ["--master_addr", launch.master_addr] if launch.master_addr else []
    if launch.launcher == "deepspeed":
        cmd = [python, "-m", "deepspeed.launcher.runner"]
        if launch.hosts:
            if hostfile is None:
                raise ValueError("multi-node launch needs a hostfile path")
            cmd += ["--hostfile", str(hostfile)]
        else:
            cmd += ["--num_gpus", str(launch.nproc_per_node)]
        return cmd + addr + ["--master_port", str(master_port), "--module", "model.train", *script]
    if launch.hosts:
        raise ValueError(f"launcher {launch.launcher!r} does not read hosts; use launcher: deepspeed with hosts "
                         "(one node for torchrun/python; slurm takes its nodes from the allocation)")  # fmt: skip
    if launch.launcher == "torchrun":
        return [python, "-m", "torch.distributed.run", "--nproc_per_node", str(launch.nproc_per_node), *addr,
                "--master_port", str(master_port), "-m", "model.train", *script]  # fmt: skip
    if launch.launcher == "slurm":
        # one task per GPU; each task reads its rank from SLURM_PROCID / SLURM_LOCALID (model.train)
        return ["srun", f"--nodes={launch.nodes}", f"--ntasks-per-node={launch.nproc_per_node}", "--kill-on-bad-exit=1",
                *launch.srun_args, python, "-m", "model.train", *script]  # fmt: skip
    if launch.nproc_per_node != 1:
        raise ValueError("launcher 'python' runs exactly one process; use deepspeed or torchrun for more")
    return [python, "-m", "model.train", *script]


def job_env(cfg: PretrainConfig, master_port: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    threads = cfg.launch.omp_num_threads or max(1, (os.cpu_count() or 1) // cfg.launch.nproc_per_node)
    env["OMP_NUM_THREADS"] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    if cfg.launch.launcher == "python":
        env.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR=cfg.launch.master_addr or "127.0.0.1",
                   MASTER_PORT=str(master_port))  # fmt: skip
    elif cfg.launch.launcher == "slurm":
        # srun exports this environment to every task; the batch step runs on the allocation's first node,
        # where srun also places task 0
        env.update(EHRLM_SLURM="1", MASTER_ADDR=cfg.launch.master_addr or socket.gethostname(), MASTER_PORT=str(master_port))
    return env


def host_prefix_stripper(hosts: Mapping[str, int] | list[str]) -> Callable[[str], str]:
    """pdsh (DeepSpeed's multi-node runner) prefixes each remote line with ``host: ``; remove exactly those
    hosts' prefixes so that metric and error lines parse (a generic ``word: `` rule would eat ``ValueError: ``)."""
    names = sorted(hosts, key=len, reverse=True)
    if not names:
        return lambda line: line
    prefix = re.compile("^(?:" + "|".join(re.escape(h) for h in names) + "): ")
    return lambda line: prefix.sub("", line, count=1)


_ERROR_LINE = re.compile(r"^(\[rank\d+\]:\s*)?((\w+\.)*\w*(Error|Exception|Failed|Interrupt)\b.*)")


def run_job(
    cmd: list[str], env: Mapping[str, str], log_path: Path, on_line: LineSink | None = None, hosts: Mapping[str, int] | list[str] = ()
) -> None:
    """Run the job, appending its merged output to ``log_path`` and passing each line to ``on_line``.

    Lines from remote ``hosts`` lose their pdsh ``host: `` prefix before they are parsed (the log keeps
    them). Raises :class:`JobFailed` with the job's last error line (training prints numbers and ids,
    never note text) and the log path.
    """
    strip = host_prefix_stripper(hosts)
    tail: deque[str] = deque(maxlen=200)
    with log_path.open("a") as log, subprocess.Popen(
        cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            clean = strip(line.rstrip("\n"))
            tail.append(clean)
            if on_line is not None:
                on_line(clean)
        rc = proc.wait()
    if rc != 0:
        errors = [m.group(2) for ln in tail if (m := _ERROR_LINE.match(ln.strip()))]
        reason = errors[-1] if errors else f"exit code {rc}"
        raise JobFailed(f"pretraining job failed (exit code {rc}): {reason[:500]}; full log: {log_path}", rc,
                        errors[-1] if errors else None)  # fmt: skip


def _publish(work: Path, final: Path) -> None:
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    work.rename(final)


def run(
    shards: Path,
    vocab: Path,
    config: PretrainConfig | dict | str | Path,
    out_root: Path,
    *,
    force: bool = False,
    on_line: LineSink | None = None,
    extra_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run (resume, or skip) the pretraining job; returns the run's manifest plus ``path`` and ``computed``."""
    return run_plan(plan(shards, vocab, config, out_root), force=force, on_line=on_line, extra_args=extra_args)


def run_plan(
    p: RunPlan, *, force: bool = False, on_line: LineSink | None = None, extra_args: tuple[str, ...] = ()
) -> dict[str, Any]:
    """:func:`run` for a computed plan. ``force`` discards any partial or finished run and trains from scratch."""
    if not force and (done := completed(p)) is not None:
        return {**done, "path": str(p.final_dir), "computed": False}
    work = p.work_dir
    if force and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = p.config
    config_file = work / CONFIG_FILE
    config_file.write_text(yaml.safe_dump({"pretrain": cfg.model_dump(mode="json")}, sort_keys=False))
    hostfile = None
    if cfg.launch.hosts:
        hostfile = work / "hostfile"
        hostfile.write_text(hostfile_text(cfg.launch.hosts))
    port = cfg.launch.master_port or _free_port()
    cmd = build_command(cfg, config_file, p.inputs["shards"].path, p.inputs["vocab"].path, work,
                        master_port=port, hostfile=hostfile, extra_args=extra_args)  # fmt: skip
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    run_job(cmd, job_env(cfg, port), work / JOB_LOG, on_line, hosts=cfg.launch.hosts)
    manifest = _manifest(p, work, started, time.perf_counter() - t0)
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    _publish(work, p.final_dir)
    return {**manifest, "path": str(p.final_dir), "computed": True}


def _manifest(p: RunPlan, work: Path, started: datetime, seconds: float) -> dict[str, Any]:
    from model.train import RESULT

    result = json.loads((work / RESULT).read_text())
    samples = result["samples"]
    return {
        "stage": STAGE,
        "fingerprint": p.fingerprint,
        "code_version": p.code,
        "params": p.params,
        "execution": {**p.config.launch.model_dump(mode="json"), "world_size": result["world_size"]},
        "inputs": {name: ds.as_ref() for name, ds in p.inputs.items()},
        "external_inputs": {},
        "rows_in": samples,  # training samples consumed
        "rows_out": samples,
        "dropped": {},
        "counts": {k: result[k] for k in COUNTS},
        "model": result["model"],
        "parts": sorted(x.name for x in work.iterdir() if x.name != MANIFEST),
        "started_at": started.isoformat(),
        "wall_seconds": round(seconds, 3),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
