"""The writer's script calls, cut per slot from columns framed once, are byte for byte the calls framed whole per
run (`resp.command` of every argument: the reference)."""

from __future__ import annotations

import time

import pyarrow as pa
import redis

from feature_store.online import resp
from feature_store.online.validation import rows_to_table
from feature_store.online.value_encoding import encode_timestamps, value_parts
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from schemas.ragged import Ragged, decimal_ascii


def test_rows_cut_from_a_framed_column_are_each_rows_framing() -> None:
    values = [b"", b"a", b"x" * 9, b"y" * 10, b"z" * 12_345]
    data, offsets = resp.framed_rows(Ragged.from_arrow(pa.array(values, pa.binary())))
    assert [data[a:b] for a, b in zip(offsets, offsets[1:])] == [b"$%d\r\n%s\r\n" % (len(v), v) for v in values]


def _reference(writer: OnlineWriter, table: pa.Table) -> bytes:
    return resp.command([
        b"EVALSHA", writer._sha, b"%d" % table.num_rows, writer.layout.redis_keys(table["user_id"].to_numpy()),
        *writer._fixed_args, decimal_ascii(table["version"].to_numpy()), encode_timestamps(table["event_time"].to_numpy()),
        *(value_parts(spec, table[spec.name]) for spec in USER_REALTIME.fields),
    ])  # fmt: skip


def test_script_calls_per_run_equal_the_reference_framing() -> None:
    now = int(time.time() * 1000)
    writer = OnlineWriter(redis.Redis(), USER_REALTIME)  # never connects: framing only
    table = rows_to_table(USER_REALTIME, [sample_realtime_row(u, now - u, n=u, seed=u) for u in range(1, 12)])
    starts = [0, 1, 4, 9, 11]
    calls = writer._pack_runs(table, starts)
    assert calls == [_reference(writer, table.slice(a, b - a)) for a, b in zip(starts, starts[1:])]
    assert writer._pack(table) == _reference(writer, table)


def test_the_cluster_call_passes_the_keys_last_and_declares_none() -> None:
    writer = OnlineWriter(redis.Redis(), USER_REALTIME)
    table = rows_to_table(USER_REALTIME, [sample_realtime_row(u, 1_700_000_000_000, seed=u) for u in (5, 9)])
    whole = _reference(writer, table)
    keys = writer.layout.redis_keys(table["user_id"].to_numpy())
    values = whole[whole.index(resp.arguments([writer._fixed_args[0]])) :]  # after the keys: fixed arguments, columns
    count = int(whole[1 : whole.index(b"\r\n")]) + 1  # the same arguments and the key count
    call = writer._pack_runs(table, [0, 2], keys_last=True)[0]
    assert call == b"*%d\r\n" % count + resp.arguments([b"EVALSHA", writer._cluster_sha, b"0"]) + values + \
        resp.bulk(keys) + resp.arguments([b"2"])  # fmt: skip
