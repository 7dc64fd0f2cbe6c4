"""freshrec's own readers and writers on a Redis Cluster: the event-loop reader as the threaded one across masters,
the result cache in its user's slot, a master killed -9 (its replica takes over): reads recover and every write
after the failover is there; and slots resharded between masters under load."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from feature_store.online.async_reader import AsyncOnlineReader
from feature_store.online.cluster import slot_tag
from feature_store.online.layout import ViewLayout
from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.store import PROJECT
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_INTENT, USER_REALTIME
from inference.serving.result_cache import CachedResult, ResultCache, key
from infra.config import RedisSettings
from infra.stack.process import free_port_block
from infra.stack.redis import LocalRedisCluster
from tests.fixtures.processes import kill9
from tests.fixtures.redis import CLUSTER_NODE_TIMEOUT_MS

pytestmark = pytest.mark.integration
USERS = list(range(1, 301))
LAYOUT = ViewLayout(USER_REALTIME, PROJECT)


def _masters(client: RedisCluster, users: list[int]) -> set[str]:
    return {client.nodes_manager.get_node_from_slot(key_slot(LAYOUT.key(u))).name for u in users}


def _write(client: RedisCluster, version: int) -> None:
    rows = [sample_realtime_row(u, version, version=version, seed=u) for u in USERS]
    assert OnlineWriter(client, USER_REALTIME).write(rows).applied == len(USERS)


def test_the_event_loop_reader_reads_as_the_threaded_one_across_masters(redis_cluster_client: RedisCluster) -> None:
    now = int(time.time() * 1000)
    _write(redis_cluster_client, now)
    assert len(_masters(redis_cluster_client, USERS)) == 3
    users = [*USERS, 10_001]  # the last has no features
    tagged = [b"state:%d:{%s}" % (u, slot_tag(LAYOUT.key(u))) for u in users]
    for u, state in zip(USERS[::7], tagged[::7]):
        redis_cluster_client.set(state, b"value %d" % u)
    reader = OnlineReader(redis_cluster_client, [USER_REALTIME, USER_INTENT])

    async def main() -> list:
        loop_reader = AsyncOnlineReader(reader)
        try:
            return await asyncio.gather(*(loop_reader.read_with(u, k) for u, k in zip(users, tagged)))
        finally:
            loop_reader.close()

    got = asyncio.run(main())
    want, values = reader.read_batch_with(users, tagged, now)
    for i, (features, value) in enumerate(got):
        assert features["user_realtime"].version == want.vector(i)["user_realtime"].version
        np.testing.assert_array_equal(features["user_realtime"].values.get("item_ids", []),
                                      want.vector(i)["user_realtime"].values.get("item_ids", []))  # fmt: skip
        assert value == values[i] == (b"value %d" % users[i] if i % 7 == 0 and i < len(USERS) else None)
    assert [f["user_realtime"].version for f, _ in got] == [now] * len(USERS) + [None]


def test_the_result_cache_lives_in_its_users_slot(redis_cluster_client: RedisCluster) -> None:
    assert all(key_slot(key(u)) == key_slot(LAYOUT.key(u)) for u in range(1, 5_000))
    now = int(time.time() * 1000)
    _write(redis_cluster_client, now)
    cache = ResultCache(redis_cluster_client, ttl_s=60)
    assert cache.write_many({u: CachedResult(now, "m", now, [u, 2], [0.5, 0.25]) for u in USERS}) == len(USERS)
    assert cache.write_many({u: CachedResult(now - 1, "m", now, [9], [0.1]) for u in USERS}) == 0  # older: kept
    batch, cached = OnlineReader(redis_cluster_client, [USER_REALTIME]).read_batch_with(USERS, [key(u) for u in USERS])
    assert [CachedResult.decode(c).items for c in cached] == [[u, 2] for u in USERS]  # type: ignore[union-attr]


def test_a_master_killed_fails_over_and_loses_no_later_write(tmp_path: Path) -> None:
    settings = RedisSettings(port=free_port_block(12), cluster=True, cluster_node_timeout_ms=CLUSTER_NODE_TIMEOUT_MS)
    local = LocalRedisCluster(settings, tmp_path)
    local.start()
    try:
        client = local.client()
        reader = OnlineReader(client, [USER_REALTIME])
        first = int(time.time() * 1000)
        _write(client, first)
        victim_name = sorted(_masters(client, USERS))[0]
        victim = next(n for n in local.nodes if f"127.0.0.1:{n.settings.port}" == victim_name)
        kill9(victim.process)
        killed = time.monotonic()
        second = first + 1
        _write(client, second)  # retried through the failover, not an error
        failed_over = time.monotonic() - killed
        assert victim_name not in _masters(client, USERS)
        assert [v["user_realtime"].version for v in reader.read_many(USERS)] == [second] * len(USERS)

        async def loop_read() -> list:
            loop_reader = AsyncOnlineReader(reader)
            try:
                return await asyncio.gather(*(loop_reader.read_with(u, key(u)) for u in USERS))
            finally:
                loop_reader.close()

        assert [f["user_realtime"].version for f, _ in asyncio.run(loop_read())] == [second] * len(USERS)
        assert failed_over < 15, f"the write waited {failed_over:.1f}s for the failover"
        victim.start()  # it rejoins as a replica of the master that replaced it
        local.nodes[0].process.wait_until(local.healthy, 30, "serving every slot")
        assert [v["user_realtime"].version for v in reader.read_many(USERS)] == [second] * len(USERS)
    finally:
        local.stop()


def test_reads_and_writes_go_on_while_slots_move_between_masters(tmp_path: Path) -> None:
    """`redis-cli --cluster reshard` under load: keys of moving slots answer ASK (or a script's "non local key") until
    their slot is handed over; every batch still lands whole and every read after it sees it."""
    settings = RedisSettings(port=free_port_block(12), cluster=True, cluster_node_timeout_ms=CLUSTER_NODE_TIMEOUT_MS)
    local = LocalRedisCluster(settings, tmp_path)
    local.start()
    try:
        client = local.client()
        source, target = sorted(client.get_primaries(), key=lambda node: node.port)[:2]
        ids = {node.name: client.get_redis_connection(node).execute_command("CLUSTER MYID").decode()
               for node in (source, target)}  # fmt: skip
        moving = [u for u in USERS if client.nodes_manager.get_node_from_slot(key_slot(LAYOUT.key(u))).name == source.name]
        writer, reader = OnlineWriter(client, USER_REALTIME), OnlineReader(client, [USER_REALTIME])
        version = int(time.time() * 1000)
        _write(client, version)
        reshard = subprocess.Popen(["redis-cli", "--cluster", "reshard", source.name, "--cluster-from", ids[source.name],
                                    "--cluster-to", ids[target.name], "--cluster-slots", "3000", "--cluster-yes",
                                    "--cluster-pipeline", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        rounds_during = 0
        while reshard.poll() is None:
            version += 1
            assert writer.write([sample_realtime_row(u, version, version=version, seed=u) for u in USERS]).applied == len(USERS)
            assert [v["user_realtime"].version for v in reader.read_many(USERS)] == [version] * len(USERS)
            rounds_during += 1
        assert reshard.returncode == 0, reshard.stderr.read()  # type: ignore[union-attr]
        assert rounds_during >= 2, "the resharding ended before the load met it"
        client.nodes_manager.initialize()
        moved = [u for u in moving if client.nodes_manager.get_node_from_slot(key_slot(LAYOUT.key(u))).name == target.name]
        assert moved, "no user's key moved with the slots"
        version += 1
        _write(client, version)
        assert [v["user_realtime"].version for v in reader.read_many(USERS)] == [version] * len(USERS)
    finally:
        local.stop()
