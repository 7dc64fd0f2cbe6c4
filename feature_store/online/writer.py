"""Batched writes of Feast-layout Redis hashes, without Feast's per-call overhead.

A batch is validated and encoded as whole columns first (a bad row raises before any command is sent), then sent as
one call of a Lua script, so a reader sees the whole batch or none of it. The script applies a row only if its version
is >= the stored one: same-second updates are never dropped (versions are milliseconds), an older snapshot never
overwrites a newer one, and replaying a batch converges. (On Redis Cluster a script's keys must share a slot: a cluster
writer would split each batch per slot, atomic per shard; not needed for the single-node store used here.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import redis

from feature_store.online import resp
from feature_store.online.layout import ViewLayout
from feature_store.online.validation import rows_to_table, validate
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
