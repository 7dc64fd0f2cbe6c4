"""`freshrec stream run` killed (SIGKILL, whole process group) mid-replay and restarted: it resumes from its newest
checkpoint and, once the replay is finished, every user of the 110,300-event Taobao slice has exactly the sequence and
counts computed straight from the CSV: no event lost, none applied twice."""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from streaming.flink.checkpoints import latest_checkpoint
from streaming.replay import produce_all, user_keys
from streaming.sources.datasets import load
from tests.fixtures.kafka import ordered_producer
from tests.fixtures.services import KafkaEndpoint, RedisEndpoint
from tests.integration.streaming.live_job import LiveJob

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


def test_killed_job_resumes_from_its_checkpoint_without_loss_or_duplicates(
    kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path
) -> None:
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    assert table.num_rows == 110_300
    job = LiveJob(f"recovery-{os.getpid()}-{time.monotonic_ns() % 10**6}", kafka, redis_server, tmp_path)
    first, second = 44_000, 77_000
    job.launch()
    try:
        _produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(0, first))
        job.wait(lambda: job.committed() >= first, 180, "a checkpoint of part 1")
        _produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(first, second - first))
        time.sleep(1.0)  # part 2 is being processed: some of it applied, not yet checkpointed
    finally:
        job.stop()
    resumed_from = latest_checkpoint(job.checkpoints)
    assert resumed_from is not None

    job.launch()
    try:
        _produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(second))
        truth = _truth(table)
        reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
        users = sorted(truth)

        def all_written() -> bool:
            vectors = reader.read_many(users)
            return all(v["user_realtime"].status == "present" and
                       v["user_realtime"].values["item_ids"].tolist() == truth[v.entity_id]["items"] for v in vectors)  # fmt: skip

        job.wait(all_written, 240, "every user's features")
    finally:
        job.stop(signal.SIGTERM)
    assert f"resumed from {resumed_from}" in job.log(2).read_text()
    for vector in reader.read_many(users):
        got, want = vector["user_realtime"].values, truth[vector.entity_id]
        assert got["item_ids"].tolist() == want["items"], vector.entity_id
        assert {b: got[f"count_{b.lower()}"] for b in BEHAVIORS} == want["counts"], vector.entity_id
