"""Batched writes of Feast-layout Redis hashes, without Feast's per-call overhead.

A batch is validated and encoded as whole columns first (a bad row raises before any command is sent), then sent as
one call of a Lua script, so a reader sees the whole batch or none of it. The script applies a row only if its version
is >= the stored one: same-second updates are never dropped (versions are milliseconds), an older snapshot never
overwrites a newer one, and replaying a batch converges. On Redis Cluster a batch is split by master, one call on
each (Redis 7's cross-slot scripts, the keys passed as arguments): atomic per master, not whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa
from redis.connection import Connection

from feature_store.online import cluster, resp
from feature_store.online.layout import ViewLayout
from feature_store.online.validation import rows_to_table, validate
from feature_store.online.value_encoding import encode_timestamps, value_parts
from feature_store.store import PROJECT
from feature_store.views import ViewSpec
from schemas.ragged import decimal_ascii


def _write_script(features: int, keys_in_argv: bool = False) -> str:
    """The batch-write script of a view with `features` fields: one call writes a whole batch, so it is atomic.

    ARGV is column-major, so each column is framed in one pass: version field, ts field, ttl, then the feature field
    names, then n versions, n timestamps and n values of each feature, in row order. A row is applied when its
    version is >= the stored one. The HSET argument list is spelled out for this view's width: no Lua table per row.
    With `keys_in_argv` (Redis Cluster) no key is declared: the n keys follow in ARGV, then n, and the script may
    touch every slot of the master it runs on (Redis 7's `allow-cross-slot-keys`; a key of another master fails the
    call, which is then retried on the new topology): one call per master, atomic on it.
    """
    pairs = ", ".join(f"ARGV[{3 + j}], ARGV[b + {j + 1} * n + i]" for j in range(1, features + 1))
    shebang, count, key = ("", "#KEYS", "KEYS[i]")
    if keys_in_argv:
        shebang, count, key = ("#!lua flags=allow-cross-slot-keys\n", "tonumber(ARGV[#ARGV])", "ARGV[#ARGV - n - 1 + i]")
    return f"""{shebang}
local vf, tsf, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = {count}
local b = 3 + {features}
local applied = 0
for i = 1, n do
  local key, version = {key}, ARGV[b + i]
  local current = redis.call('HGET', key, vf)
  if not current or tonumber(current) <= tonumber(version) then
    redis.call('HSET', key, vf, version, tsf, ARGV[b + n + i], {pairs})
    if ttl > 0 then redis.call('EXPIRE', key, ttl) end
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


class PendingWrite:
    """A batch sent to Redis whose reply is not read yet: the server applies it while the caller goes on (parses
    the next batch). `result()` reads the reply; the connection goes back to the pool then (dropped if it failed)."""

    def __init__(self, rows: int, connection: Connection | None = None, release: ExitStack | None = None,
                 done: WriteResult | None = None) -> None:  # fmt: skip
        self.rows, self._connection, self._release, self._done = rows, connection, release, done

    def result(self) -> WriteResult:
        if self._done is None:
            assert self._connection is not None and self._release is not None
            with self._release:
                applied = int(self._connection.read_response())
            self._done = WriteResult(applied, self.rows - applied)
        return self._done


