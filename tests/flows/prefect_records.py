"""What the session's Prefect server holds, for the tests that read logs and artifacts back (progress
streaming, and the proof that no note text reached the server)."""

from __future__ import annotations


def drain_logs() -> None:
    """Send the logs still queued in this process to the server. Prefect ships them from a background
    worker in batches: read right after a flow run, the last ones may not be there yet (a test once saw none
    of a pretraining run's progress lines)."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)


def _paged(read, **filters) -> list:  # noqa: ANN001 - a client read method taking limit/offset
    out: list = []
    while page := read(limit=200, offset=len(out), **filters):
        out += page
    return out


def flow_run_logs(flow_run_id) -> list:  # noqa: ANN001 - a UUID
    """Every log of one flow run, after draining this process's queue."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    drain_logs()
    with get_client(sync_client=True) as client:
        return _paged(client.read_logs, log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))


def everything_prefect_holds() -> tuple[list, list]:
    """Every log and artifact on the session's server, paged (one call returns a limited page)."""
    from prefect.client.orchestration import get_client

    drain_logs()
    with get_client(sync_client=True) as client:
        return _paged(client.read_logs), _paged(client.read_artifacts)
