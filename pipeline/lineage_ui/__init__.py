"""The data-lineage web UI: every dataset and run of a data root, from manifests and the OpenLineage event log.

``catalog`` reads a data root into datasets, edges and runs (no web code, no Prefect); ``app`` serves it
read-only over HTTP with the vendored front end in ``static/``; ``shots`` takes a picture of each view.
Nothing here reads a data part: manifests, counts, ids and hashes only, never note text.
"""

from __future__ import annotations

import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4300
URL_ENV = "EHRLM_LINEAGE_UI_URL"
"""Where people open the UI (e.g. behind a proxy); the Prefect flows link each dataset they produce there."""


def base_url() -> str:
    return os.environ.get(URL_ENV, f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")


def dataset_url(stage: str, fingerprint: str, base: str | None = None) -> str:
    """The UI page of one dataset (its node panel)."""
    return f"{(base or base_url()).rstrip('/')}/#/dataset/{stage}/{fingerprint}"
