"""The hostile stream (adversarial.py) through `freshrec stream run`, live, killed with SIGKILL three times, each time
after a completed checkpoint and while the next part is in flight, then the whole topic produced again. Every user's
online features end equal to the reference's over the input (the second pass applies nothing: counts unchanged), and
the dead letters, once the at-least-once sink's repeats are folded by their source offset, are exactly the rejected,
late and future records, and the event log holds every click the reference applied exactly once (no repeat from a
replayed part of the stream, none from the second pass). Late and duplicate events straddle each restore: a job that
judged lateness against a watermark rebuilt from nothing after the restore would apply them."""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from confluent_kafka import Producer

from feature_store.offline import event_log
from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.flink.checkpoints import TMP
from streaming.state.user_state import BehaviorState
from tests.integration.streaming import adversarial
from tests.integration.streaming.job_output import OnlineReference, read_letters
from tests.integration.streaming.live_job import LiveJob

pytestmark = pytest.mark.integration


def _produce(producer: Producer, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    for key, value in records:
        producer.produce(topic, value, key)
    assert producer.flush(60) == 0


def _logged(offline: Path) -> int:
    try:
        return event_log.read(offline).num_rows
    except FileNotFoundError:
        return 0


def test_three_crashes_and_a_full_replay_leave_every_user_exact(
    kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path
) -> None:
    history = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    stream = adversarial.build(history, seed=11)
    twice = adversarial.Stream(stream.records * 2, stream.valid * 2, stream.rejected * 2)
    codec, reference = AvroCodec("click_event"), BehaviorState()
    expected = twice.expected_letters(reference, codec)
    once = BehaviorState()
    applied = once.apply(stream.valid)[0].applied_ids
    assert all(once.snapshot(u) == reference.snapshot(u) for u in once.users)  # the replay changes no user

    roll = {"FRESHREC_STREAM__EVENT_LOG_ROLL_MS": "1000"}  # parts close within the test's time
    job = LiveJob(f"crashes-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path, env=roll)
    offline = tmp_path / "repo" / "data" / "offline"
    producer, clicks = ordered_producer(kafka.bootstrap_servers), job.topics["clicks"]
    n = len(stream.records)
    cuts = [0, n // 4, n // 2, 3 * n // 4, n]
    job.launch()
    try:
        _produce(producer, clicks, stream.records[: cuts[1]])
        for crash in range(3):
            produced = cuts[crash + 1]
            job.wait(lambda p=produced: job.committed() >= p, 180, f"a checkpoint before crash {crash + 1}")
            _produce(producer, clicks, stream.records[produced : cuts[crash + 2]])
            time.sleep(1.0)  # the next part is being applied, not yet checkpointed
            job.stop()
            job.launch()
        _produce(producer, clicks, stream.records)  # the whole topic once more

        online = OnlineReference(redis_client, reference)
        job.wait(online.final_versions, 300, "every user's final version")
        # the killed runs' Flink temp files went at the restarts: only the running mini-cluster's RPC jar is left
        assert len(list((job.checkpoints / TMP).glob("flink-rpc-akka*.jar"))) == 1
        job.wait(lambda: job.committed() >= 2 * n, 120, "a checkpoint of the whole input")
        job.wait(lambda: _logged(offline) >= len(applied), 120, "the event log's last parts")
    finally:
        job.stop(signal.SIGTERM)
    assert all(f"resumed from {job.checkpoints}" in job.log(i).read_text() for i in (2, 3, 4))
    assert online.differing() == {}

    assert Counter(event_log.read(offline)["event_id"].to_pylist()) == Counter(applied)

    letters = read_letters(kafka.bootstrap_servers, job.topics["dlq"], sum(expected.values()))
    folded = {(letter["partition"], letter["offset"]): letter for letter in letters}
    assert Counter((letter["error_type"], letter["payload"]) for letter in folded.values()) == expected
