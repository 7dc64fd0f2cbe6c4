"""10,000 records made by hypothesis-generated mutations of valid clicks (bytes flipped, cut, inserted, overwritten,
appended) through the behavior job: each one is either applied or dead-lettered, exactly as the Python codec and the
reference rules judge it, and the job never fails or restarts (a restart would repeat dead letters and offsets)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec, CodecError
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.state.user_state import BehaviorState
from tests.integration.streaming.job_output import latest_per_user, read_letters

pytestmark = pytest.mark.integration
RECORDS, MUTATIONS = 10_000, 1_000

MUTATION = st.tuples(
    st.sampled_from(["flip", "cut", "insert", "overwrite", "append"]),
    st.integers(0, 80),  # where in the record (clamped to its length)
    st.binary(min_size=1, max_size=6),
)


def _mutate(record: bytes, mutation: tuple[str, int, bytes]) -> bytes:
    kind, at, data = mutation
    at = min(at, len(record) - 1)
    if kind == "flip":
        return record[:at] + bytes([record[at] ^ (data[0] or 1)]) + record[at + 1 :]
    if kind == "cut":
        return record[:at]
    if kind == "insert":
        return record[:at] + data + record[at:]
    if kind == "overwrite":
        return record[:at] + data + record[at + len(data) :]
    return record + data


def _accepted(codec: AvroCodec, key: bytes, payload: bytes) -> dict[str, Any] | None:
    """The click the job must take from this record, or None: the JVM decoder's rules, from the Python codec."""
    try:
        event = codec.decode(payload)
    except CodecError:
        return None
    if not event["event_id"] or event["event_time"] <= 0 or key != str(event["user_id"]).encode():
        return None
    return event


def _generated(count: int) -> list[tuple[str, int, bytes]]:
    """`count` mutations as hypothesis generates them (varied, reproducible: derandomized), for one job run."""
    mutations: list[tuple[str, int, bytes]] = []

    @settings(max_examples=count, phases=[Phase.generate], derandomize=True, database=None, deadline=None)
    @given(MUTATION)
    def collect(mutation: tuple[str, int, bytes]) -> None:
        mutations.append(mutation)

    collect()
    return mutations


def test_every_generated_record_is_applied_or_dead_lettered(kafka: KafkaEndpoint) -> None:
    mutations = _generated(MUTATIONS)
    assert len(set(mutations)) > MUTATIONS // 2
    codec = AvroCodec("click_event")
    start_ms = int(time.time() * 1000) - 3_600_000
    records = []
    for i in range(RECORDS):
        event = {"event_id": f"fuzz-{i}", "user_id": i % 97, "item_id": 1_000 + i, "category_id": i % 13,
                 "behavior": ("PV", "CART", "FAV", "BUY")[i % 4], "event_time": start_ms + 50 * i}  # fmt: skip
        records.append((str(event["user_id"]).encode(), _mutate(codec.encode(event), mutations[i % len(mutations)])))
    accepted = [(i, e) for i, (key, payload) in enumerate(records) if (e := _accepted(codec, key, payload))]
    reference = BehaviorState()
    outcome, _ = reference.apply([e for _, e in accepted])
    rejected = len(records) - len(accepted)
    assert rejected >= RECORDS // 2 and len(accepted) >= 50, (rejected, len(accepted))  # both verdicts exercised

    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    topics = {"clicks": name, "dlq": f"{name}-dlq", "snapshots": f"{name}-snap"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.values()]).values():
        future.result(30)
    producer = ordered_producer(kafka.bootstrap_servers)
    for key, payload in records:
        producer.produce(name, payload, key)
    assert producer.flush(30) == 0
    config = JobConfig(kafka.bootstrap_servers, name, topics["dlq"], topics["snapshots"], f"job-{name}", bounded=True,
                       stream=load_settings().stream)
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    start(config, jars).wait(300_000)  # raises if the job failed

    expected = Counter(payload for key, payload in records if _accepted(codec, key, payload) is None)
    expected.update(codec.encode(e) for e in [*outcome.late, *outcome.future])
    letters = read_letters(kafka.bootstrap_servers, topics["dlq"], sum(expected.values()))
    assert len({(letter["partition"], letter["offset"]) for letter in letters}) == len(letters)  # none repeated
    assert Counter(letter["payload"] for letter in letters) == expected
    got = latest_per_user(kafka.bootstrap_servers, topics["snapshots"])
    counts = {u: sum(s["s"][f"count_{b}"] for b in ("pv", "cart", "fav", "buy")) for u, s in got.items()}
    assert counts == {u: int(state.counts.sum()) for u, state in reference.users.items()}
    assert sum(counts.values()) + sum(expected.values()) + outcome.duplicates == RECORDS
