"""1,000 corrupt records mixed into a replay all land in clicks-dlq, whole, with their coordinates and a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from streaming.flink.environment import job_jar, table_environment
from streaming.jobs import tables
from streaming.sources.datasets import load
from tests.fixtures.services import KafkaEndpoint
from tests.integration.streaming.job_output import read_letters

pytestmark = pytest.mark.integration


def _bad_records(valid: list[bytes]) -> list[bytes]:
    update = AvroCodec("feature_update").encode({"user_id": 1, "version": 2, "event_time": 3})
    kinds = [
        lambda i: os.urandom(1 + i % 40),
        lambda i: valid[i][: 12 + i % 8],
        lambda i: valid[i] + b"\x00",
        lambda i: valid[i][:2] + b"\xee" * 8 + valid[i][10:],
        lambda i: update,
    ]
    return [kinds[i % len(kinds)](i) for i in range(1000)]


def test_corrupt_records_go_to_the_dead_letter_topic(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    codec = AvroCodec("click_event")
    valid = [codec.encode(e) for e in load("taobao-head", datasets_dir).table.to_pylist()]  # type: ignore[attr-defined]
    bad = _bad_records(valid)
    mixed = valid[:]
    for i, record in enumerate(bad):  # spread through the stream
        mixed.insert(i * 5, record)
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    for i, payload in enumerate(mixed):
        producer.produce(topic, payload, f"k{i}".encode())
    assert producer.flush(30) == 0
    dlq = f"{topic}-dlq"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(dlq, 1, 1)])[dlq].result(30)

    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    env = table_environment(jars, streaming=True)
    tables.register_functions(env)
    env.execute_sql(tables.kafka_source("clicks_in", topic, kafka.bootstrap_servers, f"job-{topic}", bounded=True,
                                        watermark=tables.Watermark()))  # fmt: skip
    env.execute_sql(tables.kafka_sink("clicks_dlq", dlq, kafka.bootstrap_servers))
    env.execute_sql(tables.rejected_clicks("clicks_in", "clicks_dlq")).wait(180_000)

    letters = read_letters(kafka.bootstrap_servers, dlq, 1000)
    assert len(letters) == 1000
    assert sorted(letter["payload"] for letter in letters) == sorted(bad)
    assert {letter["error_type"] for letter in letters} == {"DecodeError", "UnknownSchemaFingerprint"}
    reader = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": f"check-{topic}"})
    for letter in letters[:50]:  # the coordinates point at the original record
        reader.assign([TopicPartition(topic, letter["partition"], letter["offset"])])
        original = reader.poll(10)
        assert original is not None and original.value() == letter["payload"] and original.key() == letter["key"]
        assert letter["source_topic"] == topic and letter["reason"].startswith(letter["error_type"] + ":")
    reader.close()
