"""Datasets, fingerprints and manifests: the one mechanism every stage uses.

A stage output is a folder ``<data_root>/<stage>/<fingerprint>/`` holding its parts and ``_manifest.json``.
The fingerprint is a hash of the stage name, its parameters, its code version and its inputs'
fingerprints, so it is known *before* the stage runs: same inputs + settings => same folder => skip.
Writes go to a temporary sibling folder that is renamed into place only after the manifest is written,
so a crash never leaves a half-written dataset where a reader (or the skip check) could see it.

Manifests carry counts, ids, hashes and parameters only -- never note text -- because they are the
lineage record shown to people and sent to lineage servers.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

MANIFEST = "_manifest.json"
FINGERPRINT_LEN = 16

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` by long stages; must never receive note text."""


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(stage: str, params: Mapping[str, Any], code_version: str, input_fingerprints: Mapping[str, str]) -> str:
    """Stable hash of everything that determines a stage's output."""
    payload = _canonical(
        {"stage": stage, "params": dict(params), "code": code_version, "inputs": dict(sorted(input_fingerprints.items()))}
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:FINGERPRINT_LEN]


def code_version(*modules: ModuleType) -> str:
    """Hash of the source of the modules that implement a stage, of the data files they declare and of the
    versions of the third-party distributions they declare.

    Any edit to a stage's code changes its fingerprint, so a reviewer can trust that a cached dataset was
    produced by exactly the code that is checked out. A module declares what else shapes its output:
    ``DATA_FILES`` (paths of word lists it reads) and ``DISTRIBUTIONS`` (packages whose data or behaviour
    it depends on, e.g. the name lists of ``philter-ucsf``), so a new list or an upgrade re-runs the stage.
    """
    h = hashlib.sha256()
    for module in modules:
        h.update(module.__name__.encode())
        h.update(inspect.getsource(module).encode())
        for path in getattr(module, "DATA_FILES", ()):
            h.update(f"{Path(path).name}\0{file_digest(Path(path))}".encode())
        for dist in getattr(module, "DISTRIBUTIONS", ()):
            h.update(f"{dist}=={importlib.metadata.version(dist)}".encode())
    return h.hexdigest()[:FINGERPRINT_LEN]


