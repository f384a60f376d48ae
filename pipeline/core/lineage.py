"""Lineage: every stage run is one step, recorded as manifests and emitted as OpenLineage run events.

The manifest chain on disk is the record of truth (it travels with the data and needs no server); the
OpenLineage events (JSONL file by default, HTTP to Marquez/DataHub when ``OPENLINEAGE_URL`` is set) make
the same steps visible to lineage tools. Both carry fingerprints, parameters, code versions, schemas and
counts -- never note text.
"""

from __future__ import annotations

import html
import json
import os
import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attr

import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
)
from openlineage.client.transport.file import FileConfig, FileTransport

from pipeline.core.dataset import MANIFEST, Dataset

NAMESPACE = "ehrlm"
PRODUCER = "https://github.com/ehrlm/ehrlm"
EVENTS_FILE = "_lineage/openlineage.jsonl"
OPEN_RUNS = "_lineage/open"  # one marker per started, not yet ended run


# --- walking the manifest chain ------------------------------------------------------------------------


def _resolve(current: Path, ref: dict[str, Any]) -> Path:
    """An input's folder: its recorded path, else the same stage/fingerprint under this data root (moved roots)."""
    recorded = Path(ref.get("path", ""))
    if recorded.joinpath(MANIFEST).is_file():
        return recorded
    return current.parent.parent / ref["stage"] / ref["fingerprint"]


