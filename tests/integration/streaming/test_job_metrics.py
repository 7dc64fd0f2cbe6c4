"""The behavior job's Prometheus metrics, scraped from the in-process job's reporter while it runs a hostile stream
(tests/integration/streaming/adversarial.py): the job's own counters (dead letters by kind, applied and duplicate
clicks, snapshots) equal what the reference computes from the input, the snapshot counter equals the records in the
snapshot topic, and Flink's own job metrics (restarts) are served beside them."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from freshrec.testing.kafka import create_topics, ordered_producer
from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from infra.stack.process import free_port
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.state.user_state import BehaviorState
from tests.integration.streaming import adversarial
from tests.integration.streaming.job_output import OPERATOR, read_messages, scrape

pytestmark = pytest.mark.integration

def test_the_jobs_counters_equal_the_reference_over_a_hostile_stream(kafka: KafkaEndpoint, datasets_dir: Path) -> None:
    history = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    stream = adversarial.build(history)
    codec = AvroCodec("click_event")
    letters = Counter(kind for kind, _ in stream.expected_letters(BehaviorState(), codec).elements())
    reference = BehaviorState()
    outcome, _ = reference.apply(stream.valid)
    assert outcome.duplicates > 0 and len(letters) >= 5, (outcome.duplicates, letters)

    name = f"metrics-{uuid.uuid4().hex[:8]}"
    create_topics(kafka.bootstrap_servers, [name, f"{name}-dlq", f"{name}-snap"])
    producer = ordered_producer(kafka.bootstrap_servers)
    for key, value in stream.records:
        producer.produce(name, value, key)
    assert producer.flush(30) == 0

    port = free_port()
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    job = start(JobConfig(kafka.bootstrap_servers, name, f"{name}-dlq", f"{name}-snap", f"job-{name}",
                          metrics_port=port, stream=load_settings().stream), jars)  # fmt: skip
    try:
        want = {(f"{OPERATOR}error_type_deadLetters", (("error_type", kind),)): float(n) for kind, n in letters.items()}
        want |= {(f"{OPERATOR}clicksApplied", ()): float(outcome.applied),
                 (f"{OPERATOR}clicksDuplicate", ()): float(outcome.duplicates)}  # fmt: skip
        got: dict = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                got = scrape(port)
            except OSError:  # the reporter starts with the mini-cluster
                got = {}
            if all(got.get(k) == v for k, v in want.items()):
                break
            time.sleep(2)
        assert {k: got.get(k) for k in want} == want
        assert not [k for k in got if k[0] == f"{OPERATOR}error_type_deadLetters" and k not in want]
        time.sleep(3)  # the last flush timers (100 ms) have fired: the snapshot count is final
        snapshots = scrape(port)[(f"{OPERATOR}snapshots", ())]
        assert snapshots >= len(reference.users)  # coalesced: at least one per user
        assert len(read_messages(kafka.bootstrap_servers, f"{name}-snap", int(snapshots))) == snapshots
        assert scrape(port)[("flink_jobmanager_job_numRestarts", ())] == 0
    finally:
        job.cancel()
