"""The writer's batch parse: the job's JSON snapshots, newest per user, typed as the online view."""

from __future__ import annotations

import json

import numpy as np

from feature_store.online.validation import validate
from feature_store.views import USER_REALTIME
from streaming.snapshot_writer import ONLINE_SCHEMA, snapshots_table
from streaming.state.representation import ArraySemanticIds


def _snapshot(user: int, version: int, items: list[int]) -> bytes:
    state = {"item_ids": items, "category_ids": [7] * len(items), "behaviors": [0] * len(items),
             "event_times": [version - 1] * len(items), "count_pv": len(items), "count_cart": 0, "count_fav": 0,
             "count_buy": 0, "interest": [0.25] * 64, "top_categories": [7], "summary": f"u{user}",
             "event_time": version - 1, "version": version}  # fmt: skip
    return json.dumps({"user_id": user, "s": state}).encode()


def test_newest_snapshot_per_user_whatever_the_order() -> None:
    values = [_snapshot(1, 105, [1, 2]), _snapshot(2, 50, [9]), _snapshot(1, 101, [1]), _snapshot(1, 107, [1, 2, 3])]
    table = snapshots_table(values)
    assert table.schema == ONLINE_SCHEMA
    validate(USER_REALTIME, table)
    rows = {r["user_id"]: r for r in table.to_pylist()}
    assert set(rows) == {1, 2} and table.num_rows == 2
    assert rows[1]["version"] == 107 and rows[1]["item_ids"] == [1, 2, 3] and rows[1]["event_time"] == 106
    assert rows[2]["summary"] == "u2" and rows[2]["interest"] == [0.25] * 64 and rows[2]["sid_codes"] == b""


def test_no_snapshots_is_an_empty_batch() -> None:
    assert snapshots_table([]).num_rows == 0


def test_sid_codes_come_from_the_models_table() -> None:
    codes = np.array([[0, 0, 0, 0], [10, 11, 12, 0], [20, 21, 22, 1], [30, 31, 32, 0]])  # items 1..3, row 0 padding
    table = snapshots_table([_snapshot(1, 5, [3, 1]), _snapshot(2, 5, [2, 99]), _snapshot(4, 5, [])],
                            ArraySemanticIds(codes))  # fmt: skip
    validate(USER_REALTIME, table)
    sids = dict(zip(table["user_id"].to_pylist(), table["sid_codes"].to_pylist()))
    assert sids == {1: bytes([30, 31, 32, 0, 10, 11, 12, 0]), 2: bytes([20, 21, 22, 1, 255, 255, 255, 255]), 4: b""}