def lineage_chain(path: Path) -> list[dict[str, Any]]:
    """Manifests from the dataset or model at ``path`` back to the raw inputs, breadth first.

    Each manifest gets ``_path`` added so callers can show where it lives.
    """
    start = Path(path).resolve()
    # a file or sub-folder of a dataset/model (e.g. a run's hf/ export) belongs to the nearest manifest above it
    start = next((p for p in (start, *start.parents) if (p / MANIFEST).is_file()), start)
    if not (start / MANIFEST).is_file():
        raise FileNotFoundError(f"{start} has no {MANIFEST}: not an ehrlm dataset or model folder")
    chain, todo, seen = [], [start], set()
    while todo:
        folder = todo.pop(0)
        if folder in seen:
            continue
        seen.add(folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest["_path"] = str(folder)
        chain.append(manifest)
        todo.extend(_resolve(folder, ref) for ref in manifest.get("inputs", {}).values())
    return chain


def _node_id(m: dict[str, Any]) -> str:
    return f"{m['stage']}_{m['fingerprint']}"


def _label(m: dict[str, Any]) -> str:
    rows = f"{m.get('rows_in', '?')} → {m.get('rows_out', '?')}"
    dropped = sum((m.get("dropped") or {}).values())
    return f"{m['stage']} {m['fingerprint'][:8]}\\n{rows}" + (f" (dropped {dropped})" if dropped else "")


def _edges(chain: list[dict[str, Any]]) -> list[tuple[str, str]]:
    ids = {(m["stage"], m["fingerprint"]) for m in chain}
    edges = []
    for m in chain:
        for ref in m.get("inputs", {}).values():
            if (ref["stage"], ref["fingerprint"]) in ids:
                edges.append((f"{ref['stage']}_{ref['fingerprint']}", _node_id(m)))
    return edges


def _raw_inputs(chain: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(node id of the consuming step, raw file label) for external inputs such as raw note files."""
    return [(_node_id(m), f"{name} {digest[:8]}") for m in chain for name, digest in (m.get("external_inputs") or {}).items()]


def render(chain: list[dict[str, Any]], fmt: str) -> str:
    """The lineage graph as Mermaid, Graphviz DOT or a self-contained HTML page (inline SVG, no CDN)."""
    if fmt == "mermaid":
        lines = ["flowchart LR"]
        for i, (node, raw) in enumerate(_raw_inputs(chain)):
            lines.append(f'  raw{i}[("{raw}")] --> {node}')
        lines += [f'  {_node_id(m)}["{_label(m).replace(chr(92) + "n", "<br/>")}"]' for m in chain]
        lines += [f"  {a} --> {b}" for a, b in _edges(chain)]
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        lines = ["digraph lineage {", "  rankdir=LR; node [shape=box];"]
        for i, (node, raw) in enumerate(_raw_inputs(chain)):
            lines.append(f'  raw{i} [label="{raw}", shape=cylinder]; raw{i} -> {node};')
        lines += [f'  {_node_id(m)} [label="{_label(m)}"];' for m in chain]
        lines += [f"  {a} -> {b};" for a, b in _edges(chain)]
        return "\n".join(lines + ["}"]) + "\n"
    if fmt == "html":
        return _html(chain)
    raise ValueError(f"unknown format {fmt!r}; use mermaid, dot or html")


def _html(chain: list[dict[str, Any]]) -> str:
    """A self-contained page: the graph drawn by the lineage UI's own layout code (cytoscape.js + dagre,
    inlined, see ``pipeline.lineage_ui.layout``), and a table of every step under it."""
    from pipeline.lineage_ui.layout import chain_graph, standalone_page

    rows = "".join(
        f"<tr class='step'><td>{html.escape(m['stage'])}</td><td>{m['fingerprint']}</td><td>{m.get('rows_in', '')}</td>"
        f"<td>{m.get('rows_out', '')}</td><td>{html.escape(json.dumps(m.get('dropped', {})))}</td>"
        f"<td>{html.escape(str(m.get('code_version', '')))}</td></tr>"
        for m in chain
    )
    table = (
        "<table><tr><th>stage</th><th>fingerprint</th><th>rows in</th><th>rows out</th>"
        f"<th>dropped</th><th>code version</th></tr>{rows}</table>"
    )
    return standalone_page(chain_graph(chain), "ehrlm lineage", table)


# --- OpenLineage events --------------------------------------------------------------------------------


def _schema_fields(ds_path: Path) -> list[dict[str, str]]:
    for part in sorted(ds_path.iterdir()):
        if part.suffix == ".parquet":
            schema = pq.read_schema(part)
        elif part.suffix == ".arrow":
            with ipc.open_file(part) as reader:
                schema = reader.schema
        else:
            continue
        return [{"name": f.name, "type": str(f.type)} for f in schema]
    return []


@attr.define
class EhrlmDatasetFacet(DatasetFacet):
    """Our facet: the dataset's stage, fingerprint, row count and rows dropped by reason."""

    stage: str
    fingerprint: str
    rows: int
    dropped: dict = attr.field(factory=dict)


def _dataset(ds: Dataset, role: str) -> InputDataset | OutputDataset:
    m = ds.manifest
    facets = {
        "schema": schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name=f["name"], type=f["type"]) for f in _schema_fields(ds.path)]),
        "ehrlm": EhrlmDatasetFacet(stage=ds.stage, fingerprint=ds.fingerprint, rows=m["rows_out"], dropped=m.get("dropped", {})),
    }
    namespace, name = f"file://{socket.gethostname()}", str(ds.path)
    if role == "input":
        return InputDataset(namespace=namespace, name=name, facets=facets)
    return OutputDataset(
        namespace=namespace, name=name, facets=facets,
        outputFacets={"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=m["rows_out"])},
    )


def run_event(
    state: str,
    job: str,
    run_id: str,
    inputs: list[Dataset],
    outputs: list[Dataset],
    parent: tuple[str, str] | None = None,
    error: str | None = None,
) -> RunEvent:
    """One OpenLineage RunEvent (START / COMPLETE / FAIL) built with the client's own models.

    ``parent`` is (job name, run id) of the enclosing flow run; ``error`` must be PHI-free (type and stage).
    """
    run_facets: dict = {}
    if parent:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent[1]), job=parent_run.Job(namespace=NAMESPACE, name=parent[0])
        )
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(message=error, programmingLanguage="python")
    return RunEvent(
        eventType=RunState[state],
        eventTime=datetime.now(timezone.utc).isoformat(),
        producer=PRODUCER,
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=NAMESPACE, name=job),
        inputs=[_dataset(d, "input") for d in inputs],
        outputs=[_dataset(d, "output") for d in outputs],
    )


