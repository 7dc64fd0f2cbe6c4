"""The API over a Redis that is killed (SIGKILL) and restarted under it: while it is down every /recommend is a 503
with Retry-After (never a 500) and /readyz is 503; once it is back, requests are answered again with no restart of
the API (the event-loop reader reconnects)."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from tests.integration.inference.serving.conftest import get, post, start_api, write_user

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(RedisSettings(port=free_port()), tmp_path)
    server.start()
    yield server
    server.stop()


def _status(url: str) -> tuple[int, dict]:
    return post(f"{url}/recommend", {"user_id": 7, "k": 5})


def test_redis_killed_and_restarted_under_the_api(own_redis: LocalRedis, model_dir: Path) -> None:
    client = own_redis.client()
    write_user(client, 7, [1, 2, 3])
    api = start_api(client, model_dir)
    url = next(api)
    try:
        assert _status(url)[0] == 200
        pid = own_redis.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        answers = [_status(url) for _ in range(20)]
        assert {status for status, _ in answers} == {503}, answers
        assert all("feature store unavailable" in body["detail"] for _, body in answers)
        request = urllib.request.Request(f"{url}/recommend", b'{"user_id": 7}', {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 503 and error.value.headers["Retry-After"] == "1"
        assert get(f"{url}/readyz")[0] == 503

        own_redis.start()
        write_user(own_redis.client(), 7, [4, 5, 6])
        deadline = time.monotonic() + 10
        while _status(url)[0] != 200:
            assert time.monotonic() < deadline, "the API did not recover after Redis came back"
            time.sleep(0.1)
        assert get(f"{url}/readyz")[0] == 200
    finally:
        with pytest.raises(StopIteration):
            next(api)