def file_digest(path: Path) -> str:
    """Content hash of a raw input file (sha256, streamed).

    Memoised on (path, size, mtime) within a process: planning a run and running it both need the
    digests, and raw corpora can be large.
    """
    st = Path(path).stat()
    return _digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def path_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative paths + contents, in path order)."""
    path = Path(path)
    if path.is_file():
        return file_digest(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path).as_posix()}\0{file_digest(f)}\n".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=100_000)
def _digest(path: str, size: int, mtime_ns: int, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Dataset:
    """A finished, immutable stage output on disk."""

    stage: str
    fingerprint: str
    path: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text())

    def part(self, name: str) -> Path:
        return self.path / name

    def as_ref(self) -> dict[str, str]:
        return {"stage": self.stage, "fingerprint": self.fingerprint, "path": str(self.path)}


def dataset_path(data_root: Path, stage: str, fp: str) -> Path:
    return Path(data_root) / stage / fp


def existing_dataset(data_root: Path, stage: str, fp: str) -> Dataset | None:
    """The dataset if it is really complete on disk: manifest present and every listed part present."""
    path = dataset_path(data_root, stage, fp)
    mpath = path / MANIFEST
    if not mpath.is_file():
        return None
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError:
        return None
    if manifest.get("fingerprint") != fp:
        return None
    if any(not (path / part).exists() for part in manifest.get("parts", [])):
        return None
    return Dataset(stage, fp, path)


@dataclass
class StageResult:
    """What a stage body reports back: counts only, never text.

    ``rows_in == rows_out + sum(dropped.values())`` must hold for row-wise stages; the runner checks it so
    that no note can silently disappear.
    """

    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    row_accounting: bool = True


StageBody = Callable[[Mapping[str, Dataset], Path, "Progress | None"], StageResult]


class StepObserver(Protocol):
    """Told when a step really computes (not when its dataset is reused): ``pipeline.lineage.StepRecorder``."""

    def started(self, inputs: list[Dataset]) -> None: ...
    def completed(self, output: Dataset) -> None: ...
    def failed(self, exc: BaseException) -> None: ...


class AccountingError(RuntimeError):
    """A stage lost or invented rows: refuse to publish its output."""


def run_stage(
    *,
    data_root: Path,
    stage: str,
    params: Mapping[str, Any],
    code: str,
    inputs: Mapping[str, Dataset],
    body: StageBody,
    force: bool = False,
    external_inputs: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    observer: StepObserver | None = None,
) -> tuple[Dataset, bool]:
    """Run ``body`` into ``<data_root>/<stage>/<fingerprint>/`` unless that dataset already exists.

    ``external_inputs`` are fingerprints of things that are not datasets (raw input files). ``observer``
    hears of a computed step's start, completion or failure (lineage). Temp folders that processes of
    this host left behind when they died (``kill -9``) are removed first.
    Returns the dataset and whether the body actually ran.
    """
    input_fps = {name: ds.fingerprint for name, ds in inputs.items()}
    input_fps.update(external_inputs or {})
    fp = fingerprint(stage, params, code, input_fps)
    if not force and (done := existing_dataset(data_root, stage, fp)) is not None:
        return done, False

    final = dataset_path(data_root, stage, fp)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(final.parent)
    tmp = final.parent / f".tmp-{fp}-{_owner()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    if observer is not None:
        observer.started(list(inputs.values()))
    started = datetime.now(timezone.utc)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = body(inputs, tmp, progress)
        dropped_total = sum(result.dropped.values())
        if result.row_accounting and result.rows_in != result.rows_out + dropped_total:
            raise AccountingError(
                f"stage {stage!r}: rows_in={result.rows_in} != rows_out={result.rows_out} + dropped={dropped_total}"
            )
        parts = sorted(p.name for p in tmp.iterdir() if p.name != MANIFEST)
        manifest = {
            "stage": stage,
            "fingerprint": fp,
            "code_version": code,
            "params": dict(params),
            "inputs": {
                name: {"stage": ds.stage, "fingerprint": ds.fingerprint, "path": str(ds.path)} for name, ds in inputs.items()
            },
            "external_inputs": dict(external_inputs or {}),
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "dropped": result.dropped,
            "counts": result.counts,
            "parts": parts,
            "started_at": started.isoformat(),
            "wall_seconds": round(time.perf_counter() - t0, 3),
            "cpu_seconds": round(time.process_time() - c0, 3),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        _publish(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if observer is not None:
            observer.failed(exc)
        raise
    done = Dataset(stage, fp, final)
    if observer is not None:
        observer.completed(done)
    return done, True


def _owner() -> str:
    """``<pid>-<host hash>``: who writes a temp folder, so a later run can tell a dead writer's leftovers."""
    return f"{os.getpid()}-{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]}"


def sweep_stale(stage_folder: Path) -> list[str]:
    """Remove ``.tmp-*`` / ``.old-*`` folders of ``stage_folder`` whose writing process, on this host, is gone.

    A ``kill -9`` (or OOM kill, or power loss) mid-stage leaves its temp folder -- possibly a partial shard --
    behind; readers never see it (only renamed folders count), but it takes disk. Folders of live processes
    and of other hosts (a shared file system) are left alone.
    """
    me = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
    removed = []
    for entry in Path(stage_folder).glob(".*-*"):
        parts = entry.name.split("-")
        if parts[0] not in (".tmp", ".old") or len(parts) != 5 or parts[3] != me or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
            continue  # its writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished temp folder into place; an older copy (forced rerun) is swapped out, then removed."""
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{_owner()}-{uuid.uuid4().hex[:8]}"
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
