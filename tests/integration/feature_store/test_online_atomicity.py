"""A batch write is atomic on one Redis server: readers see all of it or none. (On Redis Cluster it is atomic per
slot only, as `feature_store.online.writer` says: a batch spans masters.)"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row as realtime_row
from feature_store.views import USER_REALTIME

pytestmark = pytest.mark.integration
NOW = int(time.time() * 1000)


def test_readers_never_see_half_a_batch(redis_client: redis.Redis) -> None:
    writer, reader = OnlineWriter(redis_client, USER_REALTIME), OnlineReader(redis_client, [USER_REALTIME])
    users = list(range(1, 101))
    stop = threading.Event()

    def write_versions() -> None:
        version = NOW
        while not stop.is_set():
            version += 1
            writer.write([realtime_row(u, NOW, version=version, n=1) for u in users])

    thread = threading.Thread(target=write_versions)
    thread.start()
    try:
        mixed = 0
        for _ in range(200):
            versions = {v["user_realtime"].version for v in reader.read_many(users)}
            mixed += len(versions - {None}) > 1
    finally:
        stop.set()
        thread.join()
    assert mixed == 0
