"""The refresher on real Kafka and Redis: coalesces per user, caches by feature version, sheds updates too old to
make fresh in time, and survives a bad record."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint
from inference.serving.config import ServingConfig
from inference.serving.loading import open_ranker
from inference.serving.refresher import Refresher
from inference.serving.result_cache import CachedResult, ResultCache, key
from schemas.codec import AvroCodec
from tests.integration.inference.serving.conftest import write_user

pytestmark = pytest.mark.integration


def test_refresh_coalesces_caches_by_version_and_sheds_stale_updates(
    kafka: KafkaEndpoint, topic: str, redis_client: redis.Redis, model_dir: Path
) -> None:
    now = int(time.time() * 1000)
    fresh_version = write_user(redis_client, 1, [3, 4, 5], now)
    write_user(redis_client, 2, [6, 7], now)
    codec = AvroCodec("feature_update")
    producer = ordered_producer(kafka.bootstrap_servers)
    for update in ({"user_id": 1, "version": now - 5, "event_time": now - 5},  # coalesced into the next one
                   {"user_id": 1, "version": now, "event_time": now},
                   {"user_id": 2, "version": now, "event_time": now - 60_000},  # a minute late: shed
                   {"user_id": 3, "version": now, "event_time": now}):  # fmt: skip  no features: nothing to cache
        producer.produce(topic, codec.encode(update), str(update["user_id"]).encode())
    producer.produce(topic, b"\x00garbage", b"1")
    assert producer.flush(10) == 0

    ranker = open_ranker(ServingConfig(model_dir=model_dir, beam=20), model_dir.parent)
    refresher = Refresher(kafka.bootstrap_servers, topic, OnlineReader(redis_client, [USER_REALTIME]), ranker,
                          ResultCache(redis_client, 60), f"refresh-{topic}", max_lag_ms=30_000)  # fmt: skip
    stats = refresher.run(idle_stop_s=2)

    assert (stats.updates, stats.undecodable, stats.shed, stats.users, stats.written) == (4, 1, 1, 2, 1)
    cached = CachedResult.decode(redis_client.get(key(1)))
    assert cached is not None and cached.version == fresh_version and cached.model_id == ranker.model_id
    assert len(cached.items) == 20 and not {3, 4, 5} & set(cached.items)
    assert redis_client.get(key(2)) is None and redis_client.get(key(3)) is None
    assert len(stats.lag_ms) == 1 and 0 <= stats.lag_ms[0] < 30_000


def test_an_older_result_never_replaces_a_newer_one(redis_client: redis.Redis) -> None:
    cache = ResultCache(redis_client, 60)
    assert cache.write_many({5: CachedResult(200, "m", 0, [1], [0.5])}) == 1
    assert cache.write_many({5: CachedResult(100, "m", 0, [2], [0.4])}) == 0
    assert CachedResult.decode(redis_client.get(key(5))).items == [1]
    assert cache.write_many({5: CachedResult(200, "m2", 0, [3], [0.3])}) == 1  # same version, new model: replaced
    assert CachedResult.decode(redis_client.get(key(5))).model_id == "m2"
