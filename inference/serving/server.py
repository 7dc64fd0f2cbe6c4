"""Running the API under uvicorn (uvloop + httptools), in the foreground or in a background thread (tests, bench)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def _config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", access_log=False,
                          log_level="warning", backlog=4096, timeout_keep_alive=30)  # fmt: skip


def freeze_heap() -> None:
    """Move everything allocated so far (torch, the model, feast, ...: millions of objects) out of the garbage
    collector's reach: a full collection otherwise walks all of them, stalling every request in flight for ~180 ms
    here, a few times a minute under load. Call once the service is built."""
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, host: str, port: int) -> None:
    freeze_heap()
    uvicorn.Server(_config(app, host, port)).run()


@contextmanager
def serving_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yields the base URL once the server accepts connections; stops it on exit. `port=0` picks a free port."""
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
