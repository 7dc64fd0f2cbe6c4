"""Batch decoder of Feast `Value` protos: the raw Redis values of one field for many entities, into numpy columns.

Numeric lists (the sequences the model reads) are decoded for all entities at once: headers located with numpy, every
packed varint decoded in one pass, floats viewed in place. Scalars and strings go through the protobuf runtime.
`layout.decode_value` is the reference the tests compare against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from feast.protos.feast.types.Value_pb2 import Value

from feature_store.views import FieldSpec
from schemas.native import native

_KEY_SIZE = {"int64[]": 1, "int32[]": 1, "float32[]": 2}
_SCALAR_ATTR = {"int64": "int64_val", "int32": "int32_val", "float32": "float_val", "string": "string_val", "bytes": "bytes_val"}
_NUMPY = {"int64[]": np.int64, "int32[]": np.int32, "float32[]": np.float32}


@dataclass(frozen=True)
class ListColumn:
    """Row i is `values[offsets[i]:offsets[i + 1]]`."""

    values: np.ndarray
    offsets: np.ndarray

    def __getitem__(self, row: int) -> np.ndarray:
        return self.values[self.offsets[row] : self.offsets[row + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def padded(self, width: int, fill: Any = 0) -> np.ndarray:
        """(rows, width) matrix of the last `width` values of each row, right-aligned: the newest value last."""
        lengths = np.minimum(np.diff(self.offsets), width)
        out = np.full((len(self), width), fill, dtype=self.values.dtype)
        rows = np.repeat(np.arange(len(self)), lengths)
        cols = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(width - lengths, lengths)
        source = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(self.offsets[1:] - lengths, lengths)
        out[rows, cols] = self.values[source]
        return out


Column = np.ndarray | ListColumn


def decode_column(spec: FieldSpec, raws: list[bytes | None]) -> Column:
    """One field for many entities; a missing value decodes as empty / zero / None."""
    if spec.dtype in _NUMPY:
        return _numeric_lists(spec, raws)
    if spec.dtype == "string[]":
        values = [list(Value.FromString(r).string_list_val.val) if r else [] for r in raws]
        return np.array(values + [None], dtype=object)[:-1]
    if spec.dtype in ("int64", "int32"):
        return _scalar_ints(raws).astype(np.int64 if spec.dtype == "int64" else np.int32)
    attr = _SCALAR_ATTR[spec.dtype]
    values = [getattr(Value.FromString(r), attr) if r is not None else None for r in raws]
    if spec.dtype == "float32":
        return np.array([v or 0.0 for v in values], dtype=np.float32)
    return np.array(values, dtype=object)


def decode_columns(specs: list[FieldSpec], raws: list[list[bytes | None]]) -> dict[str, Column]:
    """Several fields for the same entities (`raws[j]` = field j for every entity). All integer-list fields are
    decoded together in one pass, and so are all integer scalars: the fixed numpy cost is paid once per view."""
    n = len(raws[0]) if raws else 0
    together = [j for j, spec in enumerate(specs) if spec.dtype in ("int64[]", "int32[]")]
    out: dict[str, Column] = {}
    if together:
        merged = _numeric_lists(specs[together[0]], [r for j in together for r in raws[j]])
        for k, j in enumerate(together):
            offsets = merged.offsets[k * n : (k + 1) * n + 1]
            values = merged.values[offsets[0] : offsets[-1]].astype(_NUMPY[specs[j].dtype], copy=False)
            out[specs[j].name] = ListColumn(values, offsets - offsets[0])
    scalars = [j for j, spec in enumerate(specs) if spec.dtype in ("int64", "int32")]
    if scalars:
        merged_ints = _scalar_ints([r for j in scalars for r in raws[j]])
        for k, j in enumerate(scalars):
            out[specs[j].name] = merged_ints[k * n : (k + 1) * n].astype(np.int64 if specs[j].dtype == "int64" else np.int32)
    for j, spec in enumerate(specs):
        if spec.name not in out:
            out[spec.name] = decode_column(spec, list(raws[j]))
    return {spec.name: out[spec.name] for spec in specs}


def _numeric_lists(spec: FieldSpec, raws: list[bytes | None]) -> ListColumn:
    if native is None:
        return numeric_lists_reference(spec, raws)
    fixed32 = spec.dtype == "float32[]"
    data, counts = native.decode_value_lists(list(raws), _KEY_SIZE[spec.dtype], fixed32)
    values = np.frombuffer(data, dtype="<f4" if fixed32 else np.int64)
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(counts, dtype=np.int64), out=offsets[1:])
    return ListColumn(values if fixed32 else values.astype(_NUMPY[spec.dtype], copy=False), offsets)


def numeric_lists_reference(spec: FieldSpec, raws: list[bytes | None]) -> ListColumn:
    """`_numeric_lists` in numpy alone: the reference of the C loop, and the fallback without it."""
    blobs = [r or b"" for r in raws]
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    starts = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    buf = np.frombuffer(b"".join(blobs) + bytes(16), dtype=np.uint8)  # padding: headers are read past the end
    # Value = key, varint(len(inner)), then inner = 0x0A, varint(len(payload)), payload (absent when the list is empty)
    at = starts[:-1] + _KEY_SIZE[spec.dtype]
    inner, at = _varint_at(buf, at)
    non_empty = (sizes > 0) & (inner > 0)
    payload_len, payload_at = _varint_at(buf, at + 1)
    payload_len = np.where(non_empty, payload_len, 0)
    payload = _gather_ranges(buf, payload_at, payload_len)
    dtype = _NUMPY[spec.dtype]
    if spec.dtype == "float32[]":
        values = payload.view("<f4").astype(np.float32, copy=False)
        counts = payload_len // 4
    else:
        values, ends = _decode_varints(payload)
        ends_before = np.concatenate(([0], np.cumsum(ends)))
        bounds = np.concatenate(([0], np.cumsum(payload_len)))
        counts = ends_before[bounds[1:]] - ends_before[bounds[:-1]]
        values = values.view(np.int64).astype(dtype, copy=False)
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return ListColumn(values, offsets)


def _scalar_ints(raws: list[bytes | None]) -> np.ndarray:
    """int64_val / int32_val Values (1-byte key + varint) for many entities; 0 where missing."""
    bodies = [r[1:] if r else b"\x00" for r in raws]
    values, _ = _decode_varints(np.frombuffer(b"".join(bodies), dtype=np.uint8))
    return values.view(np.int64)


def _varint_at(buf: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varint (< 2^21) starting at each position, and the position after it."""
    b0, b1, b2 = (buf[at + k].astype(np.int64) for k in range(3))
    one, two = b0 < 0x80, b1 < 0x80
    value = np.where(one, b0, np.where(two, (b0 & 0x7F) | (b1 << 7), (b0 & 0x7F) | ((b1 & 0x7F) << 7) | (b2 << 14)))
    return value, at + np.where(one, 1, np.where(two, 2, 3))


def _gather_ranges(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.uint8)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    index = np.arange(total) + np.repeat(starts - first, lengths)
    return buf[index]


def _decode_varints(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All varints of a packed byte run (as uint64), and the flag of each byte that ends one."""
    ends = data < 0x80
    if not len(data):
        return np.zeros(0, dtype=np.uint64), ends
    value_starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    which = np.cumsum(np.concatenate(([0], ends[:-1].astype(np.int64))))
    shift = (np.arange(len(data)) - value_starts[which]) * 7
    groups = (data & 0x7F).astype(np.uint64) << shift.astype(np.uint64)
    return np.bitwise_or.reduceat(groups, value_starts), ends
