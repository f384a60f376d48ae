"""Link artifacts from a Prefect flow run to the manifests of the datasets and models it produced.

A manifest is the step's full record (inputs, parameters, code version, counts); the Prefect UI shows the
link next to the run, so a reviewer goes from a run to its record in one click (``file://`` links: the UI
must run where the data root is mounted).
"""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_link_artifact

from pipeline.dataset import MANIFEST


def link_manifest(step: str, path: str | Path, fingerprint: str) -> None:
    """One link artifact, keyed by step (``manifest-<step>``, Prefect keys allow a-z, 0-9 and dashes)."""
    key = "manifest-" + "".join(c if c.isalnum() else "-" for c in step.lower())
    create_link_artifact(
        key=key, link=(Path(path) / MANIFEST).resolve().as_uri(), link_text=f"{step} {fingerprint}",
        description=f"manifest of {step} {fingerprint}: inputs, parameters, code version, counts (no note text)",
    )  # fmt: skip
