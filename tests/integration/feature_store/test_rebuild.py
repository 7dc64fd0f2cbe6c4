"""The online store refilled from the offline snapshot log on real Redis: each user's newest snapshot of every view
(several versions per user, spread over parts, in no order), nothing newer overwritten, idempotent; the guard
rebuilds only when the store's marker is gone."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from feature_store.offline import parquet_log
from feature_store.online.reader import OnlineReader
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.rebuild import StoreGuard, rebuild
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_INTENT, USER_REALTIME
from tests.fixtures.redis import STORES, server_or_cluster

pytestmark = pytest.mark.integration
T0 = 1_700_000_000_000
FOREVER = {USER_REALTIME.name: timedelta(days=10**5), USER_INTENT.name: timedelta(days=10**5)}
redis_client = pytest.fixture(params=STORES, name="redis_client")(server_or_cluster)


def _intent(user: int, day: int) -> dict:
    return {"user_id": user, "event_time": T0 + day * 86_400_000, "tags": [f"t{user}-{day}"], "tag_scores": [0.5],
            "tag_categories": [user % 7],            "grade": "A", "model_version": "m", "prompt_version": "p", "intent_date": f"2023-11-{day + 10:02d}"}  # fmt: skip


def _offline_log(directory: Path) -> tuple[dict[int, int], dict[int, str]]:
    """Parts holding 1-4 versions of each of 300 users (and 2 intent days of 100), shuffled; the newest of each."""
    rng = random.Random(5)
    rows = [sample_realtime_row(u, T0 + 10 * k + u, n=1 + k, seed=u * 10 + k) for u in range(1, 301) for k in range(rng.randint(1, 4))]
    rng.shuffle(rows)
    for start in range(0, len(rows), 97):
        table = rows_to_table(USER_REALTIME, rows[start : start + 97])
        parquet_log.append_snapshots(directory, USER_REALTIME, table)
    intents = [_intent(u, day) for day in (1, 2) for u in range(1, 101)]
    for day in (2, 1):  # the newer day's part first: order of parts must not matter
        parquet_log.append_snapshots(directory, USER_INTENT, rows_to_table(USER_INTENT, [r for r in intents if r["event_time"] == T0 + day * 86_400_000]))
    newest: dict[int, int] = {}
    for row in rows:
        newest[row["user_id"]] = max(newest.get(row["user_id"], 0), row["version"])
    return newest, {u: f"t{u}-2" for u in range(1, 101)}


def _writers(client: redis.Redis) -> dict[str, OnlineWriter]:
    return {view.name: OnlineWriter(client, view) for view in (USER_REALTIME, USER_INTENT)}


def test_rebuild_writes_each_users_newest_and_is_idempotent(redis_client: redis.Redis, tmp_path: Path) -> None:
    newest, tags = _offline_log(tmp_path)
    newer = sample_realtime_row(7, T0 + 10**6, seed=1)  # written online after the log: must survive the rebuild
    OnlineWriter(redis_client, USER_REALTIME).write([newer])

    results = rebuild(_writers(redis_client), tmp_path)
    assert (results[USER_REALTIME.name].applied, results[USER_REALTIME.name].stale) == (299, 1)
    assert results[USER_INTENT.name].applied == 100
    reader = OnlineReader(redis_client, [USER_REALTIME, USER_INTENT], max_age=FOREVER)
    for vector in reader.read_many(list(newest)):
        realtime = vector[USER_REALTIME.name]
        assert realtime.version == (newer["version"] if vector.entity_id == 7 else newest[vector.entity_id])
        intent = vector[USER_INTENT.name]
        if vector.entity_id in tags:
            assert intent.values["tags"] == [tags[vector.entity_id]]
        else:
            assert intent.status == "missing"

    again = rebuild(_writers(redis_client), tmp_path)
    assert (again[USER_REALTIME.name].applied, again[USER_INTENT.name].applied) == (299, 100)  # same versions, same values
    assert [v[USER_REALTIME.name].version for v in reader.read_many(list(newest))] == \
        [newer["version"] if u == 7 else newest[u] for u in newest]  # fmt: skip


def test_guard_rebuilds_only_a_store_that_lost_its_marker(redis_client: redis.Redis, tmp_path: Path) -> None:
    newest, _ = _offline_log(tmp_path)
    guard = StoreGuard(redis_client, tmp_path, _writers(redis_client))
    assert guard.ensure() is not None and redis_client.exists(*guard.marker_keys()) == len(guard.marker_keys())
    assert guard.ensure() is None  # filled: one EXISTS, nothing written
    lost = redis_client.get_primaries()[-1].redis_connection if isinstance(redis_client, RedisCluster) else redis_client
    lost.flushall()  # the store (on a cluster: one master, its replica following) lost everything
    assert guard.ensure()[USER_REALTIME.name].applied == len(newest)
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age=FOREVER)
    assert {v.entity_id: v[USER_REALTIME.name].version for v in reader.read_many(list(newest))} == newest


def test_guard_over_an_empty_log_marks_the_store(redis_client: redis.Redis, tmp_path: Path) -> None:
    guard = StoreGuard(redis_client, tmp_path, _writers(redis_client))
    assert guard.ensure() == {}
    assert redis_client.exists(*guard.marker_keys()) == len(guard.marker_keys()) >= (3 if isinstance(redis_client, RedisCluster) else 1)
