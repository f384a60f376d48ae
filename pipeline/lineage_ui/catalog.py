"""A data root read as a catalogue: datasets, the edges between them, staleness, runs, impact and diffs.

Everything comes from two records that already exist and carry no note text: each dataset's
``_manifest.json`` (the record of truth, it travels with the data) and the OpenLineage event log
``_lineage/openlineage.jsonl`` (who ran what, when). No data part is ever opened, so nothing here can
leak a note: the web app serves only what this module returns.

Staleness follows Dagster's idea: a dataset is *superseded* when a newer dataset fills the same slot
(same stage, fed through the same chain of stages from the same raw file names, e.g. ``sentences`` re-run
from ``deid`` with new settings), and everything downstream of a superseded dataset is *stale* (it was
built from an older version). Raw inputs are matched by the names they are recorded under, so a new
day's landing folder is a new version of the last one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.dataset import MANIFEST

EVENTS_FILE = "_lineage/openlineage.jsonl"  # the same file pipeline.core.lineage.emit appends to
PREPROCESS_STAGES = ("ingest", "clean", "dedup", "deid", "sentences", "vocab", "shards")
IDENTITY_PARAMS: dict[str, tuple[str, ...]] = {"finetune_": ("init",)}
"""Parameters that make a different asset rather than a new version of one (stage-name prefix -> keys): a
model fine-tuned from random initialisation is the pretrained model's control, not its successor."""
_UNFINISHED = re.compile(r"^\.(?:tmp-(?P<tmp>[0-9a-f]+)-.+|run-(?P<run>[0-9a-f]+))$")
"""``.tmp-<fp>-<writer>-<random>`` (a stage being written) and ``.run-<fp>`` (a pretraining job's work folder)."""


def is_model(stage: str) -> bool:
    return stage == "pretrain" or stage.startswith("finetune_")


def _folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


@dataclass
class Entry:
    """One folder under ``<data_root>/<stage>/``: a finished dataset, or what a crash or a running job left."""

    stage: str
    fingerprint: str
    path: Path
    manifest: dict[str, Any] | None
    status: str  # complete | incomplete (manifest but parts missing) | unfinished (temporary folder, no manifest)
    problem: str | None = None
    size: int = 0
    superseded_by: str | None = None
    stale_because: list[str] = field(default_factory=list)
    created_by: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.stage}/{self.fingerprint}" if self.status != "unfinished" else f"{self.stage}/{self.path.name}"

    @property
    def m(self) -> dict[str, Any]:
        return self.manifest or {}

    def input_ids(self) -> dict[str, str]:
        return {name: f"{ref['stage']}/{ref['fingerprint']}" for name, ref in (self.m.get("inputs") or {}).items()}

    def own_slot(self) -> tuple:
        """This dataset's own part of its slot: stage, external input names and identity parameters."""
        params = self.m.get("params") or {}
        ident = tuple((k, json.dumps(params.get(k), sort_keys=True)) for prefix, keys in IDENTITY_PARAMS.items()
                      if self.stage.startswith(prefix) for k in keys)  # fmt: skip
        return self.stage, tuple(sorted(self.m.get("external_inputs") or {})), ident

    def row(self) -> dict[str, Any]:
        """The catalogue row: counts, ids, times and state -- the fields people filter and sort by."""
        m = self.m
        dropped = m.get("dropped") or {}
        return {
            "id": self.id, "stage": self.stage, "fingerprint": self.fingerprint, "kind": "model" if is_model(self.stage) else "dataset",
            "status": self.status, "problem": self.problem, "started_at": m.get("started_at"), "wall_seconds": m.get("wall_seconds"),
            "rows_in": m.get("rows_in"), "rows_out": m.get("rows_out"), "dropped": dropped,
            "dropped_total": sum(v for v in dropped.values() if isinstance(v, (int, float))), "size": self.size,
            "code_version": m.get("code_version"), "created_by": self.created_by, "superseded_by": self.superseded_by,
            "stale": bool(self.stale_because), "path": str(self.path),
        }  # fmt: skip


