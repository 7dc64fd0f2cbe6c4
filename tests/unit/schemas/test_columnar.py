"""The vectorised encoder must be byte-identical to the record-at-a-time reference codec."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from schemas.codec import AvroCodec, InvalidFieldError, MissingFieldError
from schemas.columnar import encode_batch

BEHAVIORS = ["PV", "CART", "FAV", "BUY"]


def _random_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    big = [0, -1, 1, 63, 64, -64, -65, 2**31, -(2**31), 2**62, -(2**63), 2**63 - 1]
    rows = []
    for i in range(n):
        rows.append(
            {
                "event_id": "".join(rng.choice(list("abcé漢z-0123456789"), rng.integers(0, 30))),
                "user_id": int(rng.choice(big)) if i % 7 == 0 else int(rng.integers(-(10**12), 10**12)),
                "item_id": int(rng.integers(0, 2**40)),
                "category_id": int(rng.integers(0, 5000)),
                "behavior": BEHAVIORS[int(rng.integers(0, 4))],
                "event_time": int(rng.integers(0, 2**45)),
                "session_id": None if rng.random() < 0.5 else f"s{i}",
                "device": None if rng.random() < 0.8 else "ios",
            }
        )
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_reference_codec(seed: int) -> None:
    codec = AvroCodec("click_event")
    rows = _random_rows(500, seed)
    batch = encode_batch(codec.schema, pa.Table.from_pylist(rows))
    assert batch.rows() == [codec.encode(r) for r in rows]


def test_parity_on_a_sliced_batch_and_absent_optional_columns() -> None:
    codec = AvroCodec("click_event")
    rows = [{k: v for k, v in r.items() if k not in ("session_id", "device")} for r in _random_rows(300, 5)]
    table = pa.Table.from_pylist(rows).slice(100, 150)
    encoded = encode_batch(codec.schema, table)
    assert encoded.n == 150
    assert [codec.decode(m) for m in encoded.rows()] == [{**r, "session_id": None, "device": None} for r in rows[100:250]]


def test_invalid_enum_and_missing_required_column() -> None:
    codec = AvroCodec("click_event")
    rows = _random_rows(10, 3)
    rows[4]["behavior"] = "LIKE"
    with pytest.raises(InvalidFieldError, match="LIKE"):
        encode_batch(codec.schema, pa.Table.from_pylist(rows))
    with pytest.raises(MissingFieldError, match="item_id"):
        encode_batch(codec.schema, pa.Table.from_pylist(_random_rows(5, 4)).drop_columns(["item_id"]))


def test_nulls_in_required_field_are_rejected() -> None:
    codec = AvroCodec("click_event")
    table = pa.Table.from_pylist(_random_rows(5, 6)).set_column(1, "user_id", pa.array([1, None, 3, 4, 5], pa.int64()))
    with pytest.raises(InvalidFieldError, match="nulls"):
        encode_batch(codec.schema, table)


def test_empty_batch() -> None:
    codec = AvroCodec("click_event")
    empty = pa.Table.from_pylist(_random_rows(3, 7)).slice(0, 0)
    assert encode_batch(codec.schema, empty).rows() == []
