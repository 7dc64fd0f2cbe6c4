"""The writer's batch decode: the job's Avro snapshots, newest per user, typed as the online view."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from feature_store.online.validation import validate
from feature_store.views import USER_REALTIME
from schemas.arrow import arrow_schema
from schemas.codec import AvroCodec
from streaming.snapshot_writer import ONLINE_SCHEMA, SNAPSHOT, snapshots_table
from streaming.state.representation import ArraySemanticIds


def _snapshot(user: int, version: int, items: list[int]) -> bytes:
    state = {"item_ids": items, "category_ids": [7] * len(items), "behaviors": [0] * len(items),
             "event_times": [version - 1] * len(items), "count_pv": len(items), "count_cart": 0, "count_fav": 0,
             "count_buy": 0, "interest": [0.25] * 64, "top_categories": [7], "summary": f"u{user}",
             "event_time": version - 1, "version": version}  # fmt: skip
    return AvroCodec("user_snapshot").encode({"user_id": user, "s": state})


def test_newest_snapshot_per_user_whatever_the_order() -> None:
    values = [_snapshot(1, 105, [1, 2]), _snapshot(2, 50, [9]), _snapshot(1, 101, [1]), _snapshot(1, 107, [1, 2, 3])]
    table = snapshots_table(values)
    assert table.schema == ONLINE_SCHEMA
    validate(USER_REALTIME, table)
    rows = {r["user_id"]: r for r in table.to_pylist()}
    assert set(rows) == {1, 2} and table.num_rows == 2
    assert rows[1]["version"] == 107 and rows[1]["item_ids"] == [1, 2, 3] and rows[1]["event_time"] == 106
    assert rows[2]["summary"] == "u2" and rows[2]["interest"] == [0.25] * 64 and rows[2]["sid_codes"] == b""
    assert rows[2]["sid_version"] == ""  # no table: no codes, no version


def test_no_snapshots_is_an_empty_batch() -> None:
    assert snapshots_table([]).num_rows == 0


def test_sid_codes_come_from_the_models_table_and_name_its_version() -> None:
    codes = np.array([[0, 0, 0, 0], [10, 11, 12, 0], [20, 21, 22, 1], [30, 31, 32, 0]])  # items 1..3, row 0 padding
    table = snapshots_table([_snapshot(1, 5, [3, 1]), _snapshot(2, 5, [2, 99]), _snapshot(4, 5, [])],
                            ArraySemanticIds(codes, version="items-v7"))  # fmt: skip
    validate(USER_REALTIME, table)
    sids = dict(zip(table["user_id"].to_pylist(), table["sid_codes"].to_pylist()))
    assert sids == {1: bytes([30, 31, 32, 0, 10, 11, 12, 0]), 2: bytes([20, 21, 22, 1, 255, 255, 255, 255]), 4: b""}
    assert table["sid_version"].to_pylist() == ["items-v7"] * 3


def test_the_snapshot_message_is_the_view_but_what_the_writer_adds() -> None:
    """One definition: the job's message (schemas/avro/user_snapshot) carries every user_realtime field, typed as
    the view types it, except the codes the writer looks up."""
    message = arrow_schema(SNAPSHOT.schema)
    state = message.field("s").type
    carried = pa.schema([message.field("user_id"), *(state.field(i) for i in range(state.num_fields))])
    stored = pa.schema([f for f in ONLINE_SCHEMA if f.name not in ("sid_codes", "sid_version")])
    assert sorted(carried, key=lambda f: f.name) == sorted(stored, key=lambda f: f.name)
