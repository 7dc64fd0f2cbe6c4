from __future__ import annotations

import pytest
import redis

pytestmark = pytest.mark.integration


def test_write_and_read_back(redis_client: redis.Redis) -> None:
    with redis_client.pipeline(transaction=False) as pipe:
        for user in range(1000):
            pipe.hset(f"user:{user}", mapping={"version": user, "items": b"\x01\x02" * user})
        pipe.execute()
    assert redis_client.hgetall("user:7") == {b"version": b"7", b"items": b"\x01\x02" * 7}
    assert redis_client.dbsize() == 1000


def test_fresh_database_per_test(redis_client: redis.Redis) -> None:
    assert redis_client.dbsize() == 0
