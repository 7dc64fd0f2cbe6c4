from __future__ import annotations

import numpy as np
import pytest
from google.protobuf.internal.encoder import _VarintBytes

from schemas.ragged import Ragged, concat, decimal_ascii, varints, zigzag


@pytest.mark.parametrize(
    "values",
    [[0, 1, 127, 128, 300, 2**14 - 1, 2**14, 2**56 - 1], [2**56, 2**63 - 1, -1, -(2**63), 5], list(range(-3, 3)), []],
    ids=["up-to-8-bytes", "9-10-bytes", "small-negative", "empty"],
)
def test_varints_match_protobuf(values: list[int]) -> None:
    encoded = varints(np.array(values, dtype=np.int64))
    assert encoded.rows() == [_VarintBytes(v & (2**64 - 1)) for v in values]


def test_zigzag() -> None:
    assert zigzag(np.array([0, -1, 1, -2, 2**62])).view(np.uint64).tolist() == [0, 1, 2, 3, 2**63]


def test_concat_expand_group_and_constants() -> None:
    words = Ragged.from_arrow(__import__("pyarrow").array(["a", "", "ccc"]))
    joined = concat([Ragged.constant(b"<", 3), words, Ragged.constant(b">", 3)])
    assert joined.rows() == [b"<a>", b"<>", b"<ccc>"]
    assert words.expand(np.array([True, False, True, True])).rows() == [b"a", b"", b"", b"ccc"]
    assert joined.group(np.array([0, 2, 3])).rows() == [b"<a><>", b"<ccc>"]
    assert decimal_ascii(np.array([0, 12, -5])).rows() == [b"0", b"12", b"-5"]
    assert Ragged.fixed(np.array([1, 2], dtype="<u2"), 2).rows() == [b"\x01\x00", b"\x02\x00"]


def test_native_varints_match_the_numpy_reference() -> None:
    from schemas.native import native
    from schemas.ragged import varints_reference

    if native is None:
        pytest.skip("C extension not built")  # the build step of scripts/setup.sh always builds it
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(-(2**63), 2**63 - 1, 5000, dtype=np.int64), rng.integers(0, 300, 5000), [0, -1]])
    fast, reference = varints(values), varints_reference(values)
    assert fast.tobytes() == reference.tobytes() and (fast.offsets == reference.offsets).all()
