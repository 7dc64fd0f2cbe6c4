"""Batched writes and one-round-trip reads of Feast-layout Redis hashes, without Feast's per-call overhead.

Writes: a batch is validated and encoded as whole columns first (a bad row raises before any command is sent), then
sent as one call of a Lua script, so a reader sees the whole batch or none of it. The script applies a row only if its
version is >= the stored one: same-second updates are never dropped (versions are milliseconds), an older snapshot
never overwrites a newer one, and replaying a batch converges. (On Redis Cluster a script's keys must share a slot:
the writer would split a batch per slot, atomic per shard; not needed for the single-node store used here.)

Reads: one MULTI/EXEC of HMGETs (one per view per entity) = one round trip for any number of users and views, all
as of one instant (never half of a concurrent write batch), decoded straight into numpy arrays. Max age is enforced here, at read time (Feast does not enforce a view's ttl online): a
row whose event timestamp is older than `max_age` is reported as expired and its values are not returned.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import redis

from feature_store.online import resp
from feature_store.online.layout import ViewLayout, timestamp_ms
from feature_store.online.validation import rows_to_table, validate
from feature_store.online.value_decoding import Column, ListColumn, decode_columns
from feature_store.online.value_encoding import encode_timestamps, value_parts
from feature_store.store import PROJECT
from feature_store.views import ViewSpec
from schemas.ragged import decimal_ascii

def _write_script(features: int) -> str:
    """The batch-write script of a view with `features` fields: one call writes a whole batch, so it is atomic.

    ARGV is column-major, so each column is framed in one pass: version field, ts field, ttl, then the feature field
    names, then n versions, n timestamps and n values of each feature, in row order. A row is applied when its
    version is >= the stored one. The HSET argument list is spelled out for this view's width: no Lua table per row.
    """
    pairs = ", ".join(f"ARGV[{3 + j}], ARGV[b + {j + 1} * n + i]" for j in range(1, features + 1))
    return f"""
local vf, tsf, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = #KEYS
local b = 3 + {features}
local applied = 0
for i = 1, n do
  local version = ARGV[b + i]
  local current = redis.call('HGET', KEYS[i], vf)
  if not current or tonumber(current) <= tonumber(version) then
    redis.call('HSET', KEYS[i], vf, version, tsf, ARGV[b + n + i], {pairs})
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
    applied = applied + 1
  end
