"""How well a day's tags anticipate the next day, against a non-LLM baseline that uses the same day's events.

For each user tagged on day D and active on D+1:
- hit: the category of the user's first D+1 interaction is among the tags' categories (RecGPT's HR, via tag2cat);
- coverage: the share of the user's D+1 interactions with a category among the tags' categories;
- channel recall: a tag-retrieval channel (round-robin over the tag categories, each one's most popular items up to
  D that the user has not seen, `channel_size` in all) against the user's D+1 items;
- exclusive recall: the D+1 items the channel finds and generative retrieval's top-K (history up to D) does not;
- with a model, recall@K of what serving answers without the intent channel (GR's top K) and with it (its last slots
  given to the channel's items of the tags' categories, as the API merges them)
The baseline's tags are the user's most frequent categories of day D, as many distinct ones as the LLM's tags have,
so both sides name the same number of categories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from intents.catalog import Catalog
from intents.context import build_contexts, day_bounds, events_between

Retrieve = Callable[[list[np.ndarray], list[list[int]]], list[tuple[set[int], set[int]]]]
"""Serving's answer of K: per user (history as item ids, oldest first; the categories of its tags, in tag order), the
items without the intent channel (generative retrieval's top K) and with it."""
METRICS = ("hit_rate", "coverage", "channel_recall", "exclusive_recall")


@dataclass(frozen=True)
class UserScores:
    user_id: int
    day: str
    tags: tuple[float, float, float, float]
    """hit, coverage, channel recall, exclusive recall (0 without a retriever)."""
    baseline: tuple[float, float, float, float]
    gr_recall: float
    """recall@K of serving's answer without the intent channel (0 without a retriever)."""
    served_recall: float
    """... and with it."""


@dataclass(frozen=True)
class Summary:
    users: int
    tags: dict[str, float]
    baseline: dict[str, float]
    gr_recall: float
    served_recall: float


def score_day(events: pa.Table, catalog: Catalog, day: str, tag_categories: dict[int, list[int]],
              channel_size: int = 20, retrieve: Retrieve | None = None) -> list[UserScores]:  # fmt: skip
    """`tag_categories`: per user, the categories of the day's tags in tag order."""
    start, end = day_bounds(day)
    history = events_between(events, 0, end)
    upcoming: dict[int, list[dict]] = {}
    for row in events_between(events, end, end + (end - start)).sort_by("event_time").to_pylist():
        upcoming.setdefault(row["user_id"], []).append(row)
    contexts = {c.user_id: c for c in build_contexts(events, catalog, day, max_events=10**6)}
    users = sorted(u for u in tag_categories if tag_categories[u] and u in upcoming and u in contexts)
    if not users:
        return []
    popular = _popular_by_category(history, catalog)
    ordered = history.sort_by("event_time")
    histories: dict[int, list[int]] = {}
    for user, item in zip(ordered["user_id"].to_pylist(), ordered["item_id"].to_pylist()):
        histories.setdefault(user, []).append(item)
    no_model: list[tuple[set[int], set[int]]] = [(set(), set()) for _ in users]
    served = retrieve([np.asarray(histories[u], dtype=np.int64) for u in users],
                      [list(dict.fromkeys(tag_categories[u])) for u in users]) if retrieve else no_model  # fmt: skip
    scores = []
    for user, (gr, with_channel) in zip(users, served):
        ours = list(dict.fromkeys(tag_categories[user]))
        baseline = list(contexts[user].categories[: len(ours)])
        seen, nxt = set(histories[user]), upcoming[user]
        items = {e["item_id"] for e in nxt}
        scores.append(UserScores(
            user, day,
            _score(ours, nxt, catalog, _channel(ours, popular, seen, channel_size), gr),
            _score(baseline, nxt, catalog, _channel(baseline, popular, seen, channel_size), gr),
            len(items & gr) / len(items), len(items & with_channel) / len(items),
        ))  # fmt: skip
    return scores


def summarize(scores: list[UserScores]) -> Summary:
    """Means over users (micro-averaged across days)."""
    if not scores:
        return Summary(0, dict.fromkeys(METRICS, 0.0), dict.fromkeys(METRICS, 0.0), 0.0, 0.0)
    tags = np.mean([s.tags for s in scores], axis=0)
    base = np.mean([s.baseline for s in scores], axis=0)
    return Summary(len(scores), dict(zip(METRICS, map(float, tags))), dict(zip(METRICS, map(float, base))),
                   float(np.mean([s.gr_recall for s in scores])), float(np.mean([s.served_recall for s in scores])))  # fmt: skip


def _popular_by_category(history: pa.Table, catalog: Catalog) -> dict[int, list[int]]:
    counts = pc.value_counts(history["item_id"]).to_pylist()
    ranked: dict[int, list[int]] = {}
    for entry in sorted(counts, key=lambda e: (-e["counts"], e["values"])):
        for category in catalog.categories_of(entry["values"], -1):
            ranked.setdefault(category, []).append(entry["values"])
    return ranked


def _score(categories: list[int], upcoming: list[dict], catalog: Catalog, channel: set[int], gr: set[int]) -> tuple[float, float, float, float]:
    wanted = set(categories)
    cats = [set(catalog.categories_of(e["item_id"], e["category_id"])) for e in upcoming]
    items = {e["item_id"] for e in upcoming}
    return (float(bool(cats[0] & wanted)), sum(bool(c & wanted) for c in cats) / len(cats),
            len(items & channel) / len(items), len(items & (channel - gr)) / len(items))  # fmt: skip


def _channel(categories: list[int], popular: dict[int, list[int]], seen: set[int], size: int) -> set[int]:
    """Round-robin over the categories in tag order, each contributing its next most popular unseen item."""
    queues = [iter([i for i in popular.get(c, []) if i not in seen]) for c in categories]
    chosen: list[int] = []
    while queues and len(chosen) < size:
        for queue in list(queues):
            item = next(queue, None)
            if item is None:
                queues.remove(queue)
            elif item not in chosen and len(chosen) < size:
                chosen.append(item)
    return set(chosen)
