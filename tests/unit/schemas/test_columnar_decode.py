"""The batch Avro decoder: the compiled loop gives the record-at-a-time reference's table, and a bad message fails
the batch with an error that names it."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from schemas import columnar_decode
from schemas.codec import MAGIC, AvroCodec, CodecError
from schemas.columnar_decode import decode_batch, decode_batch_reference
from schemas.native import native
from schemas.ragged import varints, zigzag
from schemas.registry import default_registry

SNAPSHOT = default_registry().latest("user_snapshot")
CODEC = AvroCodec("user_snapshot")


def _snapshot(rng: random.Random, user: int) -> dict:
    n = rng.choice([0, 1, 2, 50])
    state = {"item_ids": [rng.randint(-(2**63), 2**63 - 1) for _ in range(n)],
             "category_ids": [rng.randint(0, 10**6) for _ in range(n)], "behaviors": [rng.randint(0, 3) for _ in range(n)],
             "event_times": [1_700_000_000_000 + rng.randint(-(10**9), 10**9) for _ in range(n)],
             "count_pv": rng.randint(0, 10**12), "count_cart": 0, "count_fav": -1, "count_buy": 2**63 - 1,
             "interest": [rng.uniform(-1, 1) for _ in range(64)], "top_categories": [rng.randint(0, 99) for _ in range(n % 9)],
             "summary": rng.choice(["", "pv 3 | top c1, c2", "é 🙂 \u0000 \"q\""]), "event_time": rng.randint(0, 2**40),
             "version": rng.randint(0, 2**62)}  # fmt: skip
    return {"user_id": user, "s": state}


@pytest.fixture
def native_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled loop must decode the batch itself: falling back to the reference fails the test."""
    if native is None:
        pytest.skip("C extension not built")  # the build step of scripts/setup.sh always builds it

    def refuse(*_: object) -> pa.Table:
        raise AssertionError("the compiled loop refused a valid batch")

    monkeypatch.setattr(columnar_decode, "decode_batch_reference", refuse)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_compiled_loop_matches_the_reference(seed: int, native_only: None) -> None:
    rng = random.Random(seed)
    values = [CODEC.encode(_snapshot(rng, user)) for user in range(300)]
    table = decode_batch(SNAPSHOT, values)
    assert table.equals(decode_batch_reference(SNAPSHOT, values))
    assert table.num_rows == 300 and table.column_names[:2] == ["user_id", "item_ids"]  # the state record flattened


def test_arrays_in_several_blocks_and_blocks_with_byte_sizes(native_only: None) -> None:
    """Avro lets a writer split an array into blocks, a negative count announcing the block's size in bytes; the
    loop reads them as fastavro does."""
    record = _snapshot(random.Random(3), 7)
    record["s"]["item_ids"] = [5, -6, 7]
    plain = CODEC.encode(record)
    one_block = b"\x06" + b"".join(varints(zigzag([5, -6, 7])).rows()) + b"\x00"
    assert one_block in plain
    split = b"\x02\x0a" + b"\x03\x04\x0b\x0e" + b"\x00"  # [5], then a block of -2 items, 2 bytes: [-6, 7]
    value = plain.replace(one_block, split, 1)
    assert decode_batch(SNAPSHOT, [value])["item_ids"].to_pylist() == [[5, -6, 7]]
    assert decode_batch(SNAPSHOT, [value]).equals(decode_batch(SNAPSHOT, [plain]))


@pytest.mark.parametrize(
    "corrupt",
    [lambda v: v[:-1], lambda v: v + b"\x00", lambda v: b'{"user_id": 1}', lambda v: MAGIC + bytes(8) + v[10:],
     lambda v: v[:10] + b"\x02" + b"\xff" * 11],
    ids=["truncated", "trailing byte", "JSON", "unknown fingerprint", "overlong varint"],
)  # fmt: skip
def test_a_bad_message_fails_the_batch_naming_it(corrupt: object) -> None:
    rng = random.Random(4)
    values = [CODEC.encode(_snapshot(rng, user)) for user in range(5)]
    values[3] = corrupt(values[3])  # type: ignore[operator]
    with pytest.raises(CodecError):
        decode_batch(SNAPSHOT, values)
    if native is not None:
        with pytest.raises(ValueError, match="^value 3: "):
            native.decode_records(values, MAGIC + SNAPSHOT.fingerprint, columnar_decode._layout(SNAPSHOT).program)


def test_a_summary_that_is_not_utf8_is_refused() -> None:
    record = _snapshot(random.Random(5), 1)
    record["s"]["summary"] = "abc"
    value = CODEC.encode(record).replace(b"\x06abc", b"\x06a\xffc", 1)
    with pytest.raises(CodecError):
        decode_batch(SNAPSHOT, [value])


def test_no_messages_is_an_empty_table_of_the_schemas_columns() -> None:
    one = decode_batch_reference(SNAPSHOT, [CODEC.encode(_snapshot(random.Random(6), 1))])
    table = decode_batch(SNAPSHOT, [])
    assert table.num_rows == 0 and table.schema == one.schema
