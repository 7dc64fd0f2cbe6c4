from __future__ import annotations

import numpy as np
import pytest
from feast.infra.online_stores.helpers import _mmh3
from feast.protos.feast.types.Value_pb2 import Value

from feature_store.online.layout import FeatureValidationError, ViewLayout, decode_value, timestamp_bytes, timestamp_ms
from feature_store.views import USER_REALTIME
from tests.fixtures.feast import realtime_row


@pytest.fixture(scope="module")
def layout() -> ViewLayout:
    return ViewLayout(USER_REALTIME, "freshrec")


def test_fields_are_feast_hashes_in_spec_order(layout: ViewLayout) -> None:
    assert layout.field_keys[0] == _mmh3("user_realtime:item_ids")
    assert layout.ts_key == b"_ts:user_realtime" and len(layout.field_keys) == len(USER_REALTIME.fields)
    assert layout.redis_key(5).endswith(b"freshrec") and layout.redis_key(5) != layout.redis_key(6)


def test_encode_decode_round_trip(layout: ViewLayout) -> None:
    row = realtime_row(1, 1_700_000_000_123, seed=5)
    encoded = layout.encode_row(row)
    decoded = layout.decode_fields(encoded)
    assert decoded is not None
    assert decoded["item_ids"].tolist() == row["item_ids"] and decoded["item_ids"].dtype == np.int64
    assert decoded["interest"].tolist() == np.float32(row["interest"]).tolist()
    assert decoded["summary"] == row["summary"] and decoded["count_pv"] == row["count_pv"]
    assert Value.FromString(encoded[0]).WhichOneof("val") == "int64_list_val"
    assert layout.decode_fields([None] * len(encoded)) is None


def test_numpy_inputs_are_accepted(layout: ViewLayout) -> None:
    row = realtime_row(1, 0)
    row |= {"item_ids": np.array(row["item_ids"]), "count_pv": np.int64(4), "interest": np.zeros(64, np.float32)}
    assert decode_value(USER_REALTIME.field("count_pv"), layout.encode_row(row)[4]) == 4


@pytest.mark.parametrize(
    "change, message",
    [
        ({"item_ids": None}, r"missing field\(s\) \['item_ids'\]"),
        ({"interest": [0.0] * 63}, "length 63, expected exactly 64"),
        ({"category_ids": [1]}, r"length 1 differs from item_ids \(3\)"),
        ({"item_ids": list(range(51)), "category_ids": list(range(51)), "behaviors": [0] * 51, "event_times": [0] * 51}, "length 51 > max 50"),
        ({"sid_codes": [1, 2, 3]}, "not a multiple of 4"),
        ({"count_pv": "12"}, "expected int64, got str"),
        ({"count_pv": True}, "expected int64, got bool"),
        ({"count_pv": 2**63}, "out of int64 range"),
        ({"behaviors": [0, 1, 2**40]}, r"values out of int32\[\] range"),
        ({"item_ids": [1.5, 2.0, 3.0]}, "expected int64\\[\\], got float64"),
        ({"summary": 42}, "expected a string"),
        ({"interest": "abc"}, "expected a list"),
        ({"item_ids": [[1], [2], [3]]}, "expected a flat list"),
    ],
)
def test_validation_errors_are_clear(layout: ViewLayout, change: dict, message: str) -> None:
    with pytest.raises(FeatureValidationError, match=message):
        layout.encode_row(realtime_row(1, 0) | change)


def test_timestamps_keep_milliseconds() -> None:
    assert timestamp_ms(timestamp_bytes(1_700_000_000_789)) == 1_700_000_000_789
    assert timestamp_ms(None) is None
