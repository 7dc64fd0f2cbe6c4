"""Online store on one Redis server vs a Redis Cluster (3 masters, a replica each), same machine, same run.

    python -m bench.redis_cluster_bench [--users 10000] [--reads 2000]

Writes: rows/s (median of 3) of `OnlineWriter.write_tables` (batches of 1,000 rows) of every user. On the cluster a
batch is split by slot (one script call per slot, pipelined per master): up to 1,000 calls instead of one.
Reads of every `user_realtime` feature plus the user's cached result (`read_batch_with`, what serving does), p50/p99:
single users and batches of 100. On the cluster a batch is one MULTI/EXEC per user, pipelined to each of 3 masters.
Both stores are local processes on this machine's cores, so the cluster shows its cost, not its capacity: it adds
cores (and memory) only where it has them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.feature_store_bench import percentiles, timed
from feature_store.online.cluster import Client
from feature_store.online.reader import OnlineReader
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from inference.serving.result_cache import key
from infra.config import RedisSettings
from infra.stack.process import free_port_block
from infra.stack.redis import LocalRedis, LocalRedisCluster

BATCH = 1_000


def measure(client: Client, flush: callable, users: int, reads: int) -> dict[str, float]:  # type: ignore[valid-type]
    now = int(time.time() * 1000)
    tables = [rows_to_table(USER_REALTIME, [sample_realtime_row(u, now, seed=u) for u in range(start, min(start + BATCH, users + 1))])
              for start in range(1, users + 1, BATCH)]  # fmt: skip
    writer = OnlineWriter(client, USER_REALTIME)
    rates = []
    for _ in range(3):
        flush()
        started = time.perf_counter()
        assert writer.write_tables(tables).applied == users
        rates.append(users / (time.perf_counter() - started))
    reader = OnlineReader(client, [USER_REALTIME], spin_us=0)
    rng = np.random.default_rng(7)
    singles = rng.integers(1, users + 1, reads).tolist()
    batches = [rng.integers(1, users + 1, 100).tolist() for _ in range(reads // 10)]
    for user in singles[:50]:
        reader.read_batch_with([user], [key(user)])
    single = percentiles(timed([lambda u=u: reader.read_batch_with([u], [key(u)]) for u in singles]))
    batch = percentiles(timed([lambda b=b: reader.read_batch_with(b, [key(u) for u in b]) for b in batches]))
    return {"write rows/s": float(np.median(rates)), "single p50 ms": single[0], "single p99 ms": single[1],
            "batch-100 p50 ms": batch[0], "batch-100 p99 ms": batch[1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        single = LocalRedis(RedisSettings(port=free_port_block(1)), Path(tmp) / "single")
        cluster = LocalRedisCluster(RedisSettings(port=free_port_block(12), cluster=True), Path(tmp) / "cluster")
        single.start()
        cluster.start()
        try:
            server_client, cluster_client = single.client(), cluster.client()
            results = {
                "one server": measure(server_client, server_client.flushall, args.users, args.reads),
                "cluster": measure(cluster_client, lambda: cluster_client.flushall(target_nodes=cluster_client.PRIMARIES),
                                   args.users, args.reads),
            }  # fmt: skip
        finally:
            single.stop()
            cluster.stop()
    print(f"{'':<18}{'one server':>12}{'cluster':>12}{'cluster/one':>13}")
    for metric in results["one server"]:
        a, b = results["one server"][metric], results["cluster"][metric]
        print(f"{metric:<18}{a:>12.3f}{b:>12.3f}{b / a:>12.2f}x")


if __name__ == "__main__":
    main()
