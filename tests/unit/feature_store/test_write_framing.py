"""The writer's cluster call holds what its single-server call holds, the keys moved after the values and counted
there: no key declared, so one call may write every slot of a master."""

from __future__ import annotations

import redis

from feature_store.online import resp
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME


def test_the_cluster_call_passes_the_keys_last_and_declares_none() -> None:
    writer = OnlineWriter(redis.Redis(), USER_REALTIME)  # never connects: framing only
    table = rows_to_table(USER_REALTIME, [sample_realtime_row(u, 1_700_000_000_000, n=u, seed=u) for u in (5, 9, 12)])
    keys = [resp.command([writer.layout.redis_key(u)])[4:] for u in (5, 9, 12)]  # each key framed, without its count
    single, clustered = writer._pack(table), writer._pack(table, keys_last=True)
    count = int(single[1 : single.index(b"\r\n")])
    head = b"*%d\r\n" % count + resp.command([b"EVALSHA", writer._sha, b"3"])[4:] + b"".join(keys)
    assert single.startswith(head)
    values = single[len(head) :]  # the fixed arguments and every column
    cluster_head = b"*%d\r\n" % (count + 1) + resp.command([b"EVALSHA", writer._cluster_sha, b"0"])[4:]
    assert clustered == cluster_head + values + b"".join(keys) + resp.command([b"3"])[4:]
