"""Ragged byte columns: one variable-length byte string per row, built and concatenated with numpy, no Python loop per row.

The building block of the batch encoders (Avro messages, Feast Value protos, Redis commands): encode each field of a
whole batch at once, then join the fields row by row in a few vectorised copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from schemas.native import native


@dataclass(frozen=True)
class Ragged:
    """Row i is `data[offsets[i]:offsets[i + 1]]` (offsets need not start at 0)."""

    data: np.ndarray
    offsets: np.ndarray
    constant_value: bytes | None = None
    """Set when every row is this same value (copied without an index array)."""

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def constant(cls, value: bytes, n: int) -> Ragged:
        data = np.tile(np.frombuffer(value, dtype=np.uint8), n)
        return cls(data, np.arange(n + 1, dtype=np.int64) * len(value), value)

    @classmethod
    def from_arrow(cls, array: pa.Array) -> Ragged:
        """A string or binary Arrow array (no nulls) as its own bytes, zero-copy."""
        array = array.cast(pa.large_binary())
        _, offsets, data = array.buffers()
        offsets_np = np.frombuffer(offsets, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
        data_np = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        return cls(data_np, offsets_np)

    @classmethod
    def fixed(cls, data: np.ndarray, width: int) -> Ragged:
        """Rows of exactly `width` bytes each, from a flat byte array."""
        flat = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        return cls(flat, np.arange(len(flat) // width + 1, dtype=np.int64) * width)

    def expand(self, present: np.ndarray) -> Ragged:
        """These rows placed at the True positions of `present`, empty rows elsewhere."""
        sizes = np.zeros(len(present), dtype=np.int64)
        sizes[present] = self.sizes
        offsets = np.zeros(len(present) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return Ragged(self.data[self.offsets[0] : self.offsets[-1]], offsets)

    def group(self, row_offsets: np.ndarray) -> Ragged:
        """Join consecutive rows into groups: group j holds rows row_offsets[j] .. row_offsets[j + 1] - 1."""
        return Ragged(self.data, self.offsets[row_offsets])

    def copy_into(self, out: np.ndarray, positions: np.ndarray) -> None:
        if self.constant_value is not None:
            for k, byte in enumerate(self.constant_value):
                out[positions + k] = byte
            return
        sizes = self.sizes
        start, end = int(self.offsets[0]), int(self.offsets[-1])
        if end == start:
            return
        if sizes.min() == sizes.max():  # fixed width: a 2-D block copy
            width = int(sizes[0])
            out[positions[:, None] + np.arange(width)] = self.data[start:end].reshape(-1, width)
            return
        dest = np.repeat(positions - self.offsets[:-1], sizes) + np.arange(start, end)
        out[dest] = self.data[start:end]

    def tobytes(self) -> bytes:
        return self.data[self.offsets[0] : self.offsets[-1]].tobytes()

    def rows(self) -> list[bytes]:
        data = self.data.tobytes()
        bounds = self.offsets.tolist()
        return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def concat(parts: Sequence[Ragged]) -> Ragged:
    """Row-wise concatenation: row i = parts[0] row i + parts[1] row i + ..."""
    n = parts[0].n
    sizes = np.zeros(n, dtype=np.int64)
    for part in parts:
        sizes += part.sizes
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    positions = offsets[:-1].copy()
    for part in parts:
        part.copy_into(out, positions)
        positions += part.sizes
    return Ragged(out, offsets)


_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)
_CONTINUATION = np.array([sum(0x80 << (8 * b) for b in range(size - 1)) for size in range(9)], dtype=np.uint64)


def varints(values: np.ndarray) -> Ragged:
    """Unsigned LEB128 of each value (negative int64 as its 64-bit two's complement: 10 bytes, as protobuf does)."""
    if native is None:
        return varints_reference(values)
    data, sizes = native.encode_varints(np.ascontiguousarray(values, dtype=np.int64))
    offsets = np.zeros(len(sizes) // 8 + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(sizes, dtype=np.int64), out=offsets[1:])
    return Ragged(np.frombuffer(data, dtype=np.uint8), offsets)


def varints_reference(values: np.ndarray) -> Ragged:
    """`varints` in numpy alone: the reference the C loop is tested against, and the fallback without it."""
    unsigned = np.asarray(values).astype(np.int64, copy=False).view(np.uint64)
    sizes = np.searchsorted(_VARINT_LIMITS, unsigned, side="right").astype(np.int64) + 1
    width = int(sizes.max(initial=1))
    if width == 1:  # every value < 128 is its own single byte
        return Ragged(unsigned.astype(np.uint8), np.arange(len(unsigned) + 1, dtype=np.int64))
    if width <= 8:  # spread the 7-bit groups over the 8 bytes of a uint64, set continuation bits, keep `size` bytes
        spread = unsigned & np.uint64(0x7F)
        for k in range(1, width):
            spread |= (unsigned << np.uint64(k)) & np.uint64(0x7F << (8 * k))
        spread |= _CONTINUATION[sizes]
        block = spread.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :width]
    else:  # 9-10 byte varints (negative or >= 2^56 values): one 7-bit group per column
        shifts = np.arange(width, dtype=np.uint64) * np.uint64(7)
        groups = (unsigned[:, None] >> shifts) & np.uint64(0x7F)
        more = (np.arange(width) < (sizes - 1)[:, None]).astype(np.uint64) << np.uint64(7)
        block = (groups | more).astype(np.uint8)
    data = block[np.arange(width) < sizes[:, None]]
    offsets = np.zeros(len(unsigned) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return Ragged(data, offsets)


def zigzag(values: np.ndarray) -> np.ndarray:
    """Avro's signed-to-unsigned mapping (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)."""
    values = np.asarray(values, dtype=np.int64)
    return (values << 1) ^ (values >> 63)


def decimal_ascii(values: np.ndarray) -> Ragged:
    """Each integer as ASCII decimal digits (Redis protocol lengths and numeric arguments)."""
    return Ragged.from_arrow(pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string()))
