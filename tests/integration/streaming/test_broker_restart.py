"""The Kafka broker killed (SIGKILL) in the middle of a 110,300-event replay through `freshrec stream run` and
restarted on its data: the job and the writer ride it out (no restart of theirs), and every user ends equal to the
ground truth from the CSV."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest
import redis

from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from infra.config import KafkaSettings, load_settings
from infra.stack.kafka import LocalKafka
from infra.stack.process import free_port
from sources.datasets import load
from tests.fixtures.processes import kill9
from tests.integration.streaming.live_job import LiveJob
from tests.integration.streaming.slice_truth import all_match, produce

pytestmark = pytest.mark.integration


def test_broker_killed_mid_replay_and_restarted_loses_nothing(
    redis_server: RedisEndpoint, redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path
) -> None:
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    broker = LocalKafka(KafkaSettings(port=free_port(), controller_port=free_port(), heap="512m"), tmp_path,
                        load_settings().cache_dir)  # fmt: skip
    broker.start()
    kafka = KafkaEndpoint(broker.bootstrap_servers, "local", "")
    job = LiveJob(f"broker-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path)
    half = table.num_rows // 2
    job.launch()
    try:
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(0, half))
        job.wait(lambda: redis_client.dbsize() > 10_000, 180, "part of the first half stored")
        kill9(broker.process)
        time.sleep(5)
        broker.start()
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(half))

        job.wait(all_match(redis_client, table), 420, "every user equal")
    finally:
        if job.process is not None:
            job.stop(signal.SIGTERM)
        broker.stop()
    assert job.launches == 1
