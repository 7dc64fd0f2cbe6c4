"""ClickEvents decoded in the JVM (streaming/jvm DecodeClick) agree with the Python codec on every record,
good or corrupt: valid ones field for field, invalid ones flagged with a typed reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec, CodecError
from sources.datasets import load
from streaming.flink.environment import job_jar, table_environment
from streaming.jobs import tables

pytestmark = pytest.mark.integration


def _corrupt(valid: list[bytes]) -> list[bytes]:
    """Every kind of bad record a topic can hold, 100 in all."""
    update = AvroCodec("feature_update").encode({"user_id": 1, "version": 2, "event_time": 3})
    kinds = [
        lambda i: os.urandom(1 + i % 40),  # garbage
        lambda i: valid[i][: 12 + i % 8],  # truncated
        lambda i: valid[i] + b"\x00",  # trailing bytes
        lambda i: valid[i][:2] + b"\xee" * 8 + valid[i][10:],  # unknown fingerprint
        lambda i: update,  # another message type
    ]
    return [kinds[i % len(kinds)](i) for i in range(100)]


def test_jvm_decoder_matches_the_python_codec(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    codec = AvroCodec("click_event")
    events = load("taobao-head", datasets_dir).table.slice(0, 2000).to_pylist()  # type: ignore[attr-defined]
    valid = [codec.encode(e) for e in events]
    payloads = valid + _corrupt(valid)
    producer = ordered_producer(kafka.bootstrap_servers)
    for i, payload in enumerate(payloads):
        producer.produce(topic, payload, str(i).encode())
    assert producer.flush(30) == 0

    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    env = table_environment(jars, streaming=False)
    tables.register_functions(env)
    env.execute_sql(tables.kafka_source("raw_clicks", topic, kafka.bootstrap_servers, f"decode-{topic}", bounded=True))
    query = """SELECT record_key, e.event_id, e.user_id, e.item_id, e.category_id, e.behavior, e.event_time, e.error
               FROM (SELECT record_key, decode_click(payload) AS e FROM raw_clicks)"""
    with env.execute_sql(query).collect() as result:
        decoded = {int(bytes(row[0])): tuple(row)[1:] for row in result}
    assert len(decoded) == len(payloads)

    fields = ("event_id", "user_id", "item_id", "category_id", "behavior", "event_time")
    for i, payload in enumerate(payloads):
        *values, error = decoded[i]
        try:
            reference = codec.decode(payload)
        except CodecError as exc:
            assert error is not None and error.split(":")[0] in ("DecodeError", "UnknownSchemaFingerprint"), (i, error, exc)
            assert all(v is None for v in values)
            continue
        assert error is None, (i, error)
        assert tuple(values) == tuple(reference[f] for f in fields)
    assert sum(1 for *_, error in decoded.values() if error) == 100
