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

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import re
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


PROJECT_PACKAGES = ("pipeline", "model")
"""Top-level packages whose modules are followed into a code version (``tasks``/``flows`` run steps, they do
not shape outputs)."""


def code_version(*modules: ModuleType, packages: tuple[str, ...] = PROJECT_PACKAGES) -> str:
    """Hash of everything that shapes a step's output, found by construction from its entry modules.

    - the source of every project module the entry modules import, directly or not (``import_closure``), so
      an edit anywhere a step reaches re-runs it and an edit elsewhere does not;
    - the bytes of the data files those modules declare (``DATA_FILES``: word lists, gazetteers);
    - the versions of the third-party distributions they import (presidio, pyarrow, tokenizers, ...) and of
      those they declare (``DISTRIBUTIONS``: packages whose *data* they read, e.g. ``philter-ucsf``'s lists).

    A reviewer can then trust that a cached dataset was produced by exactly the code and libraries that are
    installed.
    """
    closure, _ = import_closure([m.__name__ for m in modules], packages)
    h = hashlib.sha256()
    for name, source, facts in closure:
        h.update(f"{name}\0{file_digest(source)}".encode())
        # DATA_FILES are paths computed at import: the module is imported only when it declares them, so that
        # walking the closure never imports presidio or torch for a stage that only might use them.
        for path in importlib.import_module(name).DATA_FILES if facts.has_data_files else ():
            h.update(f"{Path(path).name}\0{file_digest(Path(path))}".encode())
    for dist, version in sorted(code_dependencies(*modules, packages=packages).items()):
        h.update(f"{dist}=={version}".encode())
    return h.hexdigest()[:FINGERPRINT_LEN]


def code_dependencies(*modules: ModuleType, packages: tuple[str, ...] = PROJECT_PACKAGES) -> dict[str, str]:
    """Installed version of every third-party distribution the code of ``modules`` imports or declares
    (``DISTRIBUTIONS``): the library half of a code version, shown to people by the lineage UI."""
    closure, third_party = import_closure([m.__name__ for m in modules], packages)
    third_party |= {d for _, _, facts in closure for d in facts.distributions}
    names = {re.sub(r"[-_.]+", "-", d).lower() for d in third_party}  # PEP 503: presidio_analyzer == presidio-analyzer
    return {dist: importlib.metadata.version(dist) for dist in sorted(names)}


def import_closure(
    names: list[str], packages: tuple[str, ...] = PROJECT_PACKAGES
) -> tuple[list[tuple[str, Path, _SourceFacts]], set[str]]:
    """(module name, source file, what it says) of every project module reachable by imports from ``names``,
    sorted by name, and the third-party distributions they import. Imports anywhere in a module count, also
    inside functions (lazy imports). Sources are parsed, not imported."""
    dists = _distributions_of()
    seen: dict[str, tuple[Path, _SourceFacts]] = {}
    third_party: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"code version: no source for module {name!r}")
        is_package = spec.submodule_search_locations is not None
        facts = _facts(Path(spec.origin), name if is_package else name.rpartition(".")[0])
        seen[name] = (Path(spec.origin), facts)
        for imported in facts.imports:
            top = imported.split(".")[0]
            if top in packages:
                todo += [m for m in _module_names(imported) if m not in seen]
            else:
                third_party.update(dists.get(top, ()))
    return [(n, *seen[n]) for n in sorted(seen)], third_party


@dataclass(frozen=True)
class _SourceFacts:
    imports: tuple[str, ...]
    distributions: tuple[str, ...]
    has_data_files: bool


def _facts(source: Path, package: str) -> _SourceFacts:
    st = source.stat()
    return _parse_facts(str(source), st.st_mtime_ns, st.st_size, package)


@functools.lru_cache(maxsize=1024)
def _parse_facts(source: str, mtime_ns: int, size: int, package: str) -> _SourceFacts:
    """What a module's source says, parsed once per version of the file: the dotted names it imports
    (``from a.b import c`` gives ``a.b`` and ``a.b.c``; relative ones resolved against ``package``), its
    ``DISTRIBUTIONS`` (a literal tuple) and whether it declares ``DATA_FILES``."""
    imports: list[str] = []
    distributions: tuple[str, ...] = ()
    has_data_files = False
    tree = ast.parse(Path(source).read_bytes())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            imports += [base] + [f"{base}.{a.name}" for a in node.names]
    for node in tree.body:
        targets = {t.id for t in node.targets if isinstance(t, ast.Name)} if isinstance(node, ast.Assign) else set()
        if "DISTRIBUTIONS" in targets:
            distributions = tuple(ast.literal_eval(node.value))
        has_data_files |= "DATA_FILES" in targets
    return _SourceFacts(tuple(imports), distributions, has_data_files)


def _module_names(dotted: str) -> list[str]:
    """The modules among ``dotted`` and its parent packages (``a.b.c`` may be a module or a name in ``a.b``).
    Stops at the first plain module: looking for a submodule of a module would import it."""
    parts = dotted.split(".")
    out = []
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, AttributeError, ValueError):
            break
        if spec is None:
            break
        out.append(name)
        if spec.submodule_search_locations is None:
            break
    return out


@functools.lru_cache(maxsize=1)
def _distributions_of() -> dict[str, list[str]]:
    """Import name -> the installed distributions providing it (what ``import yaml`` means: ``pyyaml``)."""
    return importlib.metadata.packages_distributions()


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
    manifest_extra: dict[str, Any] = field(default_factory=dict)
    """More top-level manifest entries (pretraining: the model's shape, how it was executed); never text."""


StageBody = Callable[[Mapping[str, Dataset], Path, "Progress | None"], StageResult]


class StepObserver(Protocol):
    """Told when a step really computes (not when its dataset is reused): ``pipeline.core.lineage.StepRecorder``."""

    def started(self, inputs: list[Dataset]) -> None: ...
    def completed(self, output: Dataset) -> None: ...
    def failed(self, exc: BaseException) -> None: ...


class AccountingError(RuntimeError):
    """A stage lost or invented rows: refuse to publish its output."""

    sanitised = True  # stage name and counts only (pipeline.core.errors)


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
    resumable: bool = False,
) -> tuple[Dataset, bool]:
    """Run ``body`` into ``<data_root>/<stage>/<fingerprint>/`` unless that dataset already exists.

    ``external_inputs`` are fingerprints of things that are not datasets (raw input files). ``observer``
    hears of a computed step's start, completion or failure (lineage). Temp folders that processes of
    this host left behind when they died (``kill -9``) are removed first. A ``resumable`` body (a training
    job that checkpoints) works in ``<stage>/.run-<fingerprint>/``, which a failure keeps so that the next
    attempt resumes from it (``force`` starts it afresh).
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
    if resumable:
        tmp = final.parent / f".run-{fp}"
        if force:
            shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(exist_ok=True)
    else:
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
            **result.manifest_extra,
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
        if not resumable:
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
