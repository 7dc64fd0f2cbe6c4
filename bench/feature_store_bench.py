"""Online store: Feast SDK vs freshrec's Redis codec, same Redis, same 10,000 users, same run.

    python -m bench.feature_store_bench [--users 10000] [--reads 2000]

Writes: rows/s for Feast `push` (batches of 1,000 rows, online) and for the codec (`OnlineWriter.write_tables`,
batches of 1,000 rows, pipelined; the Arrow tables are built outside the timer, as the DataFrames for `push` are).
Reads of every `user_realtime` feature: single-user and batch-of-100 latency, p50/p99, for Feast
`get_online_features(...).to_dict()` and the codec's `OnlineReader` (one round trip; `read` decodes one user's
fields to numpy arrays, `read_batch` decodes a batch into columns: flat values + offsets, what a model consumes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import redis
from feast.data_source import PushMode

from feature_store.online.reader import OnlineReader
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.store import apply, copy_repo, open_store
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis

BATCH = 1_000


def percentiles(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples) * 1000, [50, 99])
    return float(p50), float(p99)


def timed(calls: list) -> list[float]:  # noqa: ANN001
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=2_000, help="single-user reads per reader (batches: reads / 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalRedis(RedisSettings(port=free_port()), Path(tmp))
        server.start()
        try:
            run(Path(tmp), server, args.users, args.reads)
        finally:
            server.stop()


def run(tmp: Path, server: LocalRedis, users: int, reads: int) -> None:
    now = int(time.time() * 1000)
    rows = [sample_realtime_row(u, now - 1000, version=now, n=50, seed=u) for u in range(1, users + 1)]
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "event_time"} for r in rows])
    frame["event_timestamp"] = frame["created"] = datetime.fromtimestamp((now - 1000) / 1000, timezone.utc)
    tables = [rows_to_table(USER_REALTIME, rows[s : s + BATCH]) for s in range(0, users, BATCH)]
    tcp = f"127.0.0.1:{server.settings.port}"
    transports = {
        "TCP loopback": (tcp, redis.Redis(port=server.settings.port)),
        "Unix socket": (f"{tcp},unix_socket_path={server.socket_path}", redis.Redis(unix_socket_path=str(server.socket_path))),
    }
    print(f"Redis {server.version()}, {users:,} users, user_realtime = {len(USER_REALTIME.fields)} features (last-50 arrays)\n")
    print("| transport | measure | Feast SDK | freshrec codec | ratio |")
    print("|---|---|---:|---:|---:|")
    for transport, (connection, client) in transports.items():
        store = open_store(copy_repo(tmp / transport.replace(" ", "-")), connection)
        apply(store)
        client.flushdb()
        for line in measure(store, client, frame, tables, users, reads):
            print(f"| {transport} | {line}")


def measure(store, client: redis.Redis, frame: pd.DataFrame, tables: list, users: int, reads: int) -> list[str]:  # noqa: ANN001
    started = time.perf_counter()
    for s in range(0, users, BATCH):
        store.push("user_realtime_push", frame.iloc[s : s + BATCH], to=PushMode.ONLINE)
    push_rate = users / (time.perf_counter() - started)
    client.flushdb()
    started = time.perf_counter()
    result = OnlineWriter(client, USER_REALTIME).write_tables(tables)
    codec_rate = users / (time.perf_counter() - started)
    assert result.applied == users

    rng = np.random.default_rng(1)
    singles = rng.integers(1, users + 1, reads).tolist()
    batches = [rng.integers(1, users + 1, 100).tolist() for _ in range(reads // 10)]
    features = [f"user_realtime:{f}" for f in USER_REALTIME.field_names]
    reader = OnlineReader(client, [USER_REALTIME])

    def sdk(ids: list[int]):  # noqa: ANN202
        return lambda: store.get_online_features(features=features, entity_rows=[{"user_id": i} for i in ids]).to_dict()

    sdk_one = percentiles(timed([sdk([u]) for u in singles]))
    codec_one = percentiles(timed([lambda u=u: reader.read(u) for u in singles]))
    sdk_100 = percentiles(timed([sdk(b) for b in batches]))
    codec_100 = percentiles(timed([lambda b=b: reader.read_batch(b) for b in batches]))
    lines = [f"write, rows/s (batches of {BATCH:,}) | {push_rate:,.0f} | {codec_rate:,.0f} | {codec_rate / push_rate:.1f}x |"]
    for name, (a50, a99), (b50, b99) in (("single-user read", sdk_one, codec_one), ("batch-of-100 read", sdk_100, codec_100)):
        lines.append(f"{name} p50, ms | {a50:.3f} | {b50:.3f} | {a50 / b50:.1f}x |")
        lines.append(f"{name} p99, ms | {a99:.3f} | {b99:.3f} | {a99 / b99:.1f}x |")
    return lines


if __name__ == "__main__":
    main()
