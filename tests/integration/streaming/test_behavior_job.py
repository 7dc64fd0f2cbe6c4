"""The behavior job end to end on real Kafka, Flink and Redis: a replay with corrupt records and repeated clicks mixed
in ends with every user's online features equal to the reference, every bad record in the dead-letter topic,
feature-updates out, and the event log holding exactly the clicks the reference applied: the daily intent batch
builds the same contexts from it, every day, as from the same history backfilled."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import redis
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from feature_store.offline import event_log, parquet_log
from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from intents.catalog import coded_catalog
from intents.context import build_contexts
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.snapshot_writer import SnapshotWriter
from streaming.state.representation import ArraySemanticIds
from streaming.state.user_state import BehaviorState

pytestmark = pytest.mark.integration


def _count(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    total, idle = 0, 0
    while idle < 4:
        batch = [m for m in consumer.consume(5_000, timeout=1.0) if m.error() is None]
        idle = 0 if batch else idle + 1
        total += len(batch)
    consumer.close()
    return total


def test_replay_to_online_features(kafka: KafkaEndpoint, topic: str, redis_client: redis.Redis, datasets_dir: Path,
                                   tmp_path: Path) -> None:  # fmt: skip
    codec = AvroCodec("click_event")
    events = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    producer = ordered_producer(kafka.bootstrap_servers)
    for i, event in enumerate(events):
        producer.produce(topic, codec.encode(event), str(event["user_id"]).encode())
        if i % 43 == 0:  # 101 corrupt records spread through the stream
            producer.produce(topic, os.urandom(20), b"garbage")
        if i % 97 == 0:  # and 45 clicks sent twice
            producer.produce(topic, codec.encode(event), str(event["user_id"]).encode())
    assert producer.flush(30) == 0
    names = {"dlq": f"{topic}-dlq", "snapshots": f"{topic}-snap", "updates": f"{topic}-upd"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in names.values()]).values():
        future.result(30)

    config = JobConfig(kafka.bootstrap_servers, topic, names["dlq"], names["snapshots"], f"job-{topic}", bounded=True,
                       event_log_dir=tmp_path / event_log.STREAMED, stream=load_settings().stream)  # fmt: skip
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    start(config, jars).wait(300_000)
    max_item = max(e["item_id"] for e in events)
    table = np.random.default_rng(0).integers(0, 256, (max_item // 2, 4))  # a model knowing half the item ids
    semantic_ids = ArraySemanticIds(table, version="table-v1")
    writer = SnapshotWriter(kafka.bootstrap_servers, OnlineWriter(redis_client, USER_REALTIME), tmp_path,
                            names["snapshots"], names["updates"], group=f"writer-{topic}",
                            semantic_ids=semantic_ids)  # fmt: skip
    stats = writer.run(idle_stop_s=5)

    reference = BehaviorState(out_of_orderness_ms=config.stream.out_of_orderness_ms)
    outcome, _ = reference.apply(events)
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})  # 2017 data
    vectors = reader.read_many(sorted(reference.users))
    for vector in vectors:
        want = reference.snapshot(vector.entity_id)
        got = vector["user_realtime"]
        assert got.status == "present" and got.version == want["version"]
        assert got.values["item_ids"].tolist() == want["item_ids"] and got.values["count_pv"] == want["count_pv"]
        assert got.values["summary"] == want["summary"]
        assert bytes(got.values["sid_codes"]) == semantic_ids.lookup(np.array(want["item_ids"])).tobytes()
        assert got.values["sid_version"] == "table-v1"
    assert _count(kafka.bootstrap_servers, names["dlq"]) == 101
    assert _count(kafka.bootstrap_servers, names["updates"]) == stats.snapshots
    assert parquet_log.read(tmp_path / "user_realtime").num_rows == stats.snapshots >= 43
    logged = event_log.read(tmp_path)  # the writer compacted at its end: nothing left to compact
    assert not list((tmp_path / event_log.STREAMED).glob(event_log.STREAMED_PARTS))
    assert sorted(logged["event_id"].to_pylist()) == sorted(outcome.applied_ids) and len(outcome.applied_ids) == len(events)
    backfilled = tmp_path / "backfilled"
    event_log.append(backfilled, load("taobao-head", datasets_dir).table)  # type: ignore[attr-defined]
    history = event_log.read(backfilled)
    columns = event_log.CLICK_COLUMNS.names
    assert logged.sort_by("event_id").select(columns) == history.sort_by("event_id").select(columns)
    days = sorted({time.strftime("%Y-%m-%d", time.gmtime(t / 1000)) for t in history["event_time"].to_pylist()})
    for day in days:  # the intent batch's whole input from the log: each active user's context of the day
        assert build_contexts(logged, coded_catalog(logged), day) == build_contexts(history, coded_catalog(history), day)
