"""Running the API under uvicorn (uvloop + httptools): one process in the foreground, several worker processes
sharing the port (each with its own model and event loop: one event loop is one core of HTTP handling), or in a
background thread (tests, bench)."""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
import uvicorn
from redis.cluster import RedisCluster

from inference.serving.config import ServingConfig

if TYPE_CHECKING:
    from inference.serving.api import ASGIApp


def _config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", access_log=False,
                          log_level="warning", backlog=4096, timeout_keep_alive=30)  # fmt: skip


def freeze_heap() -> None:
    """Move everything allocated so far (torch, the model, feast, ...: millions of objects) out of the garbage
    collector's reach: a full collection otherwise walks all of them, stalling every request in flight for ~180 ms
    here, a few times a minute under load. Call once the service is built."""
    gc.collect()
    gc.freeze()


def serve(app: ASGIApp, host: str, port: int) -> None:
    freeze_heap()
    uvicorn.Server(_config(app, host, port)).run()


SPEC_ENV = "FRESHREC_SERVE_SPEC"
"""The file each worker process builds its service from (JSON, readable by this user only), set by `serve_workers`
for the workers it starts."""


def serve_workers(config: ServingConfig, redis_kwargs: dict[str, Any], models_dir: Path, host: str, port: int,
                  workers: int, redis_cluster: bool = False) -> None:  # fmt: skip
    """`workers` API processes on one port; each connects to Redis with `redis_kwargs` (redis-py's, JSON-able), as
    a node of a Redis Cluster when `redis_cluster`."""
    private = Path(tempfile.mkdtemp(prefix="freshrec-serve-"))  # 0700: the secrets' file is for this user only
    spec = private / "spec.json"
    spec.touch(mode=0o600)
    secret = config.api_key.get_secret_value() if config.api_key else None
    spec.write_text(json.dumps({"serving": {**config.model_dump(mode="json"), "api_key": secret}, "redis": redis_kwargs,
                                "redis_cluster": redis_cluster, "models_dir": str(models_dir)}))  # fmt: skip
    os.environ[SPEC_ENV] = str(spec)  # a path: the environment (ps e, /proc/*/environ) never holds a secret
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="freshrec-metrics-")
    try:
        uvicorn.run("inference.serving.server:app_from_spec", factory=True, workers=workers, host=host, port=port,
                    loop="uvloop", http="httptools", access_log=False, log_level="warning", backlog=4096,
                    timeout_keep_alive=30)  # fmt: skip
    finally:
        shutil.rmtree(private, ignore_errors=True)


def app_from_spec() -> ASGIApp:
    """The app factory each worker process runs (`serve_workers`)."""
    from inference.serving.api import create_app
    from inference.serving.loading import open_service

    spec = json.loads(Path(os.environ[SPEC_ENV]).read_text())
    config = ServingConfig.model_validate(spec["serving"])
    client = (RedisCluster if spec["redis_cluster"] else redis.Redis)(**spec["redis"])
    service = open_service(config, client, Path(spec["models_dir"]), os.environ["PROMETHEUS_MULTIPROC_DIR"])
    app = closing(create_app(service, config, client), service.close)
    freeze_heap()
    return app


def closing(app: ASGIApp, close: Callable[[], None]) -> ASGIApp:
    """`app`, calling `close` once the server has shut down (the lifespan's shutdown is complete): how a worker
    process, which uvicorn starts and stops, closes the service it built (its reader, batchers and threads)."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def sending(message: dict) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                close()
            await send(message)

        await app(scope, receive, sending)

    return wrapped


@contextmanager
def serving_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
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
