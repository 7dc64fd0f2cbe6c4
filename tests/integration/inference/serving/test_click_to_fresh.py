"""A user clicks and the API serves recommendations computed from the new features, with nothing on the request
path but a cache read: clicks -> Kafka -> behavior job (Flink) -> Redis + feature-updates -> refresher -> cache. On
the plain test services, on a secured stack (SASL_SSL Kafka, TLS + ACL Redis, an API key) and on a Redis Cluster."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from redis.cluster import RedisCluster

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from freshrec.testing.services import KafkaEndpoint
from inference.serving.config import ServingConfig
from inference.serving.loading import open_ranker
from inference.serving.refresher import Refresher
from inference.serving.result_cache import ResultCache
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from schemas.kafka_client import Connection, client_config
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.snapshot_writer import SnapshotWriter
from tests.fixtures.secure import SecureStack
from tests.integration.inference.serving.conftest import get, post, start_api

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Stack:
    """Where the pipeline runs: the plain test services, or the secured ones (SASL_SSL Kafka, TLS + ACL Redis, an
    API key), through the same typed configuration a deployment uses."""

    kafka: Connection
    bootstrap: str
    java_properties: dict[str, str]
    redis: redis.Redis | RedisCluster
    api_key: str | None
    secrets: tuple[str, ...] = ()
    """every secret of the stack: none may show in what the API answers"""


@pytest.fixture(params=["plain", "secure", "redis-cluster"])
def stack(request: pytest.FixtureRequest, kafka: KafkaEndpoint, redis_client: redis.Redis) -> Stack:
    if request.param == "plain":
        return Stack(kafka.bootstrap_servers, kafka.bootstrap_servers, {}, redis_client, None)
    if request.param == "redis-cluster":
        return Stack(kafka.bootstrap_servers, kafka.bootstrap_servers, {}, request.getfixturevalue("redis_cluster_client"), None)
    secure: SecureStack = request.getfixturevalue("secure_stack")
    request.getfixturevalue("secure_redis")
    key = "click-to-fresh-key-5a1f"
    return Stack(secure.kafka.client_config(), secure.kafka.bootstrap_servers, secure.kafka.java_properties(),
                 secure.redis.client(), key, (*secure.secrets, key))  # fmt: skip


@pytest.fixture
def pipeline(stack: Stack, model_dir: Path) -> Iterator[tuple[str, str]]:
    """The streaming job, the snapshot writer and the refresher running on a clicks topic of their own; yields the
    API's URL and that topic."""
    topic = f"clicks-{uuid.uuid4().hex[:8]}"
    names = {"dlq": f"{topic}-dlq", "snapshots": f"{topic}-snap", "updates": f"{topic}-upd"}
    admin = AdminClient(client_config(stack.kafka, {}))
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in [topic, *names.values()]]).values():
        future.result(30)
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    job = start(JobConfig(stack.bootstrap, topic, names["dlq"], names["snapshots"], f"job-{topic}",
                          kafka_properties=stack.java_properties, stream=load_settings().stream), jars)  # fmt: skip
    stop = threading.Event()
    writer = SnapshotWriter(stack.kafka, OnlineWriter(stack.redis, USER_REALTIME), None,
                            names["snapshots"], names["updates"], group=f"writer-{topic}")  # fmt: skip
    config = ServingConfig(model_dir=model_dir, beam=20, max_k=20)
    refresher = Refresher(stack.kafka, names["updates"], OnlineReader(stack.redis, [USER_REALTIME]),
                          open_ranker(config, model_dir.parent), ResultCache(stack.redis, 3600), f"refresh-{topic}",
                          max_lag_ms=None)  # fmt: skip  (a slow CI start must not shed the first clicks)
    threads = [threading.Thread(target=w.run, kwargs={"should_stop": stop.is_set}, daemon=True) for w in (writer, refresher)]
    for thread in threads:
        thread.start()
    try:
        for url in start_api(stack.redis, model_dir, api_key=stack.api_key):
            yield url, topic
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


def served_after(api: str, user: int, newer_than: int, key: str | None, timeout_s: float = 90) -> dict:
    """The first cached answer computed from features newer than `newer_than` (polling, as a client would)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body = post(f"{api}/recommend", {"user_id": user, "k": 10}, {"X-API-Key": key} if key else None)
        assert status == 200, body
        if body["path"] == "cached" and (body["feature_version"] or 0) > newer_than:
            return body
        time.sleep(0.05)
    raise AssertionError(f"no fresh cached result for user {user} within {timeout_s} s (last: {body})")


def test_a_click_reaches_the_served_recommendations(pipeline: tuple[str, str], stack: Stack) -> None:
    api, topic = pipeline
    producer = Producer(client_config(stack.kafka, {"enable.idempotence": True}))
    user, history = 4242, [11, 12, 13]
    times = []
    for item in history:
        times.append(click(producer, topic, user, item))
        time.sleep(0.005)  # distinct event times: the version reaches times[-1] only once all three are applied
    first = served_after(api, user, times[-1] - 1, stack.api_key)  # the job may publish the first clicks' before
    first_items = [i["item_id"] for i in first["items"]]
    assert first["source"] == "generative" and not set(first_items) & set(history)
    assert "last 3 items" in first["reason"]

    clicked_at = click(producer, topic, user, first_items[0])  # the user clicks the top recommendation
    second = served_after(api, user, first["feature_version"], stack.api_key)
    assert second["feature_version"] >= clicked_at > first["feature_version"]
    assert first_items[0] not in [i["item_id"] for i in second["items"]]
    assert "last 4 items" in second["reason"]
    if stack.api_key:  # the secured stack: no secret in what the API shows, key or not
        answers = [get(f"{api}/readyz")[1], get(f"{api}/metrics", {"X-API-Key": stack.api_key})[1],
                   get(f"{api}/metrics")[1], json.dumps(second).encode()]  # fmt: skip
        assert not [s for s in stack.secrets for a in answers if s.encode() in a]
