"""Open everything serving needs from configuration: the model directory (newest by default), its runtime, the
online-store reader and the result cache."""

from __future__ import annotations

from pathlib import Path

import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_INTENT, USER_REALTIME
from inference import artifacts
from inference.model_dirs import newest_model
from inference.runtimes import make_runtime
from inference.serving.config import ServingConfig
from inference.serving.metrics import ServingMetrics
from inference.serving.ranker import Ranker
from inference.serving.result_cache import ResultCache
from inference.serving.service import RecommendationService


def open_ranker(config: ServingConfig, models_dir: Path, metrics: ServingMetrics | None = None) -> Ranker:
    loaded = artifacts.load(config.model_dir or newest_model(models_dir))
    runtime = make_runtime(config.runtime, loaded, config.threads_per_worker)
    if metrics is None:
        return Ranker(loaded, runtime, config.beam)
    return Ranker(loaded, runtime, config.beam, metrics.unknown_items.inc)


def open_service(config: ServingConfig, client: redis.Redis, models_dir: Path, metrics_dir: str | None = None,
                 ) -> RecommendationService:  # fmt: skip
    """`metrics_dir`: the workers' shared metrics directory when the API runs as several processes."""
    reader, metrics = OnlineReader(client, [USER_REALTIME, USER_INTENT]), ServingMetrics(metrics_dir)
    return RecommendationService(reader, open_ranker(config, models_dir, metrics), ResultCache(client, config.cache_ttl_s),
                                 config, metrics)  # fmt: skip
