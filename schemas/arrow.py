"""Avro schemas as Arrow types: for messages that travel as JSON and are parsed in Arrow (the behavior job's
`user_snapshot`), so the parser's schema is the `.avsc` itself, not a second hand-kept copy."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

_PRIMITIVES = {"long": pa.int64(), "int": pa.int32(), "float": pa.float32(), "double": pa.float64(),
               "string": pa.string(), "bytes": pa.binary(), "boolean": pa.bool_()}  # fmt: skip


def arrow_type(avro: Any) -> pa.DataType:
    """The Arrow type of an Avro type: primitives, arrays and records (unions and maps are not needed: refused)."""
    if isinstance(avro, str) and avro in _PRIMITIVES:
        return _PRIMITIVES[avro]
    if isinstance(avro, dict) and avro.get("type") == "array":
        return pa.list_(arrow_type(avro["items"]))
    if isinstance(avro, dict) and avro.get("type") == "record":
        return pa.struct([pa.field(f["name"], arrow_type(f["type"])) for f in avro["fields"]])
    if isinstance(avro, dict) and isinstance(avro.get("type"), str) and "logicalType" not in avro:
        return arrow_type(avro["type"])
    raise ValueError(f"no Arrow type for the Avro type {avro!r}")


def arrow_schema(record: dict[str, Any]) -> pa.Schema:
    """A record schema's fields as an Arrow schema."""
    return pa.schema(list(arrow_type(record)))
