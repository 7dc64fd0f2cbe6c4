"""Out-of-order events within the bound are applied in event-time order; events more than the bound behind their
user's newest event go to the dead-letter topic as `Late`, whole, and are not applied: exactly the reference's verdicts
on a real history, read from two partitions (lateness is per user, so the partitioning cannot change it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.state.user_state import BehaviorState
from tests.integration.streaming.job_output import FIELDS, latest_per_user, read_letters

pytestmark = pytest.mark.integration


def _disordered(events: list[dict]) -> list[dict]:
    """Every 25th event arrives 2 s before its predecessor's time (within the 5 s bound: reordered), and another
    every 25th arrives three events later than its turn (tens of seconds behind in this history: late when its user
    was among the three)."""
    events = [dict(e) for e in events]
    for i in range(10, len(events) - 1, 25):
        events[i + 1]["event_time"] = events[i]["event_time"] - 2_000
    for i in range(20, len(events) - 3, 25):
        events[i], events[i + 1], events[i + 2], events[i + 3] = events[i + 1], events[i + 2], events[i + 3], events[i]
    return events


def test_late_events_are_routed_and_reordered_ones_applied(kafka: KafkaEndpoint, datasets_dir: Path) -> None:
    events = _disordered(load("taobao-head", datasets_dir).table.to_pylist())  # type: ignore[attr-defined]
    reference = BehaviorState(out_of_orderness_ms=5_000)
    outcome, _ = reference.apply(events)
    times = np.array([e["event_time"] for e in events])
    reordered = int((times[1:] < np.maximum.accumulate(times)[:-1]).sum())
    assert len(outcome.late) >= 100 and reordered - len(outcome.late) >= 100  # the history exercises both cases

    name = f"late-{np.random.default_rng().integers(1 << 30)}"
    topics = {"clicks": name, "dlq": f"{name}-dlq", "snapshots": f"{name}-snap"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.values()]).values():
        future.result(30)
    codec, producer = AvroCodec("click_event"), ordered_producer(kafka.bootstrap_servers)
    for event in events:
        producer.produce(name, codec.encode(event), str(event["user_id"]).encode())
    assert producer.flush(30) == 0

    config = JobConfig(kafka.bootstrap_servers, name, topics["dlq"], topics["snapshots"], f"job-{name}", bounded=True,
                       stream=load_settings().stream)
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    start(config, jars).wait(300_000)

    letters = read_letters(kafka.bootstrap_servers, topics["dlq"], len(outcome.late))
    assert sorted(letter["payload"] for letter in letters) == sorted(codec.encode(e) for e in outcome.late)
    assert {letter["error_type"] for letter in letters} == {"Late"}
    assert "ms behind the user's newest event" in letters[0]["reason"]
    got = latest_per_user(kafka.bootstrap_servers, topics["snapshots"])
    assert set(got) == set(reference.users)
    for user in reference.users:
        want = reference.snapshot(user)
        assert {f: got[user]["s"][f] for f in FIELDS} == {f: want[f] for f in FIELDS}, user
