"""The soak (`bench/soak.py`) for one minute on the real stack: 10,000 clicks/s through `freshrec stream run` while
`freshrec serve` answers /recommend: no request fails, every user's online features end equal to the truth kept from
the clicks as sent, and neither process tree's RSS grows by 10 % once warm. The 10-minute run is in
docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bench.soak import run_soak
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint

pytestmark = pytest.mark.integration


def test_one_minute_soak(kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis, tmp_path: Path) -> None:
    report = run_soak(kafka.bootstrap_servers, redis_server.host, redis_server.port, tmp_path, minutes=1, rate=10_000,
                      api_rate=50, users=20_000)  # fmt: skip
    assert report.clicks >= 590_000
    assert report.errors == 0, report.answers
    assert report.mismatched == 0
    assert all(report.growth(tree) < 0.10 for tree in report.rss_mb), report.rss_mb
