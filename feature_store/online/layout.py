"""Feast's Redis layout for one feature view, built with Feast's own helpers (entity key, field hash, Value protos).

One Redis hash per entity: key = Feast's serialized entity key + project; field = murmur3_32("{view}:{feature}")
holding a serialized `feast.types.Value`, plus `_ts:{view}` (protobuf Timestamp). freshrec adds `_v:{view}`, the
snapshot version as a decimal string, which Feast never reads and the write script compares atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from feast.infra.online_stores.helpers import _mmh3, _redis_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from google.protobuf.timestamp_pb2 import Timestamp

from feature_store.views import FieldSpec, ViewSpec

ENTITY_KEY_SERIALIZATION_VERSION = 3

# dtype -> (Value oneof field, numpy dtype for lists or Python type for scalars)
_SCALAR = {"int64": ("int64_val", int), "int32": ("int32_val", int), "float32": ("float_val", float), "string": ("string_val", str)}
_LIST = {
    "int64[]": ("int64_list_val", np.int64), "int32[]": ("int32_list_val", np.int32),
    "float32[]": ("float_list_val", np.float32), "string[]": ("string_list_val", object),
}  # fmt: skip
_INT_RANGE = {"int64": (-(2**63), 2**63 - 1), "int32": (-(2**31), 2**31 - 1)}


class FeatureValidationError(ValueError):
    """A row does not match its view's spec; raised before anything is written."""


class ViewLayout:
    def __init__(self, view: ViewSpec, project: str) -> None:
        self.view = view
        self.project = project
        self.field_keys = [_mmh3(f"{view.name}:{f.name}") for f in view.fields]
        self.ts_key = f"_ts:{view.name}".encode()
        self.version_key = f"_v:{view.name}".encode()

    def redis_key(self, entity_id: int) -> bytes:
        entity = EntityKey(join_keys=[self.view.join_key], entity_values=[Value(int64_val=int(entity_id))])
        return _redis_key(self.project, entity, entity_key_serialization_version=ENTITY_KEY_SERIALIZATION_VERSION)

    def encode_row(self, row: Mapping[str, Any]) -> list[bytes]:
        """Serialized Value per field, in spec order; FeatureValidationError on any mismatch."""
        entity = row.get(self.view.join_key)
        where = f"{self.view.name}[{self.view.join_key}={entity}]"
        missing = [f.name for f in self.view.fields if f.name not in row or row[f.name] is None]
        if missing:
            raise FeatureValidationError(f"{where}: missing field(s) {missing}")
        out = []
        for spec in self.view.fields:
            value = row[spec.name]
            encoded = _encode_value(spec, value, where)
            _check_lengths(spec, value, row, where)
            out.append(encoded.SerializeToString())
        return out

    def decode_fields(self, raw: list[bytes | None]) -> dict[str, Any] | None:
        """Field values from HMGET results in spec order; None when the view has no row for this entity."""
        if all(r is None for r in raw):
            return None
        return {spec.name: decode_value(spec, r) for spec, r in zip(self.view.fields, raw)}


def timestamp_bytes(epoch_ms: int) -> bytes:
    return Timestamp(seconds=epoch_ms // 1000, nanos=(epoch_ms % 1000) * 1_000_000).SerializeToString()


def timestamp_ms(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    ts = Timestamp.FromString(raw)
    return ts.seconds * 1000 + ts.nanos // 1_000_000


def decode_value(spec: FieldSpec, raw: bytes | None) -> Any:
    if raw is None:
        return None
    value = Value.FromString(raw)
    if spec.is_list:
        attr, dtype = _LIST[spec.dtype]
        values = getattr(value, attr).val
        return list(values) if dtype is object else np.fromiter(values, dtype=dtype, count=len(values))
    return getattr(value, _SCALAR[spec.dtype][0])


def _encode_value(spec: FieldSpec, value: Any, where: str) -> Value:
    if spec.is_list:
        attr, dtype = _LIST[spec.dtype]
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise FeatureValidationError(f"{where}.{spec.name}: expected a list of {spec.dtype[:-2]}, got {type(value).__name__}")
        items = _as_list(spec, value, dtype, where)
        proto = Value()
        getattr(proto, attr).val.extend(items)
        return proto
    attr, kind = _SCALAR[spec.dtype]
    if kind is int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise FeatureValidationError(f"{where}.{spec.name}: expected {spec.dtype}, got {type(value).__name__}")
    if kind is float and not isinstance(value, (int, float, np.integer, np.floating)):
        raise FeatureValidationError(f"{where}.{spec.name}: expected {spec.dtype}, got {type(value).__name__}")
    if kind is str and not isinstance(value, str):
        raise FeatureValidationError(f"{where}.{spec.name}: expected a string, got {type(value).__name__}")
    if kind is int:
        low, high = _INT_RANGE[spec.dtype]
        if not low <= int(value) <= high:
            raise FeatureValidationError(f"{where}.{spec.name}: {value} out of {spec.dtype} range")
    return Value(**{attr: kind(value)})


def _as_list(spec: FieldSpec, value: Any, dtype: Any, where: str) -> list:
    if dtype is object:
        if not all(isinstance(v, str) for v in value):
            raise FeatureValidationError(f"{where}.{spec.name}: expected strings")
        return list(value)
    array = np.asarray(value)
    if array.ndim != 1:
        raise FeatureValidationError(f"{where}.{spec.name}: expected a flat list, got shape {array.shape}")
    if array.size and not np.can_cast(array.dtype, dtype, casting="same_kind"):
        raise FeatureValidationError(f"{where}.{spec.name}: expected {spec.dtype}, got {array.dtype} values")
    if np.issubdtype(dtype, np.integer) and array.size:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise FeatureValidationError(f"{where}.{spec.name}: values out of {spec.dtype} range")
    return array.astype(dtype, copy=False).tolist()


def _check_lengths(spec: FieldSpec, value: Any, row: Mapping[str, Any], where: str) -> None:
    if not spec.is_list and spec.dtype != "string":
        return
    n = len(value)
    problems = []
    if spec.exact_len is not None and n != spec.exact_len:
        problems.append(f"length {n}, expected exactly {spec.exact_len}")
    if spec.max_len is not None and n > spec.max_len:
        problems.append(f"length {n} > max {spec.max_len}")
    if spec.multiple_of and n % spec.multiple_of:
        problems.append(f"length {n} is not a multiple of {spec.multiple_of}")
    if spec.same_len_as is not None and row.get(spec.same_len_as) is not None and n != len(row[spec.same_len_as]):
        problems.append(f"length {n} differs from {spec.same_len_as} ({len(row[spec.same_len_as])})")
    if problems:
        raise FeatureValidationError(f"{where}.{spec.name}: " + "; ".join(problems))
