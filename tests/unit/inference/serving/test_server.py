"""`closing`: a worker process's service is closed when uvicorn shuts its app down, not before, and requests still
reach the app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from inference.serving.server import closing


def test_closing_closes_once_the_app_has_shut_down() -> None:
    app, events = FastAPI(), []

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    app.router.on_shutdown.append(lambda: events.append("app shut down"))
    with TestClient(closing(app, lambda: events.append("closed"))) as client:
        assert client.get("/ping").json() == {"ok": "yes"}
        assert events == []
    assert events == ["app shut down", "closed"]
