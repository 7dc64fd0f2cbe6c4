"""The batch encoder and decoder must agree byte for byte / value for value with the protobuf-runtime reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from feature_store.online.layout import ViewLayout, decode_value, reference_timestamp, reference_values
from feature_store.online.validation import rows_to_table
from feature_store.online.value_decoding import ListColumn, decode_column
from feature_store.online.value_encoding import encode_column, encode_timestamps
from feature_store.testing import sample_realtime_row
from feature_store.views import ITEM, USER_INTENT, USER_REALTIME, FieldSpec, ViewSpec


def _rows(seed: int) -> list[dict]:
    rows = [sample_realtime_row(u, 1_700_000_000_000 + u * 997, n=u % 51, seed=seed * 100 + u) for u in range(60)]
    rows[3] |= {"item_ids": [-1, 0, 2**63 - 1], "category_ids": [-(2**63), 5, 127], "behaviors": [-5, 2**31 - 1, 0],
                "event_times": [0, 1, 2], "count_pv": -7, "summary": "", "top_categories": [], "sid_codes": b""}  # fmt: skip
    return rows


VIEWS_AND_ROWS = [
    (USER_REALTIME, _rows),
    (USER_INTENT, lambda s: [{"user_id": i, "event_time": i, "tags": ["a" * i, "é"] if i % 3 else [], "tag_scores": [0.5, -1.0] if i % 3 else [],
                              "tag_categories": [i, 10**12] if i % 3 else [],
                              "grade": "S", "model_version": "m", "prompt_version": "", "intent_date": "2026-11-21"} for i in range(20)]),
    (ITEM, lambda s: [{"item_id": i, "event_time": i, "category_id": i * 1000 - 1, "attribute_ids": list(range(i % 5)),
                       "title": "é" * (i % 3) + f"item {i}"} for i in range(20)]),
]  # fmt: skip


@pytest.mark.parametrize("view, make_rows", VIEWS_AND_ROWS, ids=["user_realtime", "user_intent", "item"])
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_encoder_is_byte_identical_to_protobuf(view: ViewSpec, make_rows, seed: int) -> None:  # noqa: ANN001
    table = rows_to_table(view, make_rows(seed))
    for spec in view.fields:
        assert encode_column(spec, table[spec.name]).rows() == reference_values(spec, table[spec.name].combine_chunks()), spec.name


@pytest.mark.parametrize("view, make_rows", VIEWS_AND_ROWS, ids=["user_realtime", "user_intent", "item"])
def test_batch_decoder_matches_reference_with_gaps(view: ViewSpec, make_rows) -> None:  # noqa: ANN001
    table = rows_to_table(view, make_rows(0))
    for spec in view.fields:
        raws: list[bytes | None] = encode_column(spec, table[spec.name]).rows()
        raws[1] = None  # an entity without this view
        column = decode_column(spec, raws)
        for i, raw in enumerate(raws):
            got = column[i]
            want = decode_value(spec, raw)
            if raw is None:
                assert len(got) == 0 if isinstance(column, ListColumn) or spec.dtype == "string[]" else got in (0, None)
            elif isinstance(want, np.ndarray):
                assert got.dtype == want.dtype and got.tolist() == want.tolist(), spec.name
            else:
                assert got == want, spec.name


def test_timestamps_and_keys_match_feast() -> None:
    ms = np.array([0, 999, 1000, 1_700_000_000_123, 1_700_000_000_000])
    assert encode_timestamps(ms).rows() == [reference_timestamp(int(m)) for m in ms]
    layout = ViewLayout(USER_REALTIME, "freshrec")
    ids = np.array([0, 1, -5, 2**40, 2**63 - 1])
    assert layout.redis_keys(ids).rows() == [layout.redis_key(int(i)) for i in ids]


def test_padded_keeps_the_newest_values_right_aligned() -> None:
    column = ListColumn(np.arange(1, 8), np.array([0, 3, 3, 7]))
    assert column.padded(3, fill=-1).tolist() == [[1, 2, 3], [-1, -1, -1], [5, 6, 7]]
    assert column.padded(5, fill=0).tolist() == [[0, 0, 1, 2, 3], [0, 0, 0, 0, 0], [0, 4, 5, 6, 7]]


def test_float_lists_are_float32_views() -> None:
    spec = FieldSpec("x", "float32[]")
    raws = encode_column(spec, pa.array([[1.5, -2.0], []], pa.list_(pa.float32()))).rows()
    column = decode_column(spec, raws)
    assert column.values.dtype == np.float32 and column[0].tolist() == [1.5, -2.0] and len(column[1]) == 0


@pytest.mark.parametrize("dtype", ["int64[]", "int32[]", "float32[]"])
def test_native_list_decoder_matches_the_numpy_reference(dtype: str) -> None:
    from feature_store.online.validation import ARROW_TYPES
    from feature_store.online.value_decoding import _numeric_lists, numeric_lists_reference
    from schemas.native import native

    if native is None:
        pytest.skip("C extension not built")
    spec = FieldSpec("x", dtype)
    rng = np.random.default_rng(1)
    high = 2**24 if dtype == "float32[]" else 2**31  # floats: integers float32 holds exactly
    lists = [rng.integers(-high, high, rng.integers(1, 60)).tolist() for _ in range(300)]
    raws: list[bytes | None] = encode_column(spec, pa.array(lists, ARROW_TYPES[dtype])).rows()
    raws[7] = None
    fast, reference = _numeric_lists(spec, raws), numeric_lists_reference(spec, raws)
    assert fast.values.dtype == reference.values.dtype and fast.values.tolist() == reference.values.tolist()
    assert fast.offsets.tolist() == reference.offsets.tolist()
    with pytest.raises(ValueError, match="malformed"):
        _numeric_lists(spec, [raws[0][:-3]])
