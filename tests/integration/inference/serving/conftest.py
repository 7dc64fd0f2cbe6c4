"""A real API server (uvicorn, in a thread) on a tiny model and the session Redis, plus helpers to write features."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from freshrec.testing.api import serve_ranking_api
from inference.testing import tiny_model_dir

NUM_ITEMS = 300


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny", NUM_ITEMS)


def start_api(client: redis.Redis, model_dir: Path, **settings: object) -> Iterator[str]:
    with serve_ranking_api(client, model_dir, beam=20, max_k=20, **settings) as api:
        yield api.url


@pytest.fixture
def api(redis_client: redis.Redis, model_dir: Path) -> Iterator[str]:
    yield from start_api(redis_client, model_dir)


def write_user(client: redis.Redis, user_id: int, items: list[int], version: int | None = None) -> int:
    """A user_realtime snapshot holding `items` (oldest first); returns its version."""
    now = version or int(time.time() * 1000)
    row = sample_realtime_row(user_id, now, version=now, n=len(items), seed=user_id)
    row["item_ids"] = items
    assert OnlineWriter(client, USER_REALTIME).write([row]).applied == 1
    return now


def post(url: str, body: object, headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
