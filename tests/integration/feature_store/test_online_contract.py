"""Contract, both directions, on real Redis, a server and a cluster: what the codec writes Feast reads back exactly,
and vice versa."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import redis
from feast.data_source import PushMode

from feature_store.online.reader import OnlineReader
from feature_store.online.validation import FeatureValidationError
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row as realtime_row
from feature_store.views import ITEM, USER_INTENT, USER_REALTIME, ViewSpec
from tests.fixtures.redis import STORES, server_or_cluster

pytestmark = pytest.mark.integration
NOW = int(time.time() * 1000)


redis_client = pytest.fixture(params=STORES, name="redis_client")(server_or_cluster)
"""Every test on one server and again on a Redis Cluster (Feast's `redis_type: redis_cluster` too)."""


def _intent_row(user_id: int, event_time: int) -> dict:
    return {
        "user_id": user_id, "event_time": event_time, "tags": ["waterproof hiking boots", "夏季 连衣裙"],
        "tag_scores": [0.9, 0.25], "tag_categories": [17, 4_000_000_001], "grade": "A", "model_version": "gemma-3-270m-q4", "prompt_version": "p3",
        "intent_date": "2026-11-21",
    }  # fmt: skip


def _item_row(item_id: int, event_time: int) -> dict:
    return {"item_id": item_id, "event_time": event_time, "category_id": 4021, "attribute_ids": [4021, 7, item_id],
            "title": f"Movie {item_id} (1995). Drama, Comedy"}  # fmt: skip


def _sdk_read(store, view: ViewSpec, ids: list[int]) -> list[dict]:  # noqa: ANN001
    result = store.get_online_features(
        features=[f"{view.name}:{f}" for f in view.field_names], entity_rows=[{view.join_key: i} for i in ids]
    ).to_dict()
    return [{f: result[f][k] for f in view.field_names} for k in range(len(ids))]


def _expected(view: ViewSpec, row: dict) -> dict:
    """Row values as Feast returns them: lists of Python scalars, float32 precision for floats."""
    out = {}
    for spec in view.fields:
        value = row[spec.name]
        if spec.dtype == "float32[]":
            value = np.asarray(value, dtype=np.float32).tolist()
        out[spec.name] = value
    return out


@pytest.mark.parametrize(
    "view, make_row",
    [(USER_REALTIME, lambda i: realtime_row(i, NOW - i, seed=i)), (USER_INTENT, lambda i: _intent_row(i, NOW)),
     (ITEM, lambda i: _item_row(i, NOW))],
    ids=["user_realtime", "user_intent", "item"],
)  # fmt: skip
def test_codec_writes_feast_reads_exactly(feast_store, redis_client: redis.Redis, view: ViewSpec, make_row) -> None:  # noqa: ANN001
    rows = [make_row(i) for i in range(1, 21)]
    assert OnlineWriter(redis_client, view).write(rows).applied == 20
    sdk = _sdk_read(feast_store, view, [r[view.join_key] for r in rows] + [999_999])
    assert sdk[:20] == [_expected(view, r) for r in rows]
    assert all(v is None for v in sdk[20].values())


def test_feast_writes_codec_reads_exactly(feast_store, redis_client: redis.Redis) -> None:  # noqa: ANN001
    rows = [realtime_row(i, NOW - 5_000 + i, seed=100 + i) for i in range(1, 11)]
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "event_time"} for r in rows])
    frame["event_timestamp"] = [datetime.fromtimestamp(r["event_time"] / 1000, timezone.utc) for r in rows]
    frame["created"] = frame["event_timestamp"]
    feast_store.write_to_online_store("user_realtime", frame.iloc[:5])
    feast_store.push("user_realtime_push", frame.iloc[5:], to=PushMode.ONLINE)
    intents = pd.DataFrame([{k: v for k, v in _intent_row(i, 0).items() if k != "event_time"} for i in range(1, 4)])
    intents["event_timestamp"] = intents["created"] = datetime.fromtimestamp((NOW - 60_000) / 1000, timezone.utc)
    feast_store.write_to_online_store("user_intent", intents)

    vectors = OnlineReader(redis_client, [USER_REALTIME, USER_INTENT]).read_many([r["user_id"] for r in rows])
    for row, vector in zip(rows, vectors):
        realtime = vector["user_realtime"]
        assert realtime.status == "present" and realtime.event_time == row["event_time"]
        got = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in realtime.values.items()}
        assert got == _expected(USER_REALTIME, row)
        assert realtime.values["item_ids"].dtype == np.int64 and realtime.values["interest"].dtype == np.float32
    assert vectors[0]["user_intent"].values["tags"] == ["waterproof hiking boots", "夏季 连衣裙"]
    assert vectors[5]["user_intent"].status == "missing"


