"""Redis killed (SIGKILL) in the middle of a 110,300-event replay through `freshrec stream run`, its append-only file
deleted too, restarted empty: with no manual step, every user ends equal to the ground truth from the CSV (users last
seen before the loss come back through the writer's refill from the offline log), and the API over that Redis
answered every request meanwhile with a 200, or a 503 with Retry-After: never a 500."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest

from feature_store.views import USER_REALTIME
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from inference.testing import tiny_model_dir
from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from sources.datasets import load
from tests.fixtures.processes import kill9
from tests.integration.inference.serving.conftest import start_api
from tests.integration.streaming.live_job import LiveJob
from tests.integration.streaming.slice_truth import all_match, produce

pytestmark = pytest.mark.integration


def _answer(url: str, user: int) -> str:
    """`200`, `503 Retry-After: 1`, ...: the status and, for a 503, its Retry-After."""
    request = urllib.request.Request(f"{url}/recommend", json.dumps({"user_id": user, "k": 5}).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        return f"{error.code} Retry-After: {error.headers['Retry-After']}" if error.code == 503 else str(error.code)


def test_redis_lost_mid_replay_is_refilled_without_a_manual_step(
    kafka: KafkaEndpoint, datasets_dir: Path, tmp_path: Path
) -> None:
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    store = LocalRedis(RedisSettings(port=free_port()), tmp_path)
    store.start()
    endpoint = RedisEndpoint(store.settings.host, store.settings.port, "local", "")
    job = LiveJob(f"storeloss-{uuid.uuid4().hex[:8]}", kafka, endpoint, tmp_path)
    client = store.client()
    api = start_api(client, tiny_model_dir(tmp_path / "models" / "tiny", 300))
    url = next(api)
    answers: Counter[str] = Counter()
    polling = threading.Event()
    probe = table["user_id"].to_pylist()[:: 5_000]

    def poll() -> None:
        while not polling.is_set():
            for user in probe:
                answers[_answer(url, user)] += 1
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    half = table.num_rows // 2
    job.launch()
    try:
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(0, half))
        offline = tmp_path / "repo" / "data" / "offline" / USER_REALTIME.name
        job.wait(lambda: client.dbsize() > 20_000 and any(offline.glob("part-*.parquet")), 180, "the first half stored")
        kill9(store.process)
        time.sleep(0.5)
        shutil.rmtree(store.home / "appendonlydir")  # nothing survives: the store comes back empty
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(half))
        time.sleep(3)
        store.start()

        job.wait(all_match(client, table), 300, "every user equal")
    finally:
        polling.set()
        poller.join(30)
        if job.process is not None:
            job.stop(signal.SIGTERM)
        with pytest.raises(StopIteration):
            next(api)
        store.stop()
    refills = [line for line in job.log(1).read_text().splitlines() if "refilled from the offline log" in line]
    assert len(refills) == 2 and refills[0].endswith(" 0 rows written") and not refills[1].endswith(" 0 rows written"), \
        refills  # the first start (an empty log), then the loss
    assert set(answers) <= {"200", "503 Retry-After: 1"}, answers
    assert answers["503 Retry-After: 1"] > 0 and answers["200"] > 0, answers
