"""Point-in-time training sets on real Taobao histories: no example sees its label or anything later."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_store.offline import parquet_log, training_set
from feature_store.online.validation import rows_to_table
from feature_store.views import BEHAVIOR_CODES, INTEREST_DIM, INTEREST_SLOTS, SEQUENCE_LENGTH, USER_REALTIME
from sources.datasets import load

pytestmark = pytest.mark.integration


def _coalesced_snapshots(events: list[dict]) -> list[dict]:
    """One user_realtime snapshot per (user, event time), after every event at that time (test reference)."""
    history: dict[int, list[dict]] = {}
    snapshots: dict[tuple[int, int], dict] = {}
    for e in events:
        seq = history.setdefault(e["user_id"], [])
        seq.append(e)
        last = seq[-SEQUENCE_LENGTH:]
        counts = {b: sum(x["behavior"] == b for x in seq) for b in BEHAVIOR_CODES}
        snapshots[(e["user_id"], e["event_time"])] = {
            "user_id": e["user_id"], "event_time": e["event_time"], "version": e["event_time"],
            "item_ids": [x["item_id"] for x in last], "category_ids": [x["category_id"] for x in last],
            "behaviors": [BEHAVIOR_CODES[x["behavior"]] for x in last], "event_times": [x["event_time"] for x in last],
            "count_pv": counts["PV"], "count_cart": counts["CART"], "count_fav": counts["FAV"], "count_buy": counts["BUY"],
            "sid_codes": b"", "sid_version": "", "interest": [0.0] * (INTEREST_SLOTS * INTEREST_DIM),
            "top_categories": [], "summary": "",
        }  # fmt: skip
    return list(snapshots.values())


@pytest.fixture
def taobao_store(feast_store, datasets_dir: Path):  # noqa: ANN001, ANN201
    events = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    snapshots = _coalesced_snapshots(events)
    offline = Path(feast_store.repo_path) / "data/offline/user_realtime"
    for start in range(0, len(snapshots), 1000):  # several part files, as the streaming job appends them
        parquet_log.append(offline, parquet_log.snapshots_table(USER_REALTIME, rows_to_table(USER_REALTIME, snapshots[start : start + 1000]), 0))
    labels = pd.DataFrame({"user_id": [e["user_id"] for e in events], "label_time": [e["event_time"] for e in events],
                           "label_item": [e["item_id"] for e in events]})  # fmt: skip
    return feast_store, events, labels


def test_no_future_leakage_and_exact_history(taobao_store) -> None:  # noqa: ANN001
    store, events, labels = taobao_store
    result = training_set.build(store, labels)
    assert training_set.leaked_rows(result).empty
    by_user: dict[int, list[dict]] = {}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    checked = 0
    for row in result.itertuples():
        before = [e for e in by_user[row.user_id] if e["event_time"] < row.label_time][-SEQUENCE_LENGTH:]
        assert list(row.item_ids) == [e["item_id"] for e in before]
        checked += 1
    ttl_ms = USER_REALTIME.ttl.total_seconds() * 1000

    def has_recent_snapshot(e: dict) -> bool:
        prior = [x["event_time"] for x in by_user[e["user_id"]] if x["event_time"] < e["event_time"]]
        return bool(prior) and max(prior) >= e["event_time"] - 1 - ttl_ms

    expected = sum(map(has_recent_snapshot, events))
    assert checked == expected  # a label gets features iff the user has a snapshot within the view's ttl before it


def test_joining_at_the_label_time_itself_would_leak(taobao_store) -> None:  # noqa: ANN001
    store, _, labels = taobao_store
    entity_df = labels.assign(event_timestamp=pd.to_datetime(labels["label_time"], unit="ms", utc=True))
    naive = store.get_historical_features(entity_df=entity_df, features=["user_realtime:event_times"]).to_df()
    assert len(training_set.leaked_rows(naive)) > 1000  # the check catches it; `build` avoids it with label_time - 1 ms


def test_event_log_parts_round_trip(tmp_path: Path, datasets_dir: Path) -> None:
    table = load("taobao-head", datasets_dir).table  # type: ignore[attr-defined]
    log = table.append_column("event_timestamp", table["event_time"].cast(parquet_log.TIMESTAMP))
    for start in range(0, log.num_rows, 2000):
        parquet_log.append(tmp_path / "events", log.slice(start, 2000))
    assert len(list((tmp_path / "events").glob("part-2017-*.parquet"))) == 3
    back = parquet_log.read(tmp_path / "events").sort_by("event_id")
    assert back.equals(log.sort_by("event_id"))
    assert np.all(back["event_time"].to_numpy() > 0)
