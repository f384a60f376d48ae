"""What the session's Prefect server holds, for the tests that prove no note text reached it."""

from __future__ import annotations


def everything_prefect_holds() -> tuple[list, list]:
    """Every log and artifact on the session's server, paged (one call returns a limited page)."""
    from prefect.client.orchestration import get_client

    def paged(read) -> list:  # noqa: ANN001 - a client read method taking limit/offset
        out: list = []
        while page := read(limit=200, offset=len(out)):
            out += page
        return out

    with get_client(sync_client=True) as client:
        return paged(client.read_logs), paged(client.read_artifacts)