def new_run_id() -> str:
    return str(uuid.uuid4())


def emit(event: RunEvent, data_root: Path) -> None:
    """Append to ``<data_root>/_lineage/openlineage.jsonl``; also send over HTTP when ``OPENLINEAGE_URL`` is set
    (Marquez, DataHub -- the client reads its usual environment settings).

    A START is also registered as an open run (``_lineage/open/<run id>.json``: job, host, pid) until its
    COMPLETE / FAIL / ABORT; each START first closes, as ABORT, the open runs whose process is gone (``kill -9``,
    a lost node), so a lineage tool never shows a run as running forever.
    """
    root = Path(data_root)
    state = event.eventType.value if hasattr(event.eventType, "value") else str(event.eventType)
    if state == "START":
        close_orphaned_runs(root)
    _send(event, root)
    marker = root / OPEN_RUNS / f"{event.run.runId}.json"
    if state == "START":
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"job": event.job.name, "host": socket.gethostname(), "pid": os.getpid(),
                                      "inputs": [[d.namespace, d.name] for d in event.inputs or []]}))
    else:
        marker.unlink(missing_ok=True)


def _send(event: RunEvent, root: Path) -> None:
    path = root / EVENTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    FileTransport(FileConfig(log_file_path=str(path), append=True)).emit(event)
    if os.environ.get("OPENLINEAGE_URL"):
        OpenLineageClient().emit(event)


def pid_alive(host: str, pid: int) -> bool:
    """Whether process ``pid`` still runs; on another host it is assumed to (we cannot tell from here)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def close_orphaned_runs(data_root: Path) -> list[str]:
    """Emit ABORT for every open run of this host whose process has ended; returns their run ids."""
    closed = []
    for marker in sorted((Path(data_root) / OPEN_RUNS).glob("*.json")):
        try:
            info = json.loads(marker.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if pid_alive(info["host"], info["pid"]):
            continue
        event = RunEvent(
            eventType=RunState.ABORT,
            eventTime=datetime.now(timezone.utc).isoformat(),
            producer=PRODUCER,
            run=Run(runId=marker.stem, facets={"errorMessage": error_message_run.ErrorMessageRunFacet(
                message="the process running this step ended without finishing it (killed?); closed by a later run",
                programmingLanguage="python")}),
            job=Job(namespace=NAMESPACE, name=info["job"]),
            inputs=[InputDataset(namespace=ns, name=name) for ns, name in info.get("inputs", [])],
            outputs=[],
        )
        _send(event, Path(data_root))
        marker.unlink(missing_ok=True)
        closed.append(marker.stem)
    return closed


class StepRecorder:
    """The OpenLineage record of one computed step -- START, then COMPLETE or FAIL -- for the executor
    (``pipeline.core.dataset.run_stage``), so a step is recorded the same with or without Prefect. A reused
    dataset records nothing. ``parent`` is (job name, run id) of an enclosing flow run, if any; ``files``
    are input files that are not datasets and may be named (a fine-tuning task's data files)."""

    def __init__(self, job: str, data_root: Path, parent: tuple[str, str] | None = None, files: list[Path] = ()) -> None:
        self.job, self.data_root, self.parent = job, Path(data_root), parent
        self.files = [InputDataset(namespace=f"file://{socket.gethostname()}", name=str(f)) for f in files]
        self.run_id = new_run_id()
        self.inputs: list[Dataset] = []

    def _emit(self, state: str, outputs: list[Dataset], error: str | None = None) -> None:
        event = run_event(state, self.job, self.run_id, self.inputs, outputs, self.parent, error=error)
        event.inputs.extend(self.files)
        emit(event, self.data_root)

    def started(self, inputs: list[Dataset]) -> None:
        self.inputs = inputs
        self._emit("START", [])

    def completed(self, output: Dataset) -> None:
        self._emit("COMPLETE", [output])

    def failed(self, exc: BaseException) -> None:
        """FAIL with the exception's type only: a message may quote a note."""
        self._emit("FAIL", [], error=f"{type(exc).__name__} in {self.job}")
