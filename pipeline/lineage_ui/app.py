"""The lineage UI's HTTP side: a read-only FastAPI app over one data root.

Only GET routes exist, and every one returns what :mod:`pipeline.lineage_ui.catalog` and
:mod:`pipeline.lineage_ui.panel` build from manifests and the event log (counts, ids, hashes, parameters),
or a vendored static file. No route takes a file path from the request, so no data part (where the notes
are) can be reached. The catalogue is re-read when the data root changes (a new dataset folder, a new
event), so a page reload shows a run that just finished without restarting the server.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from pipeline.core.ports import free_port
from pipeline.lineage_ui import panel
from pipeline.lineage_ui.catalog import EVENTS_FILE, Catalog

STATIC = Path(__file__).resolve().parent / "static"


class Source:
    """The catalogue of one data root, reloaded only when a stage folder or the event log changed."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = Path(data_root).resolve()
        self._sizes: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._sig: tuple | None = None
        self._cat: Catalog | None = None

    def _signature(self) -> tuple:
        sig = []
        for p in sorted(self.data_root.iterdir()):
            if p.is_dir() and not p.name.startswith((".", "_")):
                sig.append((p.name, p.stat().st_mtime_ns))
        events = self.data_root / EVENTS_FILE
        if events.is_file():
            st = events.stat()
            sig.append((EVENTS_FILE, st.st_size, st.st_mtime_ns))
        return tuple(sig)

    def catalog(self) -> Catalog:
        with self._lock:
            sig = self._signature()
            if self._cat is None or sig != self._sig:
                self._cat, self._sig = Catalog.load(self.data_root, self._sizes), sig
            return self._cat


def create_app(data_root: Path) -> FastAPI:
    """The app for one data root (checked to exist now, so a typo fails at start, not on the first page)."""
    source = Source(data_root)
    source.catalog()
    threading.Thread(target=panel.warm_current_code, name="ehrlm-code-versions", daemon=True).start()
    app = FastAPI(title="ehrlm lineage", docs_url=None, redoc_url=None, openapi_url=None)

    def entry(stage: str, fp: str):
        try:
            return source.catalog().get(stage, fp)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None

    @app.get("/api/summary")
    def summary() -> dict[str, Any]:
        return source.catalog().summary()

    @app.get("/api/datasets")
    def datasets() -> list[dict[str, Any]]:
        return source.catalog().rows()

    @app.get("/api/graph")
    def graph(focus: str | None = None, depth: int = 2, superseded: bool = True) -> dict[str, Any]:
        try:
            return source.catalog().graph(focus, max(1, min(depth, 50)), superseded)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None

    @app.get("/api/dataset/{stage}/{fp}")
    def dataset(stage: str, fp: str) -> dict[str, Any]:
        return panel.detail(source.catalog(), entry(stage, fp))

    @app.get("/api/dataset/{stage}/{fp}/config.yaml")
    def config(stage: str, fp: str) -> Response:
        text = panel.config_yaml(source.catalog(), entry(stage, fp))
        if text is None:
            raise HTTPException(404, f"{stage}/{fp} has no generated settings file (pretraining keeps its own config.yaml)")
        return PlainTextResponse(text, media_type="application/yaml",
                                 headers={"Content-Disposition": f'attachment; filename="ehrlm-{stage}-{fp}.yaml"'})  # fmt: skip

    @app.get("/api/versions/{stage}")
    def versions(stage: str) -> list[dict[str, Any]]:
        return source.catalog().versions(stage)

    @app.get("/api/compare/{stage}/{a}/{b}")
    def compare(stage: str, a: str, b: str) -> dict[str, Any]:
        try:
            return source.catalog().compare(stage, a, b)
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        return source.catalog().flow_runs()

    @app.get("/api/impact/{stage}/{fp}")
    def impact(stage: str, fp: str, format: str = "json") -> Response:
        entry(stage, fp)
        cat = source.catalog()
        name = f"impact-{stage}-{fp}"
        if format == "csv":
            return PlainTextResponse(cat.impact_csv(stage, fp), media_type="text/csv",
                                     headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
        if format != "json":
            raise HTTPException(400, "format must be json or csv")
        return JSONResponse(cat.impact(stage, fp))

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(data_root: Path, host: str, port: int) -> None:
    """Run the app in this process until interrupted."""
    import uvicorn

    uvicorn.run(create_app(data_root), host=host, port=port, log_level="warning")


class Background:
    """The app on a free (or given) port in a thread of this process: for screenshots and tests."""

    def __init__(self, data_root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        port = port or free_port(host)
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(data_root), host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Background":
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the lineage UI did not start on {self.url}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
