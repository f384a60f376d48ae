"""The pretraining flow: shards + vocabulary -> a DeepSpeed job -> checkpoints and a Hugging Face export.

Wiring only: the pretraining step (:class:`model.launch.PretrainStep`) run by the one generic task
(``tasks.step``), which the executor records as a lineage step; an identical rerun (same inputs, settings and
training code) is reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.artifacts import link_manifest
from model.config import PretrainConfig

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "pretrain-tiny.yaml"


@flow(name="ehrlm-pretrain", log_prints=False)
def run_pretrain(
    shards_path: str,
    vocab_path: str,
    config: dict[str, Any] | str | None = None,
    out_root: str = "runs",
    force: bool = False,
) -> dict[str, Any]:
    """Pretrain on a shards dataset with its vocabulary; ``config`` is a YAML path or a settings mapping
    (None = ``configs/pretrain-tiny.yaml``). The run lands in ``<out_root>/pretrain/<fingerprint>/``."""
    from model.launch import PretrainStep, input_dataset
    from tasks.step import task_for

    step = PretrainStep(PretrainConfig.load(config if config is not None else DEMO_CONFIG))
    inputs = {"shards": input_dataset(Path(shards_path), "shards"), "vocab": input_dataset(Path(vocab_path), "vocab")}
    upstream = {k: d.as_ref() for k, d in inputs.items()}
    result = pretrain_result(task_for(step)(step, upstream, str(Path(out_root).resolve()), force))
    final = result["final_val"] or {}
    row = {
        "fingerprint": result["fingerprint"],
        "status": result["status"],
        "steps": result["steps"],
        "parameters": result["parameters"],
        "best_val_loss": None if result["best_val_loss"] is None else round(result["best_val_loss"], 4),
        "val_mlm_acc": round(final.get("mlm_acc", float("nan")), 4),
        "seconds": result["wall_seconds"],
    }
    create_table_artifact(key="pretrain-run", table=[row], description="ehrlm pretraining run (numbers only)")
    link_manifest("pretrain", result["path"], result["fingerprint"])
    return result


def pretrain_result(result: dict[str, Any]) -> dict[str, Any]:
    """The generic step result plus what pretraining readers want at top level (the HF export, steps, loss)."""
    from model.train import HF_DIR

    counts = result["counts"]
    return {**result, "hf_path": str(Path(result["path"]) / HF_DIR), "steps": counts["steps"],
            "best_val_loss": counts["best_val_loss"], "final_val": counts["final_val"],
            "parameters": counts["parameters"]}  # fmt: skip
