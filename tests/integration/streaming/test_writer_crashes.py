"""The snapshot writer killed (SIGKILL) right after each of its steps in turn: Redis written, feature-updates
acknowledged, the batch gathered for parquet, a parquet part written, offsets committed. Each restart replays the batch it died in. At the end every user's
online version is its newest in the input, every user's newest snapshot has its feature-update and its offline row,
and no offline row is there twice (the parquet step skips what a part already holds)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest
import redis

from feature_store.offline import parquet_log
from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import create_topics, ordered_producer
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from schemas.codec import AvroCodec
from tests.integration.streaming.dying_writer import STEPS
from tests.integration.streaming.job_output import read_messages
from tests.integration.streaming.test_snapshot_writer import SNAPSHOTS, snapshot

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
USERS, VERSIONS, BATCH = 400, 5, 300


def test_writer_killed_after_each_step_loses_and_repeats_nothing(
    kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, tmp_path: Path
) -> None:
    name = f"wcrash-{uuid.uuid4().hex[:8]}"
    topics = {"snapshots": name, "updates": f"{name}-upd", "dlq": f"{name}-dlq"}
    create_topics(kafka.bootstrap_servers, list(topics.values()))
    newest = {u: 1_700_000_000_000 + VERSIONS * u for u in range(1, USERS + 1)}
    producer = ordered_producer(kafka.bootstrap_servers)
    for k in range(VERSIONS):  # each user's versions spread over the topic: batches coalesce some, not all
        for user in newest:
            value = SNAPSHOTS.encode(snapshot(user, newest[user] - VERSIONS + 1 + k))
            producer.produce(name, value, json.dumps({"user_id": user}).encode())
    assert producer.flush(30) == 0

    config = {"bootstrap": kafka.bootstrap_servers, "redis_host": redis_server.host, "redis_port": redis_server.port,
              "offline_dir": str(tmp_path), "group": f"w-{name}", "batch_size": BATCH, **topics}  # fmt: skip
    for step in (*STEPS, None):
        run = subprocess.run([sys.executable, "-m", "tests.integration.streaming.dying_writer",
                              json.dumps({**config, "die_after": step, "batch": 2})],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == (-9 if step else 0), (step, run.stderr[-2000:])

    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    assert {v.entity_id: v["user_realtime"].version for v in reader.read_many(list(newest))} == newest
    offline = parquet_log.read(tmp_path / USER_REALTIME.name)
    rows = Counter(zip(offline["user_id"].to_pylist(), offline["version"].to_pylist()))
    assert max(rows.values()) == 1, [row for row, n in rows.items() if n > 1][:5]
    assert all(rows[(u, v)] == 1 for u, v in newest.items())
    assert pc.max(offline["version"]).as_py() == max(newest.values())
    codec = AvroCodec("feature_update")
    updates = {(u["user_id"], u["version"]) for u in map(codec.decode, (m.value() for m in
               read_messages(kafka.bootstrap_servers, topics["updates"], USERS)))}  # fmt: skip
    assert all((u, v) in updates for u, v in newest.items())
