"""The pretraining flow: shards + vocabulary -> a DeepSpeed job -> checkpoints and a Hugging Face export.

Wiring only: :func:`tasks.pretrain.pretrain_task` records the run as a lineage step, :mod:`model.launch`
builds and runs the job. An identical rerun (same inputs, settings and training code) is skipped.
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
    from tasks.pretrain import pretrain_task

    settings = PretrainConfig.load(config if config is not None else DEMO_CONFIG)
    result = pretrain_task(
        str(Path(shards_path).resolve()), str(Path(vocab_path).resolve()), settings.model_dump(mode="json"),
        str(Path(out_root).resolve()), force,
    )  # fmt: skip
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
