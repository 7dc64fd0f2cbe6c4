"""Idle users age out with a short configured horizon (`stream.state_ttl_s`, `stream.key_ttl_s`): the job drops a
user's state after the TTL without a click, so the user's next click starts afresh (its snapshot holds that click
alone and replaces the stored one), and the online features of a user without writes expire from Redis. The job's
metrics (`stream run --job-metrics-port`) count the expiries."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import redis

from feature_store.online.layout import ViewLayout
from feature_store.online.reader import OnlineReader
from feature_store.store import PROJECT
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from infra.stack.process import free_port
from schemas.codec import AvroCodec
from streaming.state.user_state import BehaviorState
from tests.integration.streaming.job_output import OPERATOR, scrape
from tests.integration.streaming.live_job import LiveJob

pytestmark = pytest.mark.integration
STATE_TTL_S, KEY_TTL_S = 3, 12


def _click(i: int, user: int, time_ms: int) -> dict:
    return {"event_id": f"ttl-{user}-{i}", "user_id": user, "item_id": 100 + i, "category_id": 1, "behavior": "PV",
            "event_time": time_ms}  # fmt: skip


def test_idle_users_age_out_of_state_and_store(
    kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = {"FRESHREC_STREAM__STATE_TTL_S": str(STATE_TTL_S), "FRESHREC_STREAM__KEY_TTL_S": str(KEY_TTL_S)}
    port = free_port()
    job = LiveJob(f"ttl-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path, env=env,
                  args=["--job-metrics-port", str(port)])  # fmt: skip
    codec, producer = AvroCodec("click_event"), ordered_producer(kafka.bootstrap_servers)
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    returning, idle = 7_000_001, 7_000_002
    now = int(time.time() * 1000)
    first = [_click(i, u, now - 60_000 + i * 1_000) for u in (returning, idle) for i in range(5)]

    def features(user: int):  # noqa: ANN202
        return reader.read_many([user])[0]["user_realtime"]

    job.launch()
    try:
        for event in first:
            producer.produce(job.topics["clicks"], codec.encode(event), str(event["user_id"]).encode())
        assert producer.flush(30) == 0
        job.wait(lambda: features(returning).status == features(idle).status == "present", 180, "the first snapshots")
        assert features(returning).values["count_pv"] == 5
        key = ViewLayout(USER_REALTIME, PROJECT).redis_keys(np.array([idle])).rows()[0]
        assert 0 < redis_client.ttl(key) <= KEY_TTL_S
        written = time.monotonic()

        time.sleep(STATE_TTL_S + 2)  # the returning user's state has expired in the job
        back = _click(9, returning, now)
        producer.produce(job.topics["clicks"], codec.encode(back), str(returning).encode())
        assert producer.flush(30) == 0
        reference = BehaviorState()
        reference.apply([back])
        want = reference.snapshot(returning)
        job.wait(lambda: features(returning).values.get("count_pv") == 1, 60, "the returning user's fresh snapshot")
        got = features(returning)
        assert got.values["item_ids"].tolist() == want["item_ids"] and got.version == want["version"]

        job.wait(lambda: features(idle).status == "missing", KEY_TTL_S + 10, "the idle user's key to expire")
        assert time.monotonic() - written >= KEY_TTL_S - 1
        served = scrape(port)  # the idle user once, the returning user twice (before its click back and after)
        assert served[(f"{OPERATOR}usersExpired", ())] == 3 and served[(f"{OPERATOR}clicksApplied", ())] == 11
    finally:
        job.stop(signal.SIGTERM)
