"""The snapshot writer on real Kafka and Redis: a snapshot that is not Avro and one that breaks the view's rules, among
10,000, go whole to the writer's dead-letter topic with their reasons; every other snapshot is written, its
feature-update sent, and the writer's offsets pass them all (no crash loop on a poison pill). A full store is
waited out, and a store emptied mid-stream is refilled with every user stored before."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from confluent_kafka import Consumer, TopicPartition

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.rebuild import StoreGuard
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import create_topics, ordered_producer
from freshrec.testing.services import KafkaEndpoint
from schemas.codec import AvroCodec
from streaming.snapshot_writer import SnapshotWriter
from tests.integration.streaming.job_output import read_letters, read_messages

pytestmark = pytest.mark.integration
SNAPSHOTS = AvroCodec("user_snapshot")


def snapshot(user: int, version: int) -> dict:
    items = [user % 97 + k for k in range(1 + user % 5)]
    state = {"item_ids": items, "category_ids": [7] * len(items), "behaviors": [0] * len(items),
             "event_times": [version - 1] * len(items), "count_pv": len(items), "count_cart": 0, "count_fav": 0,
             "count_buy": 0, "interest": [0.25] * 64, "top_categories": [7], "summary": f"u{user}",
             "event_time": version - 1, "version": version}  # fmt: skip
    return {"user_id": user, "s": state}


def test_bad_snapshots_are_dead_lettered_and_the_rest_written(
    kafka: KafkaEndpoint, redis_client: redis.Redis, tmp_path: Path
) -> None:
    name = f"writer-{uuid.uuid4().hex[:8]}"
    topics = {"snap": name, "upd": f"{name}-upd", "dlq": f"{name}-dlq"}
    create_topics(kafka.bootstrap_servers, list(topics.values()))
    users = range(1, 10_001)
    records = [(json.dumps({"user_id": u}).encode(), SNAPSHOTS.encode(snapshot(u, 1_700_000_000_000 + u)))
               for u in users]  # fmt: skip
    invalid = snapshot(4_000, 1_700_000_004_000)
    invalid["s"]["event_times"] = invalid["s"]["event_times"][:-1] + [1, 2]  # one more time than items
    bad = {records[2_999][0]: b'{"not": "avro"}', records[3_999][0]: SNAPSHOTS.encode(invalid)}
    records = [(key, bad.get(key, value)) for key, value in records]
    producer = ordered_producer(kafka.bootstrap_servers)
    for key, value in records:
        producer.produce(topics["snap"], value, key)
    assert producer.flush(30) == 0

    writer = SnapshotWriter(kafka.bootstrap_servers, OnlineWriter(redis_client, USER_REALTIME), tmp_path,
                            topics["snap"], topics["upd"], group=f"w-{name}", dead_letter_topic=topics["dlq"])  # fmt: skip
    stats = writer.run(idle_stop_s=10)

    assert (stats.snapshots, stats.dead_letters) == (9_998, 2)
    letters = read_letters(kafka.bootstrap_servers, topics["dlq"], 2)
    assert {(letter["key"], letter["payload"]) for letter in letters} == set(bad.items())
    assert {letter["error_type"] for letter in letters} == {"DecodeError", "InvalidField"}
    assert all(letter["source_topic"] == name and letter["reason"] for letter in letters)
    assert len(read_messages(kafka.bootstrap_servers, topics["upd"], 9_998)) == 9_998
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    vectors = {v.entity_id: v["user_realtime"] for v in reader.read_many(list(users))}
    assert vectors[3_000].status == vectors[4_000].status == "missing"
    assert all(v.status == "present" and v.version == 1_700_000_000_000 + u
               for u, v in vectors.items() if u not in (3_000, 4_000))  # fmt: skip
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": f"w-{name}"})
    committed = consumer.committed([TopicPartition(name, p) for p in range(2)], timeout=10)
    consumer.close()
    assert sum(o.offset for o in committed) == len(records)  # past the bad ones too: no crash loop on a restart


def test_a_full_store_is_waited_out(kafka: KafkaEndpoint, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Redis at its memory cap (noeviction) refuses the writes: the writer keeps the batch, retries, and writes it
    all once the cap is raised; nothing is dead-lettered or lost."""
    name = f"full-{uuid.uuid4().hex[:8]}"
    create_topics(kafka.bootstrap_servers, [name, f"{name}-upd", f"{name}-dlq"])
    producer = ordered_producer(kafka.bootstrap_servers)
    for user in range(1, 2_001):
        producer.produce(name, SNAPSHOTS.encode(snapshot(user, 1_700_000_000_000 + user)), b"%d" % user)
    assert producer.flush(30) == 0
    redis_client.config_set("maxmemory", redis_client.info("memory")["used_memory"] + 64 * 1024)
    raised = threading.Timer(3.0, lambda: redis_client.config_set("maxmemory", 0))
    writer = SnapshotWriter(kafka.bootstrap_servers, OnlineWriter(redis_client, USER_REALTIME), tmp_path, name,
                            f"{name}-upd", group=f"w-{name}", dead_letter_topic=f"{name}-dlq")  # fmt: skip
    try:
        raised.start()
        stats = writer.run(idle_stop_s=8)
    finally:
        raised.join()
        redis_client.config_set("maxmemory", 0)
    assert stats.store_retries > 0 and stats.dead_letters == 0 and stats.snapshots == 2_000
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    assert all(v["user_realtime"].version == 1_700_000_000_000 + v.entity_id for v in reader.read_many(list(range(1, 2_001))))


def test_a_store_emptied_mid_stream_is_refilled_with_every_user_stored_before(
    kafka: KafkaEndpoint, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Redis emptied (FLUSHALL: the marker gone with the data) while the writer runs: before its next write it refills
    the store from the offline log, so the users of every batch stored before are back, the newest one's too."""
    name = f"lost-{uuid.uuid4().hex[:8]}"
    create_topics(kafka.bootstrap_servers, [name, f"{name}-upd", f"{name}-dlq"])
    producer = ordered_producer(kafka.bootstrap_servers)

    def produce(users: range) -> None:
        for user in users:
            producer.produce(name, SNAPSHOTS.encode(snapshot(user, 1_700_000_000_000 + user)), b"%d" % user)
        assert producer.flush(30) == 0

    online = OnlineWriter(redis_client, USER_REALTIME)
    guard = StoreGuard(redis_client, tmp_path, {USER_REALTIME.name: online})
    writer = SnapshotWriter(kafka.bootstrap_servers, online, tmp_path, name, f"{name}-upd", group=f"w-{name}",
                            dead_letter_topic=f"{name}-dlq", guard=guard)  # fmt: skip
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    stop = threading.Event()
    thread = threading.Thread(target=lambda: writer.run(should_stop=stop.is_set))
    produce(range(1, 501))
    thread.start()
    try:
        wait_until(lambda: reader.read_many([500])[0]["user_realtime"].status == "present")
        redis_client.flushall()
        produce(range(501, 511))
        wait_until(lambda: reader.read_many([510])[0]["user_realtime"].status == "present")
    finally:
        stop.set()
        thread.join(30)
    assert all(v["user_realtime"].version == 1_700_000_000_000 + v.entity_id for v in reader.read_many(list(range(1, 511))))


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