end
return applied
"""


@dataclass(frozen=True)
class WriteResult:
    applied: int
    stale: int
    """Rows skipped because the stored version was newer."""


class OnlineWriter:
    """Writes snapshot rows of one view, one atomic script call per batch.

    A row holds the join key, `event_time` (epoch ms, becomes Feast's `_ts`), `version` (epoch-ms-monotonic; the
    event time when a view has no version) and every feature. `write_table` takes the same as Arrow columns
    (`validation.online_schema`), which is what the streaming job produces and the fast path.
    """

    def __init__(self, client: redis.Redis, view: ViewSpec, project: str = PROJECT, key_ttl_seconds: int | None = None) -> None:
        self.client = client
        self.view = view
        self.layout = ViewLayout(view, project)
        self.key_ttl_seconds = key_ttl_seconds or 0
        self._script = _write_script(len(view.fields))
        self._sha = hashlib.sha1(self._script.encode()).hexdigest().encode()
        self._fixed_args = [self.layout.version_key, self.layout.ts_key, b"%d" % self.key_ttl_seconds, *self.layout.field_keys]

    def write(self, rows: Sequence[Mapping[str, Any]]) -> WriteResult:
        return self.write_table(rows_to_table(self.view, rows))

    def write_table(self, table: pa.Table) -> WriteResult:
        return self.write_tables([table])

    def write_tables(self, tables: Iterable[pa.Table]) -> WriteResult:
        """Write several batches, each atomic, pipelined: batch k+1 is encoded while Redis applies batch k."""
        self.client.script_load(self._script)  # idempotent, one round trip: EVALSHA below never meets NOSCRIPT
        in_flight = applied = total = 0
        with resp.connection(self.client) as connection:
            for table in tables:
                if table.num_rows == 0:
                    continue
                connection.send_packed_command([self._pack(table)])
                in_flight += 1
                total += table.num_rows
                if in_flight > 1:
                    applied += int(connection.read_response())
                    in_flight -= 1
            for _ in range(in_flight):
                applied += int(connection.read_response())
        return WriteResult(applied, total - applied)

    def _pack(self, table: pa.Table) -> bytes:
        validate(self.view, table)
        version = "version" if "version" in table.column_names else "event_time"
        args: list[bytes | resp.Column] = [
            b"EVALSHA", self._sha, b"%d" % table.num_rows,
            self.layout.redis_keys(table[self.view.join_key].to_numpy()),
            *self._fixed_args,
            decimal_ascii(table[version].to_numpy()),
            encode_timestamps(table["event_time"].to_numpy()),
            *(value_parts(spec, table[spec.name]) for spec in self.view.fields),
        ]  # fmt: skip
        return resp.command(args)


# Atomic multi-entity read: KEYS are entity-major (one key per view per entity); ARGV = number of views, then each
# view's field count and field names. Returns one HMGET reply per key.
_READ_BATCH = """
local views, p = {}, 2
for v = 1, tonumber(ARGV[1]) do
  local count = tonumber(ARGV[p])
  views[v] = {unpack(ARGV, p + 1, p + count)}
  p = p + count + 1