class OnlineWriter:
    """Writes snapshot rows of one view, one atomic script call per batch.

    A row holds the join key, `event_time` (epoch ms, becomes Feast's `_ts`), `version` (epoch-ms-monotonic; the
    event time when a view has no version) and every feature. `write_table` takes the same as Arrow columns
    (`validation.online_schema`), which is what the streaming job produces and the fast path.
    """

    def __init__(self, client: cluster.Client, view: ViewSpec, project: str = PROJECT, key_ttl_seconds: int | None = None) -> None:
        self.client = client
        self.view = view
        self.layout = ViewLayout(view, project)
        self.key_ttl_seconds = key_ttl_seconds or 0
        self._script = _write_script(len(view.fields))
        self._sha = hashlib.sha1(self._script.encode()).hexdigest().encode()
        cluster_script = _write_script(len(view.fields), keys_in_argv=True).encode()
        self._cluster_sha = hashlib.sha1(cluster_script).hexdigest().encode()
        self._load_cluster_script = resp.command([b"SCRIPT", b"LOAD", cluster_script])
        self._fixed_args = [self.layout.version_key, self.layout.ts_key, b"%d" % self.key_ttl_seconds, *self.layout.field_keys]

    def write(self, rows: Sequence[Mapping[str, Any]]) -> WriteResult:
        return self.write_table(rows_to_table(self.view, rows))

    def write_table(self, table: pa.Table) -> WriteResult:
        return self.write_tables([table])

    def send_table(self, table: pa.Table) -> PendingWrite:
        """Send one batch and return without waiting for Redis to apply it (on a cluster: written before it returns)."""
        if cluster.is_cluster(self.client) or table.num_rows == 0:
            return PendingWrite(table.num_rows, done=self.write_table(table))
        validate(self.view, table)
        self.client.script_load(self._script)
        packed = self._pack(table)
        with ExitStack() as stack:  # a failed send drops the connection; else it is held until the reply is read
            connection = stack.enter_context(resp.connection(self.client))
            connection.send_packed_command([packed])
            return PendingWrite(table.num_rows, connection, stack.pop_all())

    def write_tables(self, tables: Iterable[pa.Table]) -> WriteResult:
        """Write several batches, each atomic, pipelined: batch k+1 is encoded while Redis applies batch k."""
        if cluster.is_cluster(self.client):
            return self._write_cluster(tables)
        self.client.script_load(self._script)  # idempotent, one round trip: EVALSHA below never meets NOSCRIPT
        in_flight = applied = total = 0
        with resp.connection(self.client) as connection:
            for table in tables:
                if table.num_rows == 0:
                    continue
                validate(self.view, table)
                connection.send_packed_command([self._pack(table)])
                in_flight += 1
                total += table.num_rows
                if in_flight > 1:
                    applied += int(connection.read_response())
                    in_flight -= 1
            for _ in range(in_flight):
                applied += int(connection.read_response())
        return WriteResult(applied, total - applied)

    def _write_cluster(self, tables: Iterable[pa.Table]) -> WriteResult:
        """Each batch one script call per master (atomic on it), sent to all of them before any reply is read,
        retried whole through a failover."""
        applied = total = 0
        for table in tables:
            if table.num_rows == 0:
                continue
            validate(self.view, table)
            applied += cluster.retrying(self.client, partial(self._write_masters, table))  # type: ignore[arg-type]
            total += table.num_rows
        return WriteResult(applied, total - applied)

    def _write_masters(self, table: pa.Table) -> int:
        keys = [self.layout.key(int(i)) for i in table[self.view.join_key].to_numpy()]
        with ExitStack() as stack:
            sent = []
            for node, positions in cluster.by_master(self.client, keys):  # type: ignore[arg-type]
                connection = stack.enter_context(resp.connection(node))
                call = self._pack(table.take(positions), keys_last=True)
                connection.send_packed_command([self._load_cluster_script, call])  # a new master has no scripts yet
                sent.append(connection)
            applied = 0
            for connection in sent:
                connection.read_response()  # SCRIPT LOAD's sha
                applied += int(connection.read_response())
            return applied

    def _pack(self, table: pa.Table, keys_last: bool = False) -> bytes:
        """The script call of a validated batch; `keys_last`: the cluster script's (keys and their count after the
        values, none declared)."""
        version = "version" if "version" in table.column_names else "event_time"
        keys = self.layout.redis_keys(table[self.view.join_key].to_numpy())
        values = [
            decimal_ascii(table[version].to_numpy()),
            encode_timestamps(table["event_time"].to_numpy()),
            *(value_parts(spec, table[spec.name]) for spec in self.view.fields),
        ]
        if keys_last:
            return resp.command([b"EVALSHA", self._cluster_sha, b"0", *self._fixed_args, *values, keys, b"%d" % table.num_rows])
        return resp.command([b"EVALSHA", self._sha, b"%d" % table.num_rows, keys, *self._fixed_args, *values])
