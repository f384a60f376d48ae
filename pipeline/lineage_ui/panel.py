"""The node panel's content: one dataset's manifest made readable, its neighbours, its charts, and the exact
command that recomputes it.

Charts come from numbers only: a fine-tuning manifest's per-epoch history, and the numeric fields of a
pretraining run's ``metrics.jsonl`` (step, loss, accuracy -- the training job writes numbers, never text).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from pipeline.lineage_ui.catalog import PREPROCESS_STAGES, Catalog, Entry

_CODE_NOW: dict[str, dict[str, Any]] = {}


def current_code() -> dict[str, dict[str, Any]]:
    """Code version of each preprocessing stage in the code checked out now, with the versions installed now
    of the distributions its code imports or declares (hashed into the code version). Filled by
    :func:`warm_current_code` in the background: importing ``deid`` takes seconds, no page waits for it."""
    return _CODE_NOW


def warm_current_code() -> None:
    from pipeline.core import dag

    for stage in dag.STAGES:
        try:
            _CODE_NOW[stage.name] = {"code_version": dag.stage_code_version(stage),
                                     "dependencies": dag.stage_dependencies(stage)}
        except Exception as exc:  # a stage that cannot be imported here: say so, keep the others
            _CODE_NOW[stage.name] = {"code_version": None, "error": type(exc).__name__}


PRETRAIN_METRICS = "metrics.jsonl"
PRETRAIN_CONFIG = "config.yaml"
MAX_POINTS = 400


def detail(cat: Catalog, entry: Entry) -> dict[str, Any]:
    """Everything the panel shows about one dataset (manifest, derived state, neighbours, charts, command)."""
    m = entry.m
    inputs = []
    for name, ref in (m.get("inputs") or {}).items():
        key = f"{ref.get('stage')}/{ref.get('fingerprint')}"
        up = cat.entries.get(key)
        inputs.append({"name": name, "id": key, "present": up is not None, "stale": bool(up and up.stale_because),
                       "superseded_by": up.superseded_by if up else None})  # fmt: skip
    consumers = [{"id": c, "stale": bool(cat.entries[c].stale_because)} for c in cat.children.get(entry.id, []) if c in cat.entries]
    return {
        "row": entry.row(),
        "manifest": m,
        "inputs": inputs,
        "consumers": consumers,
        "stale_because": entry.stale_because,
        "versions": [r["id"] for r in cat.versions(entry.stage)],
        "charts": charts(entry),
        "code_now": current_code().get(entry.stage),
        "command": recompute_command(cat, entry),
        "config_yaml": config_yaml(cat, entry) is not None,
    }


def _numeric(record: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in record.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _thin(points: list[dict[str, float]]) -> list[dict[str, float]]:
    step = max(1, len(points) // MAX_POINTS)
    return points[::step]


def charts(entry: Entry) -> list[dict[str, Any]]:
    """Small line charts: ``{"title", "x", "series": {name: [[x, y], ...]}}``."""
    m, out = entry.m, []
    history = (m.get("counts") or {}).get("history")
    if isinstance(history, list) and history:
        series: dict[str, list[list[float]]] = {"train loss": []}
        for h in history:
            if isinstance(h.get("train_loss"), (int, float)):
                series["train loss"].append([h["epoch"], h["train_loss"]])
        out.append({"title": "training loss by epoch", "x": "epoch", "series": series})
        primary = (m.get("counts") or {}).get("primary_metric")
        dev = {f"dev {primary}": [[h["epoch"], (h.get("dev") or {}).get(primary)] for h in history
                                  if isinstance((h.get("dev") or {}).get(primary), (int, float))]}  # fmt: skip
        if primary and any(dev.values()):
            out.append({"title": f"dev {primary} by epoch", "x": "epoch", "series": dev})
    path = entry.path / PRETRAIN_METRICS
    if entry.stage == "pretrain" and path.is_file():
        train, valid = [], []
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(rec, dict):
                continue
            nums = _numeric(rec)
            if "step" in nums and "loss" in nums:
                (valid if rec.get("event") == "valid" else train if rec.get("event") == "train" else []).append(nums)
        series = {"train loss": [[p["step"], p["loss"]] for p in _thin(train)], "validation loss": [[p["step"], p["loss"]] for p in valid]}
        out.append({"title": "pretraining loss by step", "x": "step", "series": series})
        if any("mlm_acc" in p for p in valid):
            out.append({"title": "validation accuracy by step", "x": "step",
                        "series": {k: [[p["step"], p[k]] for p in valid if k in p] for k in ("mlm_acc", "sop_acc")}})  # fmt: skip
    return out


def _chain_params(cat: Catalog, entry: Entry) -> dict[str, dict[str, Any]]:
    """Preprocessing parameters of every stage on the way to ``entry`` (nearest wins), by stage name."""
    found: dict[str, dict[str, Any]] = {}
    for e in [entry] + [cat.entries[u["id"]] for u in cat.upstream(entry.id) if u["id"] in cat.entries]:
        if e.stage in PREPROCESS_STAGES and e.stage not in found:
            found[e.stage] = e.m.get("params") or {}
    return found


def config_yaml(cat: Catalog, entry: Entry) -> str | None:
    """A settings file that reproduces ``entry``'s fingerprint (``--config`` of the recompute command):
    the preprocessing parameters of its chain, or a fine-tuning run's parameters. None for pretraining
    (its run folder keeps its own ``config.yaml``) and for unfinished folders."""
    if entry.manifest is None:
        return None
    if entry.stage in PREPROCESS_STAGES:
        params = _chain_params(cat, entry)
        head = ("# Preprocessing settings recorded in the manifests of "
                f"{entry.id} and its upstream stages (stages not on its path keep their defaults).\n")  # fmt: skip
        if (params.get("deid") or {}).get("mode", "rules") != "rules":
            head += "# deid ran with a tagger: add `tagger: <its folder>` under deid (recorded by content hash only).\n"
        return head + yaml.safe_dump({"preprocess": params}, sort_keys=False)
    if entry.stage.startswith("finetune_"):
        return f"# Fine-tuning settings of {entry.id}\n" + yaml.safe_dump(entry.m.get("params") or {}, sort_keys=False)
    return None


def recompute_command(cat: Catalog, entry: Entry) -> str | None:
    """The ``ehrlm`` command line that recomputes this dataset into the same folder (same code version).

    Raw inputs are recorded by name and hash only, so their location is a placeholder for the person to fill.
    """
    m, q = entry.m, shlex.quote
    if entry.manifest is None:
        return None
    root = q(str(cat.data_root))
    cfg = f"ehrlm-{entry.stage}-{entry.fingerprint}.yaml"
    if entry.stage in PREPROCESS_STAGES:
        raw = next(((name, digest) for e in [entry, *(cat.entries.get(u["id"]) for u in cat.upstream(entry.id))]
                    if e is not None and e.stage == "ingest" for name, digest in (e.m.get("external_inputs") or {}).items()),
                   ("raw", ""))  # fmt: skip
        where = f"<{raw[0][4:]}>" if raw[0].startswith("raw:") else f"<the raw notes, sha256 {str(raw[1])[:12]}>"
        return f"ehrlm preprocess --input {q(where)} --config {cfg} --data-root {root} --force {entry.stage}"
    ins = {name: cat.entries.get(f"{ref.get('stage')}/{ref.get('fingerprint')}") for name, ref in (m.get("inputs") or {}).items()}
    ref_path = {name: q(str(e.path) if e else str((m.get("inputs") or {})[name].get("path"))) for name, e in ins.items()}
    if entry.stage == "pretrain":
        return (f"ehrlm pretrain --shards {ref_path.get('shards', '<shards>')} --vocab {ref_path.get('vocab', '<vocab>')} "
                f"--config {q(str(entry.path / PRETRAIN_CONFIG))} --out-root {root} --force")  # fmt: skip
    if entry.stage.startswith("finetune_"):
        task = entry.stage.removeprefix("finetune_")
        ckpt = ref_path.get("checkpoint")
        if ckpt and ins.get("checkpoint") is not None and ins["checkpoint"].stage == "pretrain":
            ckpt = q(str(Path(ins["checkpoint"].path) / "hf"))
        return (f"ehrlm finetune {task} --checkpoint {ckpt or q('<checkpoint folder>')} --data {q('<folder of train/dev/test>')} "
                f"--data-root {root} --config {cfg} --force")  # fmt: skip
    return None
