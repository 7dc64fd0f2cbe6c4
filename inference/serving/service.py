"""The recommendation service: features and cached result in one round trip, then the cached result if it is
current, else the model (micro-batched), with intent tags and a reason. Transport-free: the HTTP layer (`api`) and
the tests call the same `recommend`.

Paths, as reported to clients and metrics:
- `cached`: the result cached for the user's current feature version (refresher or an earlier request made it);
- `computed`: the model ran for this request (and its result is written back for the next one);
- `cold`: the user has no features or no item the model knows: the popular fallback, flagged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from feature_store.online.async_reader import AsyncOnlineReader
from feature_store.online.reader import OnlineReader
from inference.model_dirs import ModelFollower
from inference.serving import result_cache
from inference.serving.batching import MicroBatcher
from inference.serving.config import ServingConfig
from inference.serving.metrics import ServingMetrics
from inference.serving.ranker import GENERATIVE, POPULAR, Ranked, Ranker, RankInput
from inference.serving.result_cache import CachedResult, ResultCache


@dataclass
class Recommendation:
    user_id: int
    items: list[int]
    scores: list[float]
    path: str
    """cached, computed or cold."""
    source: str
    """generative or popular."""
    feature_version: int | None
    model: str
    intent_tags: list[str] = field(default_factory=list)
    reason: str = ""
    sources: list[str] = field(default_factory=list)
    """per item, the channel it came from: generative, intent or popular."""


class RecommendationService:
    def __init__(self, reader: OnlineReader, ranker: Ranker, cache: ResultCache, config: ServingConfig,
                 metrics: ServingMetrics) -> None:  # fmt: skip
        self.ranker, self.cache, self.config, self.metrics = ranker, cache, config, metrics
        self.reads = AsyncOnlineReader(reader, lambda n: metrics.batch_size.labels("read").observe(n))
        # the ranker is read per batch: a swapped-in model (`use`) takes the next batch
        self.compute = MicroBatcher(lambda inputs: self.ranker.rank(inputs), config.max_batch, config.max_wait_ms / 1000,
                                    config.compute_workers, config.max_queue, "compute",
                                    lambda n: metrics.batch_size.labels("compute").observe(n))  # fmt: skip
        self.writes = MicroBatcher(self._write, 256, 0.0, 1, config.max_queue, "writes")
        self.follower: ModelFollower | None = None
        """what swaps newer models in (`use`), when the service follows the newest; closed with the service."""

    async def recommend(self, user_id: int, k: int, exclude: list[int]) -> Recommendation:
        features, cached_raw = await self.reads.read_with(user_id, result_cache.key(user_id))
        realtime, intent = features["user_realtime"], features["user_intent"]
        if realtime.event_time:
            self.metrics.feature_age.observe(max(0.0, time.time() - realtime.event_time / 1000))
        tags = list(intent.values.get("tags", [])) if intent.status == "present" else []
        version = realtime.version if realtime.status == "present" else None
        history = realtime.values.get("item_ids", np.zeros(0, dtype=np.int64)) if version is not None else np.zeros(0, np.int64)
        excluded = np.asarray(exclude, dtype=np.int64)
        channel = Channel(list(intent.values.get("tag_categories", [])) if tags else [], k, history, excluded)

        cached, ranker = CachedResult.decode(cached_raw), self.ranker
        if cached and version is not None and cached.version == version and cached.model_id == ranker.model_id:
            items, scores = _top_k(np.asarray(cached.items), np.asarray(cached.scores), excluded, k)
            if len(items) == k or len(cached.items) < ranker.beam:  # the cache held every candidate there is
                used = min(len(ranker.known(history)), ranker.max_length)
                return self._answer(user_id, items, scores, "cached", GENERATIVE, version, tags, used, ranker.model_id,
                                    channel)  # fmt: skip

        self.metrics.queue_depth.set(self.compute.depth())
        codes = {"sid_codes": realtime.values.get("sid_codes") or b"", "sid_version": realtime.values.get("sid_version") or ""}
        ranked = await self._rank(RankInput(history, **codes))
        if ranked.source != POPULAR and version is not None:
            computed = CachedResult(version, ranked.model, int(time.time() * 1000), ranked.items.tolist(),
                                    ranked.scores.tolist())  # fmt: skip
            self.writes.submit_nowait((user_id, computed))
        items, scores = _top_k(ranked.items, ranked.scores, excluded, k)
        if len(items) < k and len(excluded) and ranked.source != POPULAR:  # exclusions ate the beam: search without them
            ranked = await self._rank(RankInput(history, excluded, **codes))
            items, scores = ranked.items[:k], ranked.scores[:k]
        path = "cold" if ranked.source == POPULAR else "computed"
        return self._answer(user_id, items, scores, path, ranked.source, version, tags, ranked.history_used, ranked.model,
                            channel)  # fmt: skip

    async def _rank(self, request: RankInput) -> Ranked:
        """Ranked by the model in service when the answer comes: a batch that ran on the model just swapped out
        (`use`) is ranked again, so no old-model answer leaves once the swap is done."""
        ranked = await self.compute.submit(request)
        while ranked.model != self.ranker.model_id:
            ranked = await self.compute.submit(request)
        return ranked

    def use(self, ranker: Ranker) -> None:
        """Serve `ranker` from the next batch on (the model follower's swap)."""
        self.ranker = ranker

    def _answer(self, user_id: int, items: np.ndarray, scores: np.ndarray, path: str, source: str, version: int | None,
                tags: list[str], history_used: int, model: str, channel: Channel) -> Recommendation:  # fmt: skip
        """The answer, its last `serving.intent_items` slots given to the intent channel when it has items."""
        seen = np.concatenate([np.asarray(channel.history, dtype=np.int64), channel.excluded])
        items, scores, sources = self.ranker.with_intent(np.asarray(items).tolist(), np.asarray(scores).tolist(), source,
                                                         channel.categories, seen, channel.k,
                                                         min(self.config.intent_items, channel.k))  # fmt: skip
        self.metrics.results.labels(path).inc()
        return Recommendation(user_id, items, scores, path, source, version, model, tags,
                              _reason(source, tags, history_used), sources)  # fmt: skip

    def _write(self, entries: list[tuple[int, CachedResult]]) -> list[int]:
        self.cache.write_many(dict(entries))
        return [0] * len(entries)

    def close(self) -> None:
        if self.follower is not None:
            self.follower.close()
        self.reads.close()
        for batcher in (self.compute, self.writes):
            batcher.close()


@dataclass
class Channel:
    """What the intent channel needs of a request: the categories the user's tags name (tag order), k, and what the
    answer must not hold."""

    categories: list[int]
    k: int
    history: np.ndarray
    excluded: np.ndarray
    """the request's exclusions (raw ids)."""


def _top_k(items: np.ndarray, scores: np.ndarray, excluded: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(excluded):
        keep = ~np.isin(items, excluded)
        items, scores = items[keep], scores[keep]
    return items[:k], scores[:k]


def _reason(source: str, tags: list[str], history_used: int) -> str:
    if source == POPULAR:
        return "popular items: no history this model knows yet"
    because = f"generated from your last {history_used} item{'s' if history_used != 1 else ''}"
    return f"{because}; your interests: {', '.join(tags[:3])}" if tags else because
