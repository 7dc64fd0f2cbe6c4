"""A hostile stream (tests/integration/streaming/adversarial.py) through the behavior job: exactly the corrupt, late,
future and mis-keyed records land in the dead-letter topic, whole, each with its reason and pointing at its original
record, and every user's state equals the reference's over the input. Corrupt records dated after the whole history
are spread through the stream: if a rejected record's time counted anywhere, the valid clicks after it would be
dead-lettered as late. A corrupt click 50 bytes under the clicks topic's size limit still gets its dead letter (the
dead-letter topic is created with the project's topic configuration)."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from schemas.topics import TopicSettings
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.state.user_state import BehaviorState
from tests.integration.streaming import adversarial
from tests.integration.streaming.job_output import FIELDS, latest_per_user, read_letters

pytestmark = pytest.mark.integration
RECORD_OVERHEAD = 61 + 20
"""A one-record batch's header (61 bytes) and the record's own framing (lengths, deltas, attributes: under 20)."""


def test_only_bad_records_are_dead_lettered_and_every_user_is_exact(kafka: KafkaEndpoint, datasets_dir: Path) -> None:
    history = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    stream = adversarial.build(history)
    codec = AvroCodec("click_event")
    reference = BehaviorState()
    expected = stream.expected_letters(reference, codec)
    kinds = Counter(error_type for error_type, _ in expected.elements())
    assert kinds["Late"] >= 100 and kinds["FutureEvent"] == 1 and kinds["KeyMismatch"] == 1, kinds
    assert {"DecodeError", "UnknownSchemaFingerprint", "InvalidField"} <= set(kinds)

    name = f"bad-input-{uuid.uuid4().hex[:8]}"
    settings = TopicSettings(clicks=name, dead_letter=f"{name}-dlq", snapshots=f"{name}-snap",
                             snapshot_dead_letter=f"{name}-snap-dlq", feature_updates=f"{name}-upd")  # fmt: skip
    configs = settings.configs()
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(t, 2, 1, config=configs[t]) for t in settings.names()]).values():
        future.result(30)
    largest_key = str(history[0]["user_id"]).encode()
    filler = (settings.clicks_max_bytes - 50 - RECORD_OVERHEAD - len(largest_key)
              - len(codec.encode({**history[0], "event_id": ""})))  # fmt: skip
    largest = codec.encode({**history[0], "event_id": "x" * filler}) + b"\x00"  # trailing byte: a DecodeError
    expected[("DecodeError", largest)] += 1
    producer = ordered_producer(kafka.bootstrap_servers, {"message.max.bytes": 2 * settings.clicks_max_bytes})
    for key, value in [*stream.records[:100], (largest_key, largest), *stream.records[100:]]:
        producer.produce(name, value, key)
    assert producer.flush(30) == 0

    config = JobConfig(kafka.bootstrap_servers, name, settings.dead_letter, settings.snapshots, f"job-{name}",
                       dead_letter_max_bytes=settings.dead_letter_max_bytes, bounded=True,
                       stream=load_settings().stream)  # fmt: skip
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    start(config, jars).wait(300_000)

    letters = read_letters(kafka.bootstrap_servers, settings.dead_letter, sum(expected.values()))
    assert Counter((letter["error_type"], letter["payload"]) for letter in letters) == expected
    reader = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": f"check-{name}"})
    for letter in letters[::10]:  # the coordinates point at the original record
        reader.assign([TopicPartition(name, letter["partition"], letter["offset"])])
        original = reader.poll(10)
        assert original is not None and original.value() == letter["payload"] and original.key() == letter["key"]
        assert letter["source_topic"] == name and letter["reason"].startswith(letter["error_type"] + ":")
    reader.close()
    got = latest_per_user(kafka.bootstrap_servers, settings.snapshots)
    assert set(got) == set(reference.users)
    for user in reference.users:
        want = reference.snapshot(user)
        assert {f: got[user]["s"][f] for f in FIELDS} == {f: want[f] for f in FIELDS}, user
