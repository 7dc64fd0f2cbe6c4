"""Batch Avro decoder: single-object messages of one record type to one Arrow table, the record's fields as columns.

Why: the behavior job's snapshots arrive by the thousand per batch; decoding them record by record (fastavro, then a
Python object per value) would cost the snapshot writer more than everything else it does. The compiled loop
(`schemas/_wire.c`) reads a whole batch into one buffer per field; `AvroCodec` is the reference it is tested against,
and what decodes a batch the loop refuses (another version of the schema, or a bad message: its error then names it).
Fields of nested records become columns of their own (their names must not repeat); field types are those
`schemas.arrow` maps: long, int, float, double, string, bytes, and arrays of the four numbers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from schemas.arrow import arrow_type
from schemas.codec import MAGIC, AvroCodec
from schemas.native import native
from schemas.registry import SchemaVersion

_SCALARS = {"long": "l", "int": "i", "float": "f", "double": "d", "string": "s", "bytes": "s"}
_ITEMS = {"long": "L", "int": "I", "float": "F", "double": "D"}


@dataclass(frozen=True)
class _Layout:
    """The flattened leaf fields of a record schema: names, Arrow types and the compiled loop's program."""

    names: tuple[str, ...]
    types: tuple[pa.DataType, ...]
    program: bytes

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(list(zip(self.names, self.types)))


def decode_batch(schema: SchemaVersion, values: list[bytes]) -> pa.Table:
    """Every message of `values` (each `schema`'s message type, single-object encoded) as one row. Raises
    `DecodeError` (or another `CodecError`) when one of them is not such a message."""
    layout = _layout(schema)
    if not values:
        return layout.schema.empty_table()
    if native is None or sys.byteorder != "little":
        return decode_batch_reference(schema, values)
    try:
        columns = native.decode_records(values, MAGIC + schema.fingerprint, layout.program)
        arrays = [_array(kind, t, len(values), data, offsets)
                  for kind, t, (data, offsets) in zip(layout.program.decode(), layout.types, columns)]  # fmt: skip
        table = pa.Table.from_arrays(arrays, schema=layout.schema)
        table.validate(full=True)  # strings are UTF-8
        return table
    except (ValueError, pa.ArrowInvalid):
        return decode_batch_reference(schema, values)  # an older version, or a bad message the reference names


def decode_batch_reference(schema: SchemaVersion, values: list[bytes]) -> pa.Table:
    """`decode_batch` record by record: the reference, and the path for what the compiled loop refuses."""
    layout = _layout(schema)
    codec = AvroCodec(schema.message)
    rows = [_flatten(codec.decode(value)) for value in values]
    return pa.table({name: pa.array([r[name] for r in rows], t) for name, t in zip(layout.names, layout.types)})


_LAYOUTS: dict[bytes, _Layout] = {}


def _layout(schema: SchemaVersion) -> _Layout:
    if schema.fingerprint not in _LAYOUTS:
        _LAYOUTS[schema.fingerprint] = _compile(schema)
    return _LAYOUTS[schema.fingerprint]


def _compile(schema: SchemaVersion) -> _Layout:
    leaves: list[tuple[str, Any]] = []

    def walk(record: dict[str, Any]) -> None:
        for field in record["fields"]:
            kind = field["type"]
            if isinstance(kind, dict) and kind.get("type") == "record":
                walk(kind)
            else:
                leaves.append((field["name"], kind))

    walk(schema.schema)
    names = [name for name, _ in leaves]
    if len(set(names)) != len(names):
        raise ValueError(f"{schema.message}: a field name repeats across its nested records: {names}")
    program = "".join(_op(name, kind) for name, kind in leaves)
    return _Layout(tuple(names), tuple(arrow_type(kind) for _, kind in leaves), program.encode())


def _op(name: str, kind: Any) -> str:
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    if isinstance(kind, dict) and kind.get("type") == "array" and kind.get("items") in _ITEMS:
        return _ITEMS[kind["items"]]
    raise ValueError(f"{name}: the batch decoder does not read the Avro type {kind!r}")


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in record.items():
        out.update(_flatten(value) if isinstance(value, dict) else {name: value})
    return out


def _array(kind: str, arrow: pa.DataType, n: int, data: bytes, offsets: bytes | None) -> pa.Array:
    if kind == "s":
        return pa.Array.from_buffers(arrow, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if offsets is None:
        return pa.Array.from_buffers(arrow, n, [None, pa.py_buffer(data)])
    item = arrow.value_type
    items = pa.Array.from_buffers(item, len(data) // item.byte_width, [None, pa.py_buffer(data)])
    return pa.Array.from_buffers(arrow, n, [None, pa.py_buffer(offsets)], children=[items])