end
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HMGET', KEYS[i], unpack(views[(i - 1) % #views + 1])) end
return out
"""


@dataclass
class ViewRow:
    status: str
    """present, missing (no row) or expired (older than max_age)."""
    values: dict[str, Any] = field(default_factory=dict)
    event_time: int | None = None
    version: int | None = None


@dataclass
class FeatureVector:
    entity_id: int
    views: dict[str, ViewRow]

    def __getitem__(self, view: str) -> ViewRow:
        return self.views[view]


@dataclass
class ViewBatch:
    """One view for a batch of entities, as columns: what a model consumes."""

    status: np.ndarray
    event_time: np.ndarray
    """epoch ms, 0 where missing."""
    version: np.ndarray
    """-1 where missing or unversioned."""
    columns: dict[str, Column]

    def row(self, i: int) -> ViewRow:
        status = str(self.status[i])
        event_time = int(self.event_time[i]) or None
        version = int(self.version[i]) if self.version[i] >= 0 else None
        if status != "present":
            return ViewRow(status, {}, event_time, version)
        values = {name: (col[i] if isinstance(col, ListColumn) else _scalar(col[i])) for name, col in self.columns.items()}
        return ViewRow(status, values, event_time, version)


@dataclass
class FeatureBatch:
    entity_ids: np.ndarray
    views: dict[str, ViewBatch]

    def __getitem__(self, view: str) -> ViewBatch:
        return self.views[view]

    def vector(self, i: int) -> FeatureVector:
        return FeatureVector(int(self.entity_ids[i]), {name: view.row(i) for name, view in self.views.items()})


class OnlineReader:
    """Reads several views of one entity type, for one entity or a batch, in one round trip per call."""

    def __init__(
        self,
        client: redis.Redis,
        views: Sequence[ViewSpec],
        project: str = PROJECT,
        max_age: Mapping[str, timedelta] | None = None,
    ) -> None:
        entities = {v.entity for v in views}
        if len(entities) != 1:
            raise ValueError(f"views of one entity type only, got {sorted(entities)}")
        self.client = client
        self.layouts = [ViewLayout(v, project) for v in views]
        ages = {v.name: v.ttl for v in views} | dict(max_age or {})
        self._max_age_ms = {name: int(age.total_seconds() * 1000) for name, age in ages.items()}
        self._fields = [[*lay.field_keys, lay.ts_key, lay.version_key] for lay in self.layouts]
        self._argv = [b"%d" % len(self.layouts)] + [a for f in self._fields for a in (b"%d" % len(f), *f)]
        self._sha = hashlib.sha1(_READ_BATCH.encode()).hexdigest().encode()
        self._hmget = resp.command([b"HMGET", b"%KEY%", *self._fields[0]]).split(b"$5\r\n%KEY%\r\n")

    def read(self, entity_id: int, now_ms: int | None = None) -> FeatureVector:
        """One entity: decoded field by field (cheaper than the columnar path for a single row)."""
        replies = self._fetch(np.array([entity_id], dtype=np.int64))
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        return FeatureVector(int(entity_id), {lay.view.name: self._row(lay, raw, now) for lay, raw in zip(self.layouts, replies)})

    def read_many(self, entity_ids: Sequence[int], now_ms: int | None = None) -> list[FeatureVector]:
        batch = self.read_batch(entity_ids, now_ms)
        return [batch.vector(i) for i in range(len(entity_ids))]

    def read_batch(self, entity_ids: Sequence[int] | np.ndarray, now_ms: int | None = None) -> FeatureBatch:
        """All views of `entity_ids`, atomically (as of one instant), decoded into columns."""
        ids = np.asarray(entity_ids, dtype=np.int64)
        replies = self._fetch(ids)
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        views = {}
        for v, layout in enumerate(self.layouts):
            views[layout.view.name] = self._decode(layout, replies[v :: len(self.layouts)], now)
        return FeatureBatch(ids, views)

    def _fetch(self, ids: np.ndarray) -> list[list[bytes | None]]:
        ordered = [layout.key(i) for i in ids.tolist() for layout in self.layouts]
        with resp.connection(self.client) as connection:
            if len(ordered) == 1:  # one HMGET is atomic by itself; its framing is cached around the key
                key = ordered[0]
                connection.send_packed_command([self._hmget[0], b"$%d\r\n%s\r\n" % (len(key), key), self._hmget[1]])
                return [connection.read_response()]
            packed = resp.command([b"EVALSHA", self._sha, b"%d" % len(ordered), *ordered, *self._argv])
            connection.send_packed_command([packed])
            try:
                return connection.read_response()
            except redis.exceptions.NoScriptError:
                self.client.script_load(_READ_BATCH)
                connection.send_packed_command([packed])
                return connection.read_response()

    def _row(self, layout: ViewLayout, raw: list[bytes | None], now: int) -> ViewRow:
        event_time = timestamp_ms(raw[-2])
        if event_time is None:
            return ViewRow("missing")
        version = int(raw[-1]) if raw[-1] is not None else None
        if now - event_time > self._max_age_ms[layout.view.name]:
            return ViewRow("expired", event_time=event_time, version=version)
        return ViewRow("present", layout.decode_fields(raw[:-2]) or {}, event_time, version)

    def _decode(self, layout: ViewLayout, rows: list[list[bytes | None]], now: int) -> ViewBatch:
        n = len(rows)
        event_time = np.array([timestamp_ms(r[-2]) or 0 for r in rows], dtype=np.int64)
        version = np.array([int(r[-1]) if r[-1] is not None else -1 for r in rows], dtype=np.int64)
        expired = (event_time > 0) & (now - event_time > self._max_age_ms[layout.view.name])
        status = np.where(event_time == 0, "missing", np.where(expired, "expired", "present"))
        keep = status == "present"
        if not keep.all():  # values of missing and expired rows are not returned
            rows = [r if k else [None] * len(r) for r, k in zip(rows, keep.tolist())]
        fields = list(zip(*rows)) if n else [[] for _ in range(len(layout.view.fields) + 2)]
        return ViewBatch(status, event_time, version, decode_columns(list(layout.view.fields), fields[:-2]))


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
