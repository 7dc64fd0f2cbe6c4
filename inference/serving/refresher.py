"""The refresher: on `feature-updates`, recompute each changed user's top-K and cache it with the feature version,
so the API answers from the cache right after a click instead of running the model on the request path.

Per poll (at most one batch per worker, so a cycle stays short): updates are coalesced per user (only the newest version matters), the users' features are read in one
round trip, ranked in batches, and written with a version compare-and-set; offsets are committed after the
writes (at-least-once: a crash recomputes a few users, never skips one). A refresh always ranks the features as
they are when read, which may be newer than the update that triggered it: the cache then holds the newer version.

Overload: an update already older than `max_lag_ms` when its poll comes is shed (counted, not refreshed). Its user's
cached result stays stale by version, so the API computes that user's result on request: nothing wrong is served,
and the refresher's capacity goes to the clicks it can still make fresh in time instead of to a growing backlog.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import Consumer

from feature_store.online.reader import OnlineReader
from inference.serving.metrics import ServingMetrics
from inference.serving.ranker import GENERATIVE, Ranker, RankInput
from inference.serving.result_cache import CachedResult, ResultCache
from schemas.codec import AvroCodec, CodecError
from schemas.kafka_client import Connection, client_config

log = logging.getLogger(__name__)
LAG_SAMPLES = 1_000_000


@dataclass
class RefreshStats:
    updates: int = 0
    users: int = 0
    """distinct users refreshed (after coalescing)."""
    written: int = 0
    cold: int = 0
    """users with no item the model knows: nothing to cache (the API serves them the popular fallback)."""
    undecodable: int = 0
    shed: int = 0
    """updates older than max_lag_ms when polled: left to the API's compute path."""
    lag_ms: deque[int] = field(default_factory=lambda: deque(maxlen=LAG_SAMPLES))
    """per refreshed user, the newest LAG_SAMPLES: cache write time - event time of the update (click -> fresh
    result); bounded, so a refresher that runs for months keeps constant memory (the metrics keep the histogram)."""


class Refresher:
    def __init__(self, kafka: Connection, topic: str, reader: OnlineReader, ranker: Ranker, cache: ResultCache,
                 group: str = "freshrec-refresher", batch_size: int = 32, workers: int = 2,
                 max_lag_ms: int | None = 500, metrics: ServingMetrics | None = None) -> None:  # fmt: skip
        """`workers` threads refresh batches of `batch_size` users in parallel (onnxruntime runs free of the GIL)."""
        self.consumer = Consumer(client_config(kafka, {"group.id": group, "enable.auto.commit": False,
                                                       "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10}))  # fmt: skip
        self.consumer.subscribe([topic])
        self.reader, self.ranker, self.cache, self.batch_size = reader, ranker, cache, batch_size
        self.metrics = metrics
        self.workers, self.max_lag_ms = workers, max_lag_ms
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="refresh")
        self.codec = AvroCodec("feature_update")

    def run(self, should_stop: Callable[[], bool] = lambda: False, idle_stop_s: float | None = None) -> RefreshStats:
        """Refresh until `should_stop()`, or until no update arrived for `idle_stop_s` seconds."""
        stats = RefreshStats()
        idle_since = time.monotonic()
        try:
            while not should_stop():
                messages = [m for m in self.consumer.consume(self.workers * self.batch_size, timeout=0.02) if m.error() is None]
                if not messages:
                    if idle_stop_s is not None and time.monotonic() - idle_since > idle_stop_s:
                        break
                    continue
                idle_since = time.monotonic()
                self._refresh(messages, stats)
                self.consumer.commit(asynchronous=False)
        finally:
            self.consumer.close()
            self.pool.shutdown()
        return stats

    def _refresh(self, messages: list, stats: RefreshStats) -> None:
        newest: dict[int, int] = {}  # user -> event time of the newest update seen for it
        for message in messages:
            try:
                update = self.codec.decode(message.value())
            except CodecError as exc:  # our own topic: a bad record is a bug upstream, logged and counted, not fatal
                stats.undecodable += 1
                log.warning("undecodable feature update at %s[%d]@%d: %s", message.topic(), message.partition(),
                            message.offset(), exc)  # fmt: skip
                continue
            stats.updates += 1
            newest[update["user_id"]] = max(newest.get(update["user_id"], 0), update["event_time"])
        if self.max_lag_ms is not None:
            oldest = int(time.time() * 1000) - self.max_lag_ms
            stale = [user for user, event_time in newest.items() if event_time < oldest]
            stats.shed += len(stale)
            for user in stale:
                del newest[user]
        users = list(newest)
        count = max(min(self.workers, len(users)), -(-len(users) // self.batch_size))  # balanced over the workers
        size = -(-len(users) // count) if users else 1
        chunks = [users[start : start + size] for start in range(0, len(users), size)]
        for done in self.pool.map(lambda chunk: self._refresh_users(chunk, newest), chunks):
            stats.users += done.users
            stats.written += done.written
            stats.cold += done.cold
            stats.lag_ms.extend(done.lag_ms)

    def _refresh_users(self, users: list[int], event_times: dict[int, int]) -> RefreshStats:
        stats = RefreshStats(users=len(users))
        features = self.reader.read_batch(users)["user_realtime"]
        present = [i for i, status in enumerate(features.status) if status == "present"]
        item_ids, codes, versions = (features.columns[name] for name in ("item_ids", "sid_codes", "sid_version"))
        ranked = self.ranker.rank([RankInput(item_ids[i], sid_codes=codes[i] or b"", sid_version=versions[i] or "")
                                   for i in present])  # fmt: skip
        now = int(time.time() * 1000)
        results = {
            users[i]: CachedResult(int(features.version[i]), r.model, now, r.items.tolist(), r.scores.tolist())
            for i, r in zip(present, ranked)
            if r.source == GENERATIVE
        }
        stats.written = self.cache.write_many(results)
        written = int(time.time() * 1000)
        stats.cold = len(present) - len(results)
        for user in results:
            stats.lag_ms.append(written - event_times[user])
            if self.metrics:
                self.metrics.refresh_lag.observe((written - event_times[user]) / 1000)
                self.metrics.refreshed.inc()
        return stats
