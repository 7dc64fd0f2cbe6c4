"""Online store: Feast SDK vs freshrec's Redis codec, same Redis, same 10,000 users, same run.

    python -m bench.feature_store_bench [--users 10000] [--reads 2000]

Writes: rows/s (median of 3) for Feast `push` (batches of 1,000 rows, online) and for the codec (`OnlineWriter.write_tables`,
batches of 1,000 rows, pipelined; the Arrow tables are built outside the timer, as the DataFrames for `push` are).
Reads of every `user_realtime` feature: single-user and batch-of-100 latency, p50/p99, for Feast
`get_online_features(...).to_dict()` and the codec's `OnlineReader` (one round trip; `read` decodes one user's
fields to numpy arrays, `read_batch` decodes a batch into columns: flat values + offsets, what a model consumes).
Each reader runs in a fresh process of its own (as a serving process would), after 50 + 5 warm-up calls. The codec
is measured twice: as configured (it polls for its reply up to `spin_us` before blocking) and blocking at once, to
show what the polling buys on this machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import redis
from feast.data_source import PushMode

from feature_store.online.reader import SPIN_US, OnlineReader
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


def write_rate(client: redis.Redis, users: int, write: Callable[[], None], repeats: int = 3) -> float:
    """Median rows/s of `repeats` writes of every user into an empty database (one write is ~0.1-2 s: noisy)."""
    rates = []
    for _ in range(repeats):
        client.flushdb()
        started = time.perf_counter()
        write()
        rates.append(users / (time.perf_counter() - started))
    return float(np.median(rates))


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
        "TCP loopback": (tcp, {"port": server.settings.port}),
        "Unix socket": (f"{tcp},unix_socket_path={server.socket_path}", {"unix_socket_path": str(server.socket_path)}),
    }
    print(f"Redis {server.version()}, {users:,} users, user_realtime = {len(USER_REALTIME.fields)} features (last-50 arrays)\n")
    print("| transport | measure | Feast SDK | freshrec codec | ratio | codec, blocking reads | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for transport, (connection, redis_kwargs) in transports.items():
        store = open_store(copy_repo(tmp / transport.replace(" ", "-")), connection)
        apply(store)
        client = redis.Redis(**redis_kwargs)
        client.flushdb()
        for line in measure(store, client, redis_kwargs, frame, tables, users, reads):
            print(f"| {transport} | {line}")


def measure(store, client: redis.Redis, redis_kwargs: dict, frame: pd.DataFrame, tables: list, users: int,  # noqa: ANN001
            reads: int) -> list[str]:  # fmt: skip
    def push() -> None:
        for s in range(0, users, BATCH):
            store.push("user_realtime_push", frame.iloc[s : s + BATCH], to=PushMode.ONLINE)

    def write() -> None:
        assert OnlineWriter(client, USER_REALTIME).write_tables(tables).applied == users

    push_rate, codec_rate = (write_rate(client, users, writes) for writes in (push, write))

    rng = np.random.default_rng(1)
    singles = rng.integers(1, users + 1, reads).tolist()
    batches = [rng.integers(1, users + 1, 100).tolist() for _ in range(reads // 10)]
    spawn = multiprocessing.get_context("spawn")  # each reader in a fresh process holding only what it needs
    latencies = {}
    for kind in ("sdk", "codec", "codec-blocking"):
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            latencies[kind] = pool.submit(read_latencies, kind, str(store.repo_path),
                                          store.config.online_store.connection_string, redis_kwargs, singles,
                                          batches).result()  # fmt: skip
    sdk, codec, blocking = latencies.values()
    lines = [f"write, rows/s (batches of {BATCH:,}) | {push_rate:,.0f} | {codec_rate:,.0f} | {codec_rate / push_rate:.1f}x | | |"]
    for i, name in enumerate(("single-user read", "batch-of-100 read")):
        for j, stat in enumerate(("p50", "p99")):
            a, b, c = sdk[i][j], codec[i][j], blocking[i][j]
            lines.append(f"{name} {stat}, ms | {a:.3f} | {b:.3f} | {a / b:.1f}x | {c:.3f} | {a / c:.1f}x |")
    return lines


def read_latencies(kind: str, repo: str, feast_connection: str, redis_kwargs: dict, singles: list[int],
                   batches: list[list[int]]) -> tuple[tuple[float, float], tuple[float, float]]:  # fmt: skip
    """(single p50/p99, batch p50/p99) in ms for one reader, run in its own process."""
    if kind == "sdk":
        store = open_store(Path(repo), feast_connection)
        features = [f"user_realtime:{f}" for f in USER_REALTIME.field_names]

        def read(ids: list[int]):  # noqa: ANN202
            return lambda: store.get_online_features(features=features, entity_rows=[{"user_id": i} for i in ids]).to_dict()

        one, many = [read([u]) for u in singles], [read(b) for b in batches]
    else:
        spin = {"codec": SPIN_US, "codec-blocking": 0}[kind]
        reader = OnlineReader(redis.Redis(**redis_kwargs), [USER_REALTIME], spin_us=spin)
        one = [lambda u=u: reader.read(u) for u in singles]
        many = [lambda b=b: reader.read_batch(b) for b in batches]
    for warm in one[:50] + many[:5]:
        warm()
    return percentiles(timed(one)), percentiles(timed(many))


if __name__ == "__main__":
    main()