@dataclass
class StepRun:
    """One OpenLineage run (a stage, a pretraining or a fine-tuning job) folded from its START/COMPLETE/FAIL events."""

    run_id: str
    job: str
    parent_id: str | None = None
    parent_job: str | None = None
    started: str | None = None
    ended: str | None = None
    state: str = "RUNNING"
    error: str | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def prefect_ui_url() -> str | None:
    """The Prefect UI, when known: ``PREFECT_UI_URL``, else ``PREFECT_API_URL`` without its ``/api``."""
    ui = os.environ.get("PREFECT_UI_URL")
    if not ui and (api := os.environ.get("PREFECT_API_URL")):
        ui = re.sub(r"/api/?$", "", api)
    return ui.rstrip("/") if ui else None


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (lists stay values), so two manifests compare key by key."""
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


class Catalog:
    """Everything the UI shows about one data root, read once (``Catalog.load``) and then queried."""

    def __init__(self, data_root: Path, entries: list[Entry], runs: list[StepRun], bad_event_lines: int) -> None:
        self.data_root = data_root
        self.entries = {e.id: e for e in entries}
        self.steps = runs
        self.bad_event_lines = bad_event_lines
        self.children: dict[str, list[str]] = defaultdict(list)
        self.missing: set[str] = set()
        for e in entries:
            for src in e.input_ids().values():
                self.children[src].append(e.id)
                if src not in self.entries:
                    self.missing.add(src)
        self._mark_staleness()
        self._mark_creators()

    # --- reading -------------------------------------------------------------------------------------

    @classmethod
    def load(cls, data_root: Path, sizes: dict[tuple[str, int], int] | None = None) -> "Catalog":
        """Read every manifest under ``data_root`` and its event log. ``sizes`` memoises folder sizes across
        reloads (a finished dataset never changes, so its manifest's mtime is a sound key)."""
        root = Path(data_root).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"data root {root} does not exist; pass the folder holding <stage>/<fingerprint>/ datasets")
        sizes = {} if sizes is None else sizes
        entries: list[Entry] = []
        for stage_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            for folder in sorted(stage_dir.iterdir()):
                if not folder.is_dir() or folder.name.startswith("_"):
                    continue
                entry = cls._entry(stage_dir.name, folder, sizes)
                if entry is not None:
                    entries.append(entry)
        runs, bad = read_events(root / EVENTS_FILE, {str(e.path): e.id for e in entries})
        return cls(root, entries, runs, bad)

    @staticmethod
    def _entry(stage: str, folder: Path, sizes: dict[tuple[str, int], int]) -> Entry | None:
        if folder.name.startswith("."):
            if (m := _UNFINISHED.match(folder.name)) is None:
                return None  # .old-* copies are being swapped out by a forced rerun
            return Entry(stage, m.group("tmp") or m.group("run"), folder, None, "unfinished",
                         "temporary folder: a run in progress, or one that crashed (its work is not published)")  # fmt: skip
        mpath = folder / MANIFEST
        if not mpath.is_file():
            return None  # not a dataset folder (e.g. pretraining's sample index)
        try:
            manifest = json.loads(mpath.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return Entry(stage, folder.name, folder, None, "incomplete", f"{MANIFEST} unreadable ({type(exc).__name__})")
        if not isinstance(manifest, dict):
            return Entry(stage, folder.name, folder, None, "incomplete", f"{MANIFEST} is not a JSON object")
        key = (str(mpath), mpath.stat().st_mtime_ns)
        if key not in sizes:
            sizes[key] = _folder_size(folder)
        missing = [p for p in manifest.get("parts", []) if not (folder / p).exists()]
        status, problem = "complete", None
        if manifest.get("fingerprint") != folder.name:
            status, problem = "incomplete", f"manifest fingerprint {manifest.get('fingerprint')} != folder name"
        elif missing:
            status, problem = "incomplete", f"{len(missing)} listed part(s) missing: {', '.join(missing[:5])}"
        return Entry(stage, folder.name, folder, manifest, status, problem, sizes[key])

    # --- derived state -------------------------------------------------------------------------------

    def slot(self, node: str, _memo: dict[str, tuple] | None = None) -> tuple:
        """What a newer version of ``node`` shares with it: its own slot (stage, external input names, identity
        parameters) and, per input name, the slot of that input -- so ``clean`` of one corpus never supersedes
        ``clean`` of another, while ``vocab`` built on re-run ``sentences`` supersedes the ``vocab`` before it."""
        memo = {} if _memo is None else _memo
        if node not in memo:
            e = self.entries.get(node)
            if e is None:
                memo[node] = ("missing", node)
            else:
                memo[node] = ()  # a cycle (never written by ehrlm) ends here instead of recursing forever
                memo[node] = (e.own_slot(), tuple(sorted((n, self.slot(i, memo)) for n, i in e.input_ids().items())))
        return memo[node]

    def _mark_staleness(self) -> None:
        slots: dict[tuple, list[Entry]] = defaultdict(list)
        memo: dict[str, tuple] = {}
        for e in self.entries.values():
            if e.status == "complete":
                slots[self.slot(e.id, memo)].append(e)
        superseded = []
        for group in slots.values():
            group.sort(key=lambda e: e.m.get("started_at") or "")
            for old in group[:-1]:
                old.superseded_by = group[-1].id
                superseded.append(old.id)
        for origin in superseded:
            for d in self.downstream(origin):
                self.entries[d["id"]].stale_because.append(origin)

    def _mark_creators(self) -> None:
        ui = prefect_ui_url()
        for run in self.steps:
            if run.state != "COMPLETE":
                continue
            for out in run.outputs:
                if out in self.entries:
                    self.entries[out].created_by = {
                        "run_id": run.run_id, "job": run.job, "flow_run_id": run.parent_id, "flow": run.parent_job,
                        "at": run.ended, "prefect_url": f"{ui}/runs/flow-run/{run.parent_id}" if ui and run.parent_id else None,
                    }  # fmt: skip

    # --- queries -------------------------------------------------------------------------------------

    def get(self, stage: str, fingerprint: str) -> Entry:
        key = f"{stage}/{fingerprint}"
        if key not in self.entries:
            raise KeyError(f"no dataset {key} under {self.data_root}")
        return self.entries[key]

    def rows(self) -> list[dict[str, Any]]:
        return [e.row() for e in self.entries.values()]

    def edges(self) -> list[tuple[str, str, str]]:
        """(source id, target id, input name) for every recorded input of every dataset."""
        return [(src, e.id, name) for e in self.entries.values() for name, src in e.input_ids().items()]

    def downstream(self, node: str) -> list[dict[str, Any]]:
        """Everything built from ``node``, directly or not, breadth first, with its distance in steps."""
        return _reachable(node, lambda n: self.children.get(n, []))

    def upstream(self, node: str) -> list[dict[str, Any]]:
        """Everything ``node`` was built from (ids of missing datasets included), as ``downstream``."""
        return _reachable(node, lambda n: e.input_ids().values() if (e := self.entries.get(n)) else ())

    def impact(self, stage: str, fingerprint: str) -> list[dict[str, Any]]:
        """Every dataset and model downstream of one dataset (what withdrawing it affects), models first."""
        self.get(stage, fingerprint)
        rows = []
        for d in self.downstream(f"{stage}/{fingerprint}"):
            e = self.entries[d["id"]]
            r = e.row()
            rows.append({k: r[k] for k in ("id", "stage", "fingerprint", "kind", "status", "started_at", "stale", "path")}
                        | {"distance": d["distance"]})  # fmt: skip
        return sorted(rows, key=lambda r: (r["kind"] != "model", r["distance"], r["id"]))

    def impact_csv(self, stage: str, fingerprint: str) -> str:
        buf = io.StringIO()
        cols = ["id", "stage", "fingerprint", "kind", "distance", "status", "stale", "started_at", "path"]
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(self.impact(stage, fingerprint))
        return buf.getvalue()

    def graph(self, focus: str | None = None, depth: int = 2, superseded: bool = True) -> dict[str, Any]:
        """Nodes and edges of the whole root, or of ``focus`` and what lies within ``depth`` steps of it
        (upstream and downstream). Raw inputs (external files, by name and hash) are nodes too. Without
        ``superseded`` the whole root shows current versions only (``hidden`` says how many were left out):
        a root that re-ran many times is otherwise mostly history."""
        if focus is not None and focus not in self.entries:
            raise KeyError(f"no dataset {focus} under {self.data_root}")
        hidden = 0
        if focus is None:
            ids = set(self.entries)
            if not superseded:
                ids = {i for i in ids if self.entries[i].superseded_by is None}
                hidden = len(self.entries) - len(ids)
        else:
            ids = {focus} | {d["id"] for d in self.upstream(focus) if d["distance"] <= depth}
            ids |= {d["id"] for d in self.downstream(focus) if d["distance"] <= depth}
        nodes = []
        for i in sorted(ids):
            e = self.entries.get(i)
            if e is None:
                stage, fp = i.split("/", 1)
                nodes.append({"id": i, "stage": stage, "fingerprint": fp, "kind": "missing", "status": "missing",
                              "label": f"{stage}\n{fp[:8]} (not here)"})  # fmt: skip
                continue
            r = e.row()
            nodes.append({"id": i, "stage": e.stage, "fingerprint": e.fingerprint, "kind": r["kind"], "status": e.status,
                          "stale": r["stale"], "superseded": e.superseded_by is not None,
                          "label": f"{e.stage}\n{e.fingerprint[:8]}  {_rows_label(r)}"})  # fmt: skip
        edges = [{"source": s, "target": t, "name": n} for s, t, n in self.edges() if s in ids and t in ids]
        for e in (self.entries[i] for i in ids if i in self.entries):
            if e.stage in PREPROCESS_STAGES or focus is not None:
                for name, digest in (e.m.get("external_inputs") or {}).items():
                    raw = f"raw:{name}:{digest}"
                    if raw not in {n["id"] for n in nodes}:
                        nodes.append({"id": raw, "stage": name, "fingerprint": str(digest), "kind": "raw", "status": "raw",
                                      "label": f"{name}\n{str(digest)[:8]}"})  # fmt: skip
                    edges.append({"source": raw, "target": e.id, "name": name})
        return {"nodes": nodes, "edges": edges, "focus": focus, "hidden_superseded": hidden}

    def compare(self, stage: str, a: str, b: str) -> dict[str, Any]:
        """What differs between two fingerprints of one stage: the determinants of a fingerprint (parameters,
        code version, inputs, external inputs) -- the answer to "why did this re-run" -- then counts."""
        ea, eb = self.get(stage, a), self.get(stage, b)
        sections: dict[str, list[dict[str, Any]]] = {}
        for section, get in (
            ("params", lambda m: _flatten(m.get("params") or {})),
            ("code_version", lambda m: {"code_version": m.get("code_version")}),
            ("inputs", lambda m: {k: f"{v.get('stage')}/{v.get('fingerprint')}" for k, v in (m.get("inputs") or {}).items()}),
            ("external_inputs", lambda m: dict(m.get("external_inputs") or {})),
            ("rows", lambda m: {"rows_in": m.get("rows_in"), "rows_out": m.get("rows_out"),
                                **{f"dropped.{k}": v for k, v in (m.get("dropped") or {}).items()}}),
            ("counts", lambda m: _flatten(m.get("counts") or {})),
            ("timings", lambda m: {"started_at": m.get("started_at"), "wall_seconds": m.get("wall_seconds"),
                                   "cpu_seconds": m.get("cpu_seconds"), "host": m.get("host")}),
        ):  # fmt: skip
            fa, fb = get(ea.m), get(eb.m)
            sections[section] = [
                {"key": k, "a": fa.get(k), "b": fb.get(k), "same": fa.get(k) == fb.get(k)} for k in sorted(set(fa) | set(fb))
            ]
        why = [s for s in ("params", "code_version", "inputs", "external_inputs") if any(not r["same"] for r in sections[s])]
        return {"stage": stage, "a": ea.row(), "b": eb.row(), "sections": sections, "fingerprint_differs_by": why}

    def versions(self, stage: str) -> list[dict[str, Any]]:
        """Every fingerprint of a stage, newest first (what the compare view offers)."""
        es = [e for e in self.entries.values() if e.stage == stage and e.status != "unfinished"]
        return [e.row() for e in sorted(es, key=lambda e: e.m.get("started_at") or "", reverse=True)]

    def flow_runs(self) -> list[dict[str, Any]]:
        """Step runs grouped by the flow run that started them (the event's parent facet), newest first.

        Reused datasets are the inputs of a flow run's steps that the same flow run did not create; a step
        that was reused entirely emits no event, so a run that computed nothing does not appear."""
        ui = prefect_ui_url()
        groups: dict[str, list[StepRun]] = defaultdict(list)
        for s in self.steps:
            groups[s.parent_id or s.run_id].append(s)
        out = []
        for gid, steps in groups.items():
            steps.sort(key=lambda s: s.started or s.ended or "")
            created = [o for s in steps if s.state == "COMPLETE" for o in s.outputs]
            reused = sorted({i for s in steps for i in s.inputs if i not in created and "/" in i})
            states = {s.state for s in steps}
            out.append({
                "id": gid, "flow": steps[0].parent_job or steps[0].job,
                "started": min((s.started or s.ended or "") for s in steps) or None,
                "ended": max((s.ended or "") for s in steps) or None,
                "state": next((st for st in ("FAIL", "ABORT", "RUNNING") if st in states), "COMPLETE"),
                "steps": [vars(s) for s in steps], "created": created, "reused": reused,
                "prefect_url": f"{ui}/runs/flow-run/{gid}" if ui and steps[0].parent_id else None,
            })  # fmt: skip
        return sorted(out, key=lambda r: r["started"] or "", reverse=True)

    def summary(self) -> dict[str, Any]:
        by_stage: dict[str, int] = defaultdict(int)
        for e in self.entries.values():
            by_stage[e.stage] += 1
        rows = [e.row() for e in self.entries.values()]
        return {
            "data_root": str(self.data_root), "datasets": len(rows), "by_stage": dict(sorted(by_stage.items())),
            "stale": sum(r["stale"] for r in rows), "superseded": sum(r["superseded_by"] is not None for r in rows),
            "incomplete": sum(r["status"] != "complete" for r in rows), "step_runs": len(self.steps),
            "bad_event_lines": self.bad_event_lines, "prefect_ui_url": prefect_ui_url(), "missing_upstream": sorted(self.missing),
        }  # fmt: skip


def _reachable(node: str, neighbours: Callable[[str], Iterable[str]]) -> list[dict[str, Any]]:
    """Every node reachable from ``node`` through ``neighbours``, breadth first, each once with its distance
    in steps: one walk for both directions of the lineage graph."""
    seen, out, frontier, depth = {node}, [], [node], 0
    while frontier:
        depth += 1
        nxt = []
        for n in frontier:
            for m in neighbours(n):
                if m not in seen:
                    seen.add(m)
                    nxt.append(m)
                    out.append({"id": m, "distance": depth})
        frontier = nxt
    return out


def _rows_label(r: dict[str, Any]) -> str:
    if r["rows_out"] is None:
        return ""
    return f"{r['rows_in']}→{r['rows_out']}"


def _dataset_id(ds: dict[str, Any], by_path: dict[str, str]) -> str:
    facet = (ds.get("facets") or {}).get("ehrlm") or {}
    if facet.get("stage") and facet.get("fingerprint"):
        return f"{facet['stage']}/{facet['fingerprint']}"
    name = str(ds.get("name", ""))
    if name in by_path:
        return by_path[name]
    parts = Path(name).parts
    if len(parts) >= 2 and (root := by_path.get(str(Path(*parts[:-1])))):
        return root
    return f"file:{Path(name).name}"  # a data file read by a fine-tuning run: its name only


def read_events(path: Path, by_path: dict[str, str]) -> tuple[list[StepRun], int]:
    """Fold the event log into step runs; returns them and how many lines were not valid events."""
    runs: dict[str, StepRun] = {}
    bad = 0
    if not path.is_file():
        return [], 0
    with path.open() as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
                run_id, job, kind, at = ev["run"]["runId"], ev["job"]["name"], ev["eventType"], ev["eventTime"]
            except (json.JSONDecodeError, KeyError, TypeError):
                bad += 1
                continue
            run = runs.get(run_id)
            if run is None:
                parent = (ev["run"].get("facets") or {}).get("parent") or {}
                run = runs[run_id] = StepRun(run_id, job, (parent.get("run") or {}).get("runId"), (parent.get("job") or {}).get("name"))
            if kind == "START":
                run.started = at
            elif kind in ("COMPLETE", "FAIL", "ABORT"):
                run.ended, run.state = at, kind
                if kind != "COMPLETE":
                    run.error = ((ev["run"].get("facets") or {}).get("errorMessage") or {}).get("message")
            for ds in ev.get("inputs") or []:
                if (i := _dataset_id(ds, by_path)) not in run.inputs:
                    run.inputs.append(i)
            for ds in ev.get("outputs") or []:
                if (o := _dataset_id(ds, by_path)) not in run.outputs:
                    run.outputs.append(o)
    return list(runs.values()), bad