def test_two_snapshots_in_the_same_second_newest_wins_for_both_readers(feast_store, redis_client: redis.Redis) -> None:  # noqa: ANN001
    second = (NOW // 1000) * 1000
    older = realtime_row(7, second + 100, version=second + 100, seed=1)
    newer = realtime_row(7, second + 900, version=second + 900, seed=2)
    writer = OnlineWriter(redis_client, USER_REALTIME)
    assert writer.write([older]).applied == 1
    assert writer.write([newer]).applied == 1
    assert writer.write([older]).stale == 1  # a late, older snapshot never overwrites the newer one
    assert _sdk_read(feast_store, USER_REALTIME, [7])[0] == _expected(USER_REALTIME, newer)
    codec = OnlineReader(redis_client, [USER_REALTIME]).read(7)["user_realtime"]
    assert codec.version == second + 900 and codec.values["item_ids"].tolist() == newer["item_ids"]


def test_same_user_twice_in_one_batch_keeps_the_newer(redis_client: redis.Redis) -> None:
    a, b = realtime_row(3, NOW, version=NOW + 2, seed=3), realtime_row(3, NOW, version=NOW + 1, seed=4)
    result = OnlineWriter(redis_client, USER_REALTIME).write([a, b])
    assert (result.applied, result.stale) == (1, 1)
    assert OnlineReader(redis_client, [USER_REALTIME]).read(3)["user_realtime"].version == NOW + 2


def test_invalid_row_rejects_the_whole_batch_before_writing(redis_client: redis.Redis) -> None:
    rows = [realtime_row(i, NOW, seed=i) for i in range(1, 6)]
    rows[3]["interest"] = rows[3]["interest"][:10]
    with pytest.raises(FeatureValidationError, match=r"user_id=4\]\.interest: length 10, expected exactly 64"):
        OnlineWriter(redis_client, USER_REALTIME).write(rows)
    assert not list(redis_client.scan_iter())  # every node (a cluster client scans each master)


def test_max_age_is_enforced_at_read_time_unlike_feast(feast_store, redis_client: redis.Redis) -> None:  # noqa: ANN001
    ten_days_ago = NOW - 10 * 86_400_000
    OnlineWriter(redis_client, USER_REALTIME).write([realtime_row(9, ten_days_ago, seed=9)])
    assert OnlineReader(redis_client, [USER_REALTIME]).read(9)["user_realtime"].status == "expired"  # ttl = 7 days
    from datetime import timedelta

    lenient = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=30)})
    assert lenient.read(9)["user_realtime"].status == "present"
    assert _sdk_read(feast_store, USER_REALTIME, [9])[0]["item_ids"] is not None  # Feast ignores its own ttl online


def test_optional_expire_on_the_user_hash(redis_client: redis.Redis) -> None:
    writer = OnlineWriter(redis_client, USER_REALTIME, key_ttl_seconds=3600)
    writer.write([realtime_row(11, NOW)])
    key = writer.layout.redis_key(11)
    assert 3500 < redis_client.ttl(key) <= 3600


def test_pipelined_batches_apply_in_order_even_after_a_script_flush(feast_store, redis_client: redis.Redis) -> None:  # noqa: ANN001
    from feature_store.online.validation import rows_to_table

    writer = OnlineWriter(redis_client, USER_REALTIME)
    batches = [rows_to_table(USER_REALTIME, [realtime_row(u, NOW, version=NOW + b, seed=b) for u in range(1, 51)]) for b in range(5)]
    redis_client.script_flush()
    result = writer.write_tables(batches)
    assert (result.applied, result.stale) == (250, 0)
    newest = [realtime_row(u, NOW, version=NOW + 4, seed=4) for u in range(1, 51)]
    assert _sdk_read(feast_store, USER_REALTIME, list(range(1, 51))) == [_expected(USER_REALTIME, r) for r in newest]
