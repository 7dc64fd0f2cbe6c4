"""The ranking API served in-process on a model directory and a Redis, and a plain HTTP client for it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    """The decoded JSON body (an error's detail too)."""


@dataclass(frozen=True)
class RankingClient:
    """What a ranking service sends the API: `POST /recommend`, and the health routes."""

    url: str

    def recommend(self, user_id: int, k: int = 10, exclude: Sequence[int] = ()) -> Reply:
        return self._call("POST", "/recommend", {"user_id": user_id, "k": k, "exclude": list(exclude)})

    def ready(self) -> bool:
        return self._call("GET", "/readyz").status == 200

    def _call(self, method: str, path: str, body: object = None) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json"}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read() or b"null"))


@contextmanager
def serve_ranking_api(client: redis.Redis, model_dir: Path, **settings: Any) -> Iterator[RankingClient]:
    """The API (uvicorn in a thread, a free loopback port) serving `model_dir` from `client`'s Redis; `settings` are
    `ServingConfig` fields."""
    from inference.serving.api import create_app
    from inference.serving.config import ServingConfig
    from inference.serving.loading import open_service
    from inference.serving.server import serving_in_thread

    config = ServingConfig(model_dir=model_dir, **settings)
    service = open_service(config, client, model_dir.parent)
    try:
        with serving_in_thread(create_app(service, config, client)) as url:
            yield RankingClient(url)
    finally:
        service.close()
