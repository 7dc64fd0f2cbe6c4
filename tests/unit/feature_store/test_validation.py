from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from feast.infra.online_stores.helpers import _mmh3

from feature_store.online.layout import ViewLayout, timestamp_ms
from feature_store.online.validation import FeatureValidationError, rows_to_table, validate
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_INTENT, USER_REALTIME


def test_fields_are_feast_hashes_in_spec_order() -> None:
    layout = ViewLayout(USER_REALTIME, "freshrec")
    assert layout.field_keys[0] == _mmh3("user_realtime:item_ids")
    assert layout.ts_key == b"_ts:user_realtime" and len(layout.field_keys) == len(USER_REALTIME.fields)
    assert layout.redis_key(5).endswith(b"freshrec") and layout.redis_key(5) != layout.redis_key(6)


def test_numpy_and_python_inputs_give_the_same_table() -> None:
    row = sample_realtime_row(1, 1000, seed=2)
    numpy_row = row | {"item_ids": np.array(row["item_ids"]), "count_pv": np.int64(row["count_pv"]),
                       "interest": np.asarray(row["interest"], np.float32)}  # fmt: skip
    assert rows_to_table(USER_REALTIME, [row]).equals(rows_to_table(USER_REALTIME, [numpy_row]))


def test_version_defaults_to_event_time_for_unversioned_views() -> None:
    row = {"user_id": 1, "event_time": 77, "tags": [], "tag_scores": [], "tag_categories": [], "grade": "B", "model_version": "m",
           "prompt_version": "p", "intent_date": "2026-11-21"}  # fmt: skip
    assert rows_to_table(USER_INTENT, [row])["version"].to_pylist() == [77]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"item_ids": None}, r"missing value\(s\) for 'item_ids'"),
        ({"interest": [0.0] * 63}, r"user_id=1\]\.interest: length 63, expected exactly 64"),
        ({"category_ids": [1]}, r"category_ids: length 1, must equal the length of item_ids"),
        ({"item_ids": list(range(51)), "category_ids": list(range(51)), "behaviors": [0] * 51, "event_times": [0] * 51},
         "item_ids: length 51, max 50"),
        ({"sid_codes": b"\x01\x02\x03"}, "sid_codes: length 3, must be a multiple of 4"),
        ({"count_pv": "12"}, r"user_realtime\.count_pv"),
        ({"count_pv": 2**63}, r"user_realtime\.count_pv"),
        ({"behaviors": [0, 1, 2**40]}, r"user_realtime\.behaviors"),
        ({"item_ids": [1.5, 2.0, 3.0]}, r"user_realtime\.item_ids"),
        ({"summary": 42}, r"user_realtime\.summary"),
        ({"interest": "abc"}, r"user_realtime\.interest"),
        ({"item_ids": [[1], [2], [3]]}, r"user_realtime\.item_ids"),
        ({"event_time": None}, r"missing value\(s\) for 'event_time'"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_field(change: dict, message: str) -> None:
    with pytest.raises(FeatureValidationError, match=message):
        rows_to_table(USER_REALTIME, [sample_realtime_row(1, 0) | change])


def test_tables_from_elsewhere_are_checked_too() -> None:
    table = rows_to_table(USER_REALTIME, [sample_realtime_row(1, 0)])
    with pytest.raises(FeatureValidationError, match="missing field 'summary'"):
        validate(USER_REALTIME, table.drop_columns(["summary"]))
    with pytest.raises(FeatureValidationError, match="count_pv: expected int64, got int32"):
        validate(USER_REALTIME, table.set_column(table.schema.get_field_index("count_pv"), "count_pv", pa.array([1], pa.int32())))


def test_timestamps_keep_milliseconds() -> None:
    from feature_store.online.layout import reference_timestamp

    assert timestamp_ms(reference_timestamp(1_700_000_000_789)) == 1_700_000_000_789
    assert timestamp_ms(None) is None
