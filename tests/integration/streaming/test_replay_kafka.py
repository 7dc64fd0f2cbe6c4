"""Replay real Taobao events into the real broker and read every one back, field for field."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer

from freshrec.testing.services import KafkaEndpoint
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.replay import replay

pytestmark = pytest.mark.integration


def _consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([topic])
    messages: list = []
    idle = 0
    try:
        while len(messages) < expected and idle < timeout:
            batch = consumer.consume(5_000, timeout=1.0)
            idle = 0 if batch else idle + 1
            messages += [m for m in batch if m.error() is None]
        messages += [m for m in consumer.consume(5_000, timeout=2.0) if m.error() is None]  # nothing extra arrives
    finally:
        consumer.close()
    return messages


def test_10k_taobao_events_round_trip_field_for_field(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    source = load("taobao-2h", datasets_dir)
    stats = replay(source, topic, {"bootstrap.servers": kafka.bootstrap_servers}, limit=10_000, batch_size=3_000)
    assert stats.events == 10_000

    messages = _consume_all(kafka.bootstrap_servers, topic, 10_000)
    codec = AvroCodec("click_event")
    received = {}
    for message in messages:
        event = codec.decode(message.value())
        assert message.key() == str(event["user_id"]).encode()
        received[event["event_id"]] = event
    assert len(messages) == 10_000 and len(received) == 10_000

    sent = source.table.slice(0, 10_000).to_pylist()  # type: ignore[attr-defined]
    assert {e["event_id"]: {**e, "session_id": None, "device": None} for e in sent} == received


def test_per_user_order_is_kept_within_a_partition(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    source = load("taobao-head", datasets_dir)
    replay(source, topic, {"bootstrap.servers": kafka.bootstrap_servers})
    codec = AvroCodec("click_event")
    per_user: dict[int, list[tuple[int, str]]] = {}
    for message in _consume_all(kafka.bootstrap_servers, topic, source.num_events):
        event = codec.decode(message.value())
        per_user.setdefault(event["user_id"], []).append((message.partition(), event["event_id"]))
    expected: dict[int, list[str]] = {}
    for event in source.table.to_pylist():  # type: ignore[attr-defined]
        expected.setdefault(event["user_id"], []).append(event["event_id"])
    assert len(per_user) == 43
    for user, seen in per_user.items():
        assert len({p for p, _ in seen}) == 1, "one user, one partition"
        assert [e for _, e in seen] == expected[user]


def test_paced_replay_holds_the_rate(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    stats = replay(load("taobao-head", datasets_dir), topic, {"bootstrap.servers": kafka.bootstrap_servers}, rate=2_000, limit=2_000)
    assert 0.9 <= stats.seconds <= 10.0  # paced: 2,000 events at 2,000/s cannot finish in under a second
