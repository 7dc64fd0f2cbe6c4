"""A user clicks and the API serves recommendations computed from the new features, with nothing on the request
path but a cache read: clicks -> Kafka -> behavior job (Flink) -> Redis + feature-updates -> refresher -> cache."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from inference.serving.config import ServingConfig
from inference.serving.loading import open_ranker
from inference.serving.refresher import Refresher
from inference.serving.result_cache import ResultCache
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.snapshot_writer import SnapshotWriter
from tests.fixtures.kafka import ordered_producer
from tests.fixtures.services import KafkaEndpoint
from tests.integration.inference.serving.conftest import post, start_api

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(kafka: KafkaEndpoint, topic: str, redis_client: redis.Redis, model_dir: Path) -> Iterator[str]:
    """The streaming job, the snapshot writer and the refresher running on `topic`; yields the API's URL."""
    names = {"dlq": f"{topic}-dlq", "snapshots": f"{topic}-snap", "updates": f"{topic}-upd"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in names.values()]).values():
        future.result(30)
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    job = start(JobConfig(kafka.bootstrap_servers, topic, names["dlq"], names["snapshots"], f"job-{topic}"), jars)
    stop = threading.Event()
    writer = SnapshotWriter(kafka.bootstrap_servers, OnlineWriter(redis_client, USER_REALTIME), None,
                            names["snapshots"], names["updates"], group=f"writer-{topic}")  # fmt: skip
    config = ServingConfig(model_dir=model_dir, beam=20, max_k=20)
    refresher = Refresher(kafka.bootstrap_servers, names["updates"], OnlineReader(redis_client, [USER_REALTIME]),
                          open_ranker(config, model_dir.parent), ResultCache(redis_client, 3600), f"refresh-{topic}",
                          max_lag_ms=None)  # fmt: skip  (a slow CI start must not shed the first clicks)
    threads = [threading.Thread(target=w.run, kwargs={"should_stop": stop.is_set}, daemon=True) for w in (writer, refresher)]
    for thread in threads:
        thread.start()
    try:
        yield from start_api(redis_client, model_dir)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        job.cancel()


def click(producer: Producer, topic: str, user: int, item: int) -> int:
    now = int(time.time() * 1000)
    event = {"event_id": uuid.uuid4().hex, "user_id": user, "item_id": item, "category_id": 1, "behavior": "PV",
             "event_time": now}  # fmt: skip
    producer.produce(topic, AvroCodec("click_event").encode(event), str(user).encode())
    assert producer.flush(10) == 0
    return now


def served_after(api: str, user: int, newer_than: int, timeout_s: float = 90) -> dict:
    """The first cached answer computed from features newer than `newer_than` (polling, as a client would)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body = post(f"{api}/recommend", {"user_id": user, "k": 10})
        assert status == 200, body
        if body["path"] == "cached" and (body["feature_version"] or 0) > newer_than:
            return body
        time.sleep(0.05)
    raise AssertionError(f"no fresh cached result for user {user} within {timeout_s} s (last: {body})")


def test_a_click_reaches_the_served_recommendations(pipeline: str, kafka: KafkaEndpoint, topic: str) -> None:
    producer = ordered_producer(kafka.bootstrap_servers)
    user, history = 4242, [11, 12, 13]
    times = []
    for item in history:
        times.append(click(producer, topic, user, item))
        time.sleep(0.005)  # distinct event times: the version reaches times[-1] only once all three are applied
    first = served_after(pipeline, user, times[-1] - 1)  # the job may publish a snapshot of the first clicks before
    first_items = [i["item_id"] for i in first["items"]]
    assert first["source"] == "generative" and not set(first_items) & set(history)
    assert "last 3 items" in first["reason"]

    clicked_at = click(producer, topic, user, first_items[0])  # the user clicks the top recommendation
    second = served_after(pipeline, user, first["feature_version"])
    assert second["feature_version"] >= clicked_at > first["feature_version"]
    assert first_items[0] not in [i["item_id"] for i in second["items"]]
    assert "last 4 items" in second["reason"]
