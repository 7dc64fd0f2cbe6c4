"""Validation of online rows against their view's spec, over a whole batch at once, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feature_store.views import FieldSpec, ViewSpec

ARROW_TYPES = {
    "int64": pa.int64(), "int32": pa.int32(), "float32": pa.float32(), "string": pa.string(),
    "bytes": pa.binary(), "int64[]": pa.list_(pa.int64()), "int32[]": pa.list_(pa.int32()), "float32[]": pa.list_(pa.float32()),
    "string[]": pa.list_(pa.string()),
}  # fmt: skip


class FeatureValidationError(ValueError):
    """A row does not match its view's spec; raised before anything is written."""


def online_schema(view: ViewSpec) -> pa.Schema:
    """Columns the online writer takes: join key, event_time (epoch ms, Feast's `_ts`), version (epoch-ms-monotonic;
    a feature of user_realtime, a plain column elsewhere), then the features."""
    base = [pa.field(view.join_key, pa.int64()), pa.field("event_time", pa.int64())]
    if "version" not in view.field_names:
        base.append(pa.field("version", pa.int64()))
    return pa.schema(base + [pa.field(f.name, ARROW_TYPES[f.dtype]) for f in view.fields])


def rows_to_table(view: ViewSpec, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts) as a typed table; wrong types, missing fields or out-of-range values raise with the field name."""
    columns = {}
    for field in online_schema(view):
        values = [r.get(field.name) for r in rows]
        if field.name == "version" and "version" not in view.field_names and all(v is None for v in values):
            values = [r.get("event_time") for r in rows]  # no version given: event time orders the writes
        try:  # infer first: a direct conversion would turn 1.5 into 1 and 42 into "42" without a word
            inferred = pa.array(values, from_pandas=False)
            if not _same_family(field.type, inferred.type):
                raise TypeError(f"expected {field.type}, got {inferred.type}")
            column = inferred.cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError) as exc:
            raise FeatureValidationError(f"{view.name}.{field.name}: {exc}") from None
        columns[field.name] = column
    return validate(view, pa.table(columns))


def validate(view: ViewSpec, table: pa.Table) -> pa.Table:
    """Presence, type and length rules of `view`, checked over the whole batch at once; returns the table."""
    for field in online_schema(view):
        if field.name not in table.column_names:
            raise FeatureValidationError(f"{view.name}: missing field {field.name!r}")
        column = table[field.name]
        if column.null_count:
            raise FeatureValidationError(f"{view.name}: missing value(s) for {field.name!r} (e.g. row {_first(pc.is_null(column))})")
        if column.type != field.type:
            raise FeatureValidationError(f"{view.name}.{field.name}: expected {field.type}, got {column.type}")
    keys = table[view.join_key]
    for spec in view.fields:
        if spec.is_list or spec.dtype in ("string", "bytes"):
            _check_lengths(view, spec, table, keys)
    return table


def _check_lengths(view: ViewSpec, spec: FieldSpec, table: pa.Table, keys: pa.ChunkedArray) -> None:
    column = table[spec.name].combine_chunks()
    length = pc.list_value_length if spec.is_list else pc.binary_length if spec.dtype == "bytes" else pc.utf8_length
    sizes = length(column).to_numpy()
    rules = []
    if spec.exact_len is not None:
        rules.append((sizes != spec.exact_len, f"expected exactly {spec.exact_len}"))
    if spec.max_len is not None:
        rules.append((sizes > spec.max_len, f"max {spec.max_len}"))
    if spec.multiple_of:
        rules.append((sizes % spec.multiple_of != 0, f"must be a multiple of {spec.multiple_of}"))
    if spec.same_len_as is not None:
        other = pc.list_value_length(table[spec.same_len_as].combine_chunks()).to_numpy()
        rules.append((sizes != other, f"must equal the length of {spec.same_len_as}"))
    for bad, rule in rules:
        if bad.any():
            row = int(np.argmax(bad))
            raise FeatureValidationError(
                f"{view.name}[{view.join_key}={keys[row]}].{spec.name}: length {sizes[row]}, {rule}"
            )


def _same_family(target: pa.DataType, given: pa.DataType) -> bool:
    """Whether values inferred as `given` may become `target` (integers may become floats; nothing else crosses)."""
    if pa.types.is_null(given):
        return True  # all missing: reported as missing values
    if pa.types.is_list(target) != pa.types.is_list(given):
        return False
    target = target.value_type if pa.types.is_list(target) else target
    given = given.value_type if pa.types.is_list(given) else given
    if pa.types.is_null(given):
        return True
    if pa.types.is_integer(target):
        return pa.types.is_integer(given)
    if pa.types.is_floating(target):
        return pa.types.is_integer(given) or pa.types.is_floating(given)
    if pa.types.is_string(target):
        return pa.types.is_string(given) or pa.types.is_large_string(given)
    return pa.types.is_binary(given) or pa.types.is_large_binary(given)


def _first(mask: pa.ChunkedArray) -> int:
    return int(np.argmax(mask.to_numpy(zero_copy_only=False)))
