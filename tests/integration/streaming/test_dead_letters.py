"""1,000 corrupt or invalid records mixed into a replay all land in clicks-dlq, whole, with their coordinates and a
reason, and every valid event is applied (each user's state equals the reference)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.sources.datasets import load
from streaming.state.user_state import BehaviorState
from tests.fixtures.kafka import ordered_producer
from tests.fixtures.services import KafkaEndpoint
from tests.integration.streaming.job_output import FIELDS, latest_per_user, read_letters

pytestmark = pytest.mark.integration


def _bad_records(events: list[dict], valid: list[bytes]) -> list[bytes]:
    codec, update = AvroCodec("click_event"), AvroCodec("feature_update").encode({"user_id": 1, "version": 2, "event_time": 3})
    kinds = [
        lambda i: os.urandom(1 + i % 40),
        lambda i: valid[i][: 12 + i % 8],
        lambda i: valid[i] + b"\x00",
        lambda i: valid[i][:2] + b"\xee" * 8 + valid[i][10:],
        lambda i: update,
        lambda i: codec.encode({**events[i], "event_id": ""}),  # decodes, but invalid
        lambda i: codec.encode({**events[i], "event_id": f"bad-{i}", "event_time": 0}),
    ]
    return [kinds[i % len(kinds)](i) for i in range(1000)]


def test_corrupt_records_go_to_the_dead_letter_topic(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    codec = AvroCodec("click_event")
    events = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    valid = [codec.encode(e) for e in events]
    bad = _bad_records(events, valid)
    mixed = [(payload, str(event["user_id"]).encode()) for payload, event in zip(valid, events)]  # keyed by user
    for i, record in enumerate(bad):  # spread through the stream
        mixed.insert(i * 5, (record, f"bad{i}".encode()))
    producer = ordered_producer(kafka.bootstrap_servers)
    for payload, key in mixed:
        producer.produce(topic, payload, key)
    assert producer.flush(30) == 0
    dlq, snapshots = f"{topic}-dlq", f"{topic}-snap"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(dlq, 1, 1), NewTopic(snapshots, 2, 1)]).values():
        future.result(30)

    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    start(JobConfig(kafka.bootstrap_servers, topic, dlq, snapshots, f"job-{topic}", bounded=True), jars).wait(300_000)

    letters = read_letters(kafka.bootstrap_servers, dlq, 1000)
    assert len(letters) == 1000
    assert sorted(letter["payload"] for letter in letters) == sorted(bad)
    assert {letter["error_type"] for letter in letters} == {"DecodeError", "UnknownSchemaFingerprint", "InvalidField"}
    reader = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": f"check-{topic}"})
    for letter in letters[:50]:  # the coordinates point at the original record
        reader.assign([TopicPartition(topic, letter["partition"], letter["offset"])])
        original = reader.poll(10)
        assert original is not None and original.value() == letter["payload"] and original.key() == letter["key"]
        assert letter["source_topic"] == topic and letter["reason"].startswith(letter["error_type"] + ":")
    reader.close()
    reference = BehaviorState()
    reference.apply(events)
    got = latest_per_user(kafka.bootstrap_servers, snapshots)
    assert set(got) == set(reference.users)
    for user in reference.users:  # every valid event applied, nothing of the bad ones
        want = reference.snapshot(user)
        assert {f: got[user]["s"][f] for f in FIELDS} == {f: want[f] for f in FIELDS}, user
