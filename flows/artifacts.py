"""Link artifacts from a Prefect flow run to the manifests of the datasets and models it produced, and to
their pages in the lineage UI.

A manifest is the step's full record (inputs, parameters, code version, counts); the Prefect UI shows the
link next to the run, so a reviewer goes from a run to its record in one click (``file://`` links: the UI
must run where the data root is mounted).
"""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_link_artifact

from pipeline.core.dataset import MANIFEST
from pipeline.lineage_ui import URL_ENV, dataset_url


def link_manifest(step: str, path: str | Path, fingerprint: str) -> None:
    """One link artifact, keyed by step (``manifest-<step>``, Prefect keys allow a-z, 0-9 and dashes)."""
    key = "manifest-" + "".join(c if c.isalnum() else "-" for c in step.lower())
    create_link_artifact(
        key=key, link=(Path(path) / MANIFEST).resolve().as_uri(), link_text=f"{step} {fingerprint}",
        description=f"manifest of {step} {fingerprint}: inputs, parameters, code version, counts (no note text)",
    )  # fmt: skip
    link_lineage_ui(step, path, fingerprint)


def link_lineage_ui(step: str, path: str | Path, fingerprint: str) -> None:
    """A link artifact to the dataset's page in the lineage UI (``ehrlm lineage ui --data-root <root>``;
    ``EHRLM_LINEAGE_UI_URL`` says where it is served, default http://127.0.0.1:4300), keyed ``lineage-<step>``:
    its neighbours, staleness, what differs from its other fingerprints and what is built on it."""
    key = "lineage-" + "".join(c if c.isalnum() else "-" for c in step.lower())
    stage = Path(path).resolve().parent.name  # datasets live in <data_root>/<stage>/<fingerprint>/
    create_link_artifact(
        key=key, link=dataset_url(stage, fingerprint), link_text=f"{stage} {fingerprint} in the lineage UI",
        description=f"lineage UI page of {stage} {fingerprint} (served by `ehrlm lineage ui`; set {URL_ENV} if it "
        "is not on this machine's port 4300)",
    )  # fmt: skip
