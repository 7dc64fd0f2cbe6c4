"""Backfilling a real history: every user's online features equal what the CSV says, and the offline copies match."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from feature_store.offline import parquet_log
from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from sources.datasets import load
from streaming.backfill import backfill

pytestmark = pytest.mark.integration


def test_backfill_matches_the_csv_for_every_user(redis_client: redis.Redis, datasets_dir: Path, tmp_path: Path) -> None:
    source = load("taobao-head", datasets_dir)
    stats = backfill(source, OnlineWriter(redis_client, USER_REALTIME), tmp_path, batch_size=1_000)
    assert (stats.events, stats.users, stats.late, stats.duplicates) == (4321, 43, 0, 0)

    expected: dict[int, list[tuple[int, int, int, str]]] = {}  # straight from the file, independent of the loaders
    with open(datasets_dir / "taobao/UserBehavior_head4321_fattydelivery.csv") as f:
        for row_number, (user, item, _category, behavior, ts) in enumerate(csv.reader(f)):
            expected.setdefault(int(user), []).append((int(ts) * 1000, row_number, int(item), behavior))
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})  # 2017 data
    batch = reader.read_many(sorted(expected))
    for vector in batch:
        events = sorted(expected[vector.entity_id])
        row = vector["user_realtime"]
        assert row.status == "present"
        assert row.values["item_ids"].tolist() == [e[2] for e in events[-50:]]
        assert row.values["event_times"].tolist() == [e[0] for e in events[-50:]]
        assert row.values["count_pv"] == sum(e[3] == "pv" for e in events)
        assert row.values["count_buy"] == sum(e[3] == "buy" for e in events)
        assert row.event_time == events[-1][0]

    assert parquet_log.read(tmp_path / "events").num_rows == 4321
    offline = parquet_log.read(tmp_path / "user_realtime")
    assert offline.num_rows == stats.snapshots and set(offline["user_id"].to_pylist()) == set(expected)
