"""Open everything serving needs from configuration: the model directory (newest by default), its runtime, the
online-store reader and the result cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_INTENT, USER_REALTIME, ViewSpec
from inference import artifacts
from inference.model_dirs import ModelFollower, newest_model
from inference.runtimes import make_runtime
from inference.serving.config import ServingConfig
from inference.serving.metrics import ServingMetrics
from inference.serving.ranker import Ranker
from inference.serving.result_cache import ResultCache
from inference.serving.service import RecommendationService


def feature_reader(client: redis.Redis, config: ServingConfig, views: Sequence[ViewSpec] = (USER_REALTIME, USER_INTENT),
                   ) -> OnlineReader:  # fmt: skip
    """The online reader serving uses: `views`, their rows expiring after `config.feature_max_age_days` (when set)
    instead of each view's ttl."""
    days = config.feature_max_age_days
    return OnlineReader(client, list(views), max_age={v.name: timedelta(days=days) for v in views} if days else None)


def open_ranker(config: ServingConfig, models_dir: Path, metrics: ServingMetrics | None = None) -> Ranker:
    """The ranker of `config.model_dir`, else of the newest model under `models_dir`."""
    loaded = artifacts.load(config.model_dir or newest_model(models_dir))
    runtime = make_runtime(config.runtime, loaded, config.threads_per_worker)
    if metrics is None:
        return Ranker(loaded, runtime, config.beam)
    return Ranker(loaded, runtime, config.beam, metrics.unknown_items.inc)


def open_service(config: ServingConfig, client: redis.Redis, models_dir: Path, metrics_dir: str | None = None,
                 ) -> RecommendationService:  # fmt: skip
    """`metrics_dir`: the workers' shared metrics directory when the API runs as several processes."""
    reader, metrics = feature_reader(client, config), ServingMetrics(metrics_dir)
    ranker = open_ranker(config, models_dir, metrics)
    service = RecommendationService(reader, ranker, ResultCache(client, config.cache_ttl_s), config, metrics)
    service.follower = follow(config, models_dir, ranker, service.use, metrics)
    return service


def follow(config: ServingConfig, models_dir: Path, ranker: Ranker, swap: Callable[[Ranker], None],
           metrics: ServingMetrics | None = None) -> ModelFollower | None:  # fmt: skip
    """A started follower of the newest model when none is pinned (`config.model_dir`) and polling is on."""
    if config.model_dir is not None or not config.model_poll_s:
        return None
    load = lambda path: open_ranker(config.model_copy(update={"model_dir": path}), models_dir, metrics)  # noqa: E731
    return ModelFollower(models_dir, ranker.loaded.directory, load, swap, config.model_poll_s).start()
