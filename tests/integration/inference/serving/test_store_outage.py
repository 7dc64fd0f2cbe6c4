"""The API over a Redis that is killed (SIGKILL) and restarted under it: while it is down every /recommend is a 503
with Retry-After (never a 500) and /readyz is 503; once it is back, requests are answered again with no restart of
the API (the event-loop reader reconnects)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from tests.fixtures.processes import kill9
from tests.integration.inference.serving.conftest import get, post, start_api, write_user

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(RedisSettings(port=free_port()), tmp_path)
    server.start()
    yield server
    server.stop()


def _status(url: str, user: int = 7) -> tuple[int, dict]:
    return post(f"{url}/recommend", {"user_id": user, "k": 5})


def test_redis_killed_and_restarted_under_the_api(own_redis: LocalRedis, model_dir: Path) -> None:
    client = own_redis.client()
    write_user(client, 7, [1, 2, 3])
    api = start_api(client, model_dir)
    url = next(api)
    try:
        assert _status(url)[0] == 200
        kill9(own_redis.process)
        time.sleep(0.5)
        answers = [_status(url) for _ in range(20)]
        assert {status for status, _ in answers} == {503}, answers
        assert all(body == {"detail": "feature store unavailable"} for _, body in answers)  # no text from inside
        request = urllib.request.Request(f"{url}/recommend", b'{"user_id": 7}', {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 503 and error.value.headers["Retry-After"] == "1"
        assert get(f"{url}/readyz") == (503, b'{"detail":"feature store unreachable"}')

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



def test_client_pause_under_load(own_redis: LocalRedis, model_dir: Path) -> None:
    """`CLIENT PAUSE 10000` (a Redis that stops answering without closing a connection: a failover, a long fork)
    under steady load: every request is answered within the request timeout (200, or a 503/504 saying why), /readyz
    fails while paused, answers are 200 again within 1 s of the pause ending, and the API's memory (this process's,
    where it runs) does not grow by the pause (unanswered reads are capped: `async_reader.MAX_IN_FLIGHT`)."""
    client = own_redis.client()
    for user in range(1, 51):
        write_user(client, user, [user % 7 + 1, user % 11 + 2])
    api = start_api(client, model_dir, request_timeout_s=1.0)
    url = next(api)
    answers: list[tuple[float, float, int]] = []  # (sent, answered, status), monotonic
    running = threading.Event()
    running.set()

    def load(worker: int) -> None:
        user = worker
        while running.is_set():
            sent = time.monotonic()
            status, _ = _status(url, user % 50 + 1)
            answers.append((sent, time.monotonic(), status))
            user += 4

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(2)
        before = _rss_mb()
        paused_at = time.monotonic()
        own_redis.client().execute_command("CLIENT", "PAUSE", 10_000)
        time.sleep(3)
        ready, _ = get(f"{url}/readyz")
        time.sleep(paused_at + 10 + 3 - time.monotonic())
        grown = _rss_mb() - before
    finally:
        running.clear()
        for thread in threads:
            thread.join(30)
        with pytest.raises(StopIteration):
            next(api)
    resumed_at = paused_at + 10
    assert ready == 503
    assert {status for _, _, status in answers} <= {200, 503, 504}, Counter(s for _, _, s in answers)
    slowest = max(answered - sent for sent, answered, _ in answers)
    assert slowest < 1.0 + 0.5, slowest  # the request timeout, plus this machine's scheduling slack
    during = Counter(status for sent, _, status in answers if paused_at + 0.1 < sent < resumed_at - 1.1)
    assert during and 200 not in during, during
    recovered = min(answered for sent, answered, status in answers if sent >= resumed_at and status == 200)
    assert recovered - resumed_at < 1.0
    assert all(status == 200 for sent, _, status in answers if sent >= recovered)
    assert grown < 20, f"RSS grew by {grown:.1f} MB over the pause"


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024
