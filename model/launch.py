"""Pretraining as a step of the DAG (:class:`PretrainStep`): command line, hostfile, streaming, result.

A run is a step like a preprocessing stage, run by the same executor (:func:`pipeline.core.step.execute`). Its
folder is ``<out_root>/pretrain/<fingerprint>/`` where ``fingerprint = hash(shards and vocab fingerprints,
training parameters, code version of this module's imports: model.train, bert, samples ...)``, so an
identical rerun is skipped. The step is *resumable*: training writes into ``<out_root>/pretrain/.run-<fingerprint>/``
(kept between attempts: a killed job resumes from its latest checkpoint there); only a finished run, with
its ``_manifest.json``, is renamed into place.

The job itself is ``python -m model.train`` behind the ``deepspeed`` launcher (multi-node through a
hostfile), ``torchrun``, Slurm's ``srun`` (inside an allocation), or nothing (one process). ``OMP_NUM_THREADS`` is set per process: neither
``deepspeed`` nor a bare process does it, and oversubscribed cores make CPU training several times slower.
No Prefect here: :mod:`flows.pretrain` passes a line callback to forward the job's progress.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from model.config import PretrainConfig
from pipeline.core.dataset import MANIFEST, Dataset, Progress, StageResult
from pipeline.core.ports import free_port
from pipeline.core.step import execute, require_deidentified

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

    sanitised = True  # training sees token ids of de-identified text, never notes: its error lines may leave

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
    ds = Dataset(stage, m["fingerprint"], path)
    require_deidentified(STAGE, {stage: ds})
    return ds


@dataclass(frozen=True)
class PretrainStep:
    """Pretraining as a :class:`pipeline.core.step.Step`: ``shards`` + ``vocab`` -> checkpoints and an HF export.

    ``on_line`` receives every line the job prints (the caller's log); ``extra_args`` go to ``model.train``
    (tests: ``--kill-at-step``)."""

    config: PretrainConfig
    on_line: LineSink | None = None
    extra_args: tuple[str, ...] = ()
    name: ClassVar[str] = STAGE
    upstream: ClassVar[tuple[str, ...]] = ("shards", "vocab")
    entry: ClassVar[str] = __name__
    deidentified_only: ClassVar[bool] = True
    resumable: ClassVar[bool] = True

    @property
    def params(self) -> PretrainConfig:
        return self.config

    def assets(self) -> dict[str, str]:
        return {}

    def run(self, inputs: Mapping[str, Dataset], out: Path, progress: Progress | None) -> StageResult:
        cfg = self.config
        config_file = out / CONFIG_FILE
        config_file.write_text(yaml.safe_dump({"pretrain": cfg.model_dump(mode="json")}, sort_keys=False))
        hostfile = None
        if cfg.launch.hosts:
            hostfile = out / "hostfile"
            hostfile.write_text(hostfile_text(cfg.launch.hosts))
        port = cfg.launch.master_port or free_port()
        cmd = build_command(cfg, config_file, inputs["shards"].path, inputs["vocab"].path, out,
                            master_port=port, hostfile=hostfile, extra_args=self.extra_args)  # fmt: skip
        run_job(cmd, job_env(cfg, port), out / JOB_LOG, self._forward(progress), hosts=cfg.launch.hosts)
        return _result(cfg, out)

    def _forward(self, progress: Progress | None) -> LineSink:
        """Each job line to ``on_line``; metric records (``[ehrlm] {...}``, numbers only) to ``progress.log``
        when the progress callback has one (a Prefect task's), and their step counts to ``progress``."""
        from model.train import LOG_PREFIX

        log = getattr(progress, "log", None)
        total = self.config.train.train_steps

        def forward(line: str) -> None:
            if self.on_line is not None:
                self.on_line(line)
            if not line.startswith(LOG_PREFIX):
                return
            record = line[len(LOG_PREFIX) :]
            if log is not None:
                log(record)
            step = json.loads(record).get("step") if record.startswith("{") else None
            if isinstance(step, int) and progress is not None:
                progress(step, total)

        return forward


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
    """Run (resume, or skip) the pretraining job without Prefect; returns the run's manifest plus ``path``
    and ``computed``. ``force`` discards any partial or finished run and trains from scratch."""
    inputs = {"shards": input_dataset(shards, "shards"), "vocab": input_dataset(vocab, "vocab")}
    step = PretrainStep(PretrainConfig.load(config), on_line, tuple(extra_args))
    out = execute(step, inputs, Path(out_root).resolve(), force=force)
    return {**out.dataset.manifest, "path": str(out.dataset.path), "computed": out.computed}


def _result(cfg: PretrainConfig, work: Path) -> StageResult:
    """The job's ``result.json`` as the step's counts (training samples consumed are its rows)."""
    from model.train import RESULT

    result = json.loads((work / RESULT).read_text())
    samples = result["samples"]
    return StageResult(
        rows_in=samples, rows_out=samples, counts={k: result[k] for k in COUNTS},
        manifest_extra={"execution": {**cfg.launch.model_dump(mode="json"), "world_size": result["world_size"]},
                        "model": result["model"]},
    )  # fmt: skip
