"""A three-broker Kafka cluster (KRaft, a quorum of all three; topics replicated three times, two in sync required,
producers acks=all): one broker killed with SIGKILL in the middle of the 110,300-event Taobao replay through
`freshrec stream run` stays down while the second half is produced; the producer sees no error, the job and the
writer ride it out (no restart of theirs), and every user ends equal to the ground truth from the CSV."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from infra.config import KafkaSettings, load_settings
from infra.stack.kafka import LocalKafkaCluster
from infra.stack.process import free_port_block
from sources.datasets import load
from tests.fixtures.processes import kill9
from tests.integration.streaming.live_job import LiveJob
from tests.integration.streaming.slice_truth import all_match, produce

pytestmark = pytest.mark.integration


def test_one_broker_of_three_killed_mid_replay_loses_nothing(
    redis_server: RedisEndpoint, redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path
) -> None:
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    base = free_port_block(6)  # three brokers, each a listener and a controller port
    cluster = LocalKafkaCluster(KafkaSettings(port=base, controller_port=base + 1, heap="512m", brokers=3), tmp_path,
                                load_settings().cache_dir)  # fmt: skip
    cluster.start()
    kafka = KafkaEndpoint(cluster.bootstrap_servers, "local", "")
    job = LiveJob(f"cluster-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path,
                  env={"FRESHREC_KAFKA__SERVERS": cluster.bootstrap_servers})  # fmt: skip
    clicks = job.topics["clicks"]
    described = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(clicks, timeout=10).topics[clicks]
    assert all(len(p.replicas) == 3 for p in described.partitions.values())
    half = table.num_rows // 2
    job.launch()
    try:
        produce(kafka.bootstrap_servers, clicks, table.slice(0, half // 2))
        job.wait(lambda: redis_client.dbsize() > 5_000, 180, "part of the first quarter stored")
        kill9(cluster.nodes[1].process)  # while the rest is produced, and it stays down
        produce(kafka.bootstrap_servers, clicks, table.slice(half // 2))

        job.wait(all_match(redis_client, table), 420, "every user equal")
    finally:
        if job.process is not None:
            job.stop(signal.SIGTERM)
        cluster.stop()
    assert job.launches == 1
