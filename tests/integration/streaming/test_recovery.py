"""`freshrec stream run` killed (SIGKILL, whole process group) mid-replay and restarted: it resumes from its newest
checkpoint and, once the replay is finished, every user of the 110,300-event Taobao slice has exactly the sequence and
counts computed straight from the CSV: no event lost, none applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import redis
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from streaming.flink.checkpoints import latest_checkpoint
from streaming.replay import produce_all, user_keys
from streaming.sources.datasets import load
from tests.fixtures.kafka import ordered_producer
from tests.fixtures.services import KafkaEndpoint, RedisEndpoint

pytestmark = pytest.mark.integration
BEHAVIORS = ("PV", "CART", "FAV", "BUY")


def _truth(table: pa.Table) -> dict[int, dict]:
    """Per user, from the CSV rows alone (time-ordered, ties in file order): the last 50 items and all-time counts."""
    users: dict[int, dict] = defaultdict(lambda: {"items": [], "counts": dict.fromkeys(BEHAVIORS, 0)})
    for user, item, behavior in zip(*(table.column(c).to_pylist() for c in ("user_id", "item_id", "behavior"))):
        users[user]["items"].append(item)
        users[user]["counts"][behavior] += 1
    return {user: {"items": u["items"][-50:], "counts": u["counts"]} for user, u in users.items()}


def _produce(bootstrap: str, topic: str, table: pa.Table) -> None:
    producer = ordered_producer(bootstrap)
    schema = default_registry().latest("click_event")
    for batch in table.to_batches(20_000):
        part = pa.Table.from_batches([batch])
        produce_all(producer, topic, encode_batch(schema, part).rows(), user_keys(part))
    assert producer.flush(60) == 0


def _committed_all(bootstrap: str, topic: str, group: str, expected: int) -> bool:
    """The job commits its source offsets on each completed checkpoint: all `expected` events are in a checkpoint."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    offsets = consumer.committed([TopicPartition(topic, p) for p in range(2)], timeout=10)
    consumer.close()
    return sum(max(o.offset, 0) for o in offsets) >= expected


def _wait(condition, seconds: float, what: str, process: subprocess.Popen | None = None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert process is None or process.poll() is None, f"the job exited while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_killed_job_resumes_from_its_checkpoint_without_loss_or_duplicates(
    kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path
) -> None:
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    assert table.num_rows == 110_300
    name = f"recovery-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    topics = {"clicks": name, "dlq": f"{name}-dlq", "snap": f"{name}-snap", "upd": f"{name}-upd"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.values()]).values():
        future.result(30)
    host, port = kafka.bootstrap_servers.rsplit(":", 1)
    env = {**os.environ, "FRESHREC_KAFKA__HOST": host, "FRESHREC_KAFKA__PORT": port,
           "FRESHREC_REDIS__HOST": redis_server.host, "FRESHREC_REDIS__PORT": str(redis_server.port),
           "FRESHREC_TOPICS__CLICKS": topics["clicks"], "FRESHREC_TOPICS__DEAD_LETTER": topics["dlq"],
           "FRESHREC_TOPICS__FEATURE_UPDATES": topics["upd"], "FRESHREC_FEATURE_REPO": str(tmp_path / "repo")}  # fmt: skip
    group, checkpoints = f"job-{name}", tmp_path / "checkpoints"
    command = [str(Path(sys.executable).parent / "freshrec"), "stream", "run", "--group", group,
               "--snapshot-topic", topics["snap"], "--checkpoint-dir", str(checkpoints)]  # fmt: skip

    def launch(log: str) -> subprocess.Popen:
        with open(tmp_path / log, "w") as out:
            return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    first, second = 44_000, 77_000
    job = launch("first.log")
    try:
        _produce(kafka.bootstrap_servers, name, table.slice(0, first))
        _wait(lambda: _committed_all(kafka.bootstrap_servers, name, group, first), 180, "a checkpoint of part 1", job)
        _produce(kafka.bootstrap_servers, name, table.slice(first, second - first))
        time.sleep(1.0)  # part 2 is being processed: some of it applied, not yet checkpointed
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(30)
    resumed_from = latest_checkpoint(checkpoints)
    assert resumed_from is not None

    job = launch("second.log")
    try:
        _produce(kafka.bootstrap_servers, name, table.slice(second))
        truth = _truth(table)
        reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
        users = sorted(truth)

        def all_written() -> bool:
            vectors = reader.read_many(users)
            return all(v["user_realtime"].status == "present" and
                       v["user_realtime"].values["item_ids"].tolist() == truth[v.entity_id]["items"] for v in vectors)  # fmt: skip

        _wait(all_written, 240, "every user's features", job)
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(60)
    assert f"resumed from {resumed_from}" in (tmp_path / "second.log").read_text()
    for vector in reader.read_many(users):
        got, want = vector["user_realtime"].values, truth[vector.entity_id]
        assert got["item_ids"].tolist() == want["items"], vector.entity_id
        assert {b: got[f"count_{b.lower()}"] for b in BEHAVIORS} == want["counts"], vector.entity_id
