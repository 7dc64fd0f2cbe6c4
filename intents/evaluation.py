"""How well a day's tags anticipate the next day, against a non-LLM baseline that uses the same day's events.

For each user tagged on day D and active on D+1:
- hit: the category of the user's first D+1 interaction is among the tags' categories (RecGPT's HR, via tag2cat);
- coverage: the share of the user's D+1 interactions with a category among the tags' categories;
- channel recall: a tag-retrieval channel (per tag category, its most popular items up to D that the user has not
  seen, `channel_size` in all) against the user's D+1 items.
The baseline's tags are the user's most frequent categories of day D, as many distinct ones as the LLM's tags have,
so both sides name the same number of categories."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from intents.catalog import Catalog
from intents.context import build_contexts, day_bounds, events_between


@dataclass(frozen=True)
class Scores:
    hit_rate: float
    coverage: float
    channel_recall: float


@dataclass(frozen=True)
class DayEvaluation:
    day: str
    users: int
    """Tagged users active the next day (the ones scored)."""
    tags: Scores
    baseline: Scores


def evaluate_day(events: pa.Table, catalog: Catalog, day: str, tag_categories: dict[int, list[int]],
                 channel_size: int = 20) -> DayEvaluation:  # fmt: skip
    """`tag_categories`: per user, the categories of the day's tags in tag order."""
    start, end = day_bounds(day)
    history = events_between(events, 0, end)
    nxt = events_between(events, end, end + (end - start))
    next_events: dict[int, list[dict]] = {}
    for row in nxt.sort_by("event_time").to_pylist():
        next_events.setdefault(row["user_id"], []).append(row)
    popular = _popular_by_category(history, catalog)
    seen: dict[int, set[int]] = {}
    for user, item in zip(history["user_id"].to_pylist(), history["item_id"].to_pylist()):
        seen.setdefault(user, set()).add(item)
    contexts = {c.user_id: c for c in build_contexts(events, catalog, day, max_events=10**6)}
    users = sorted(u for u in tag_categories if tag_categories[u] and u in next_events and u in contexts)
    tagged, base = [], []
    for user in users:
        ours = list(dict.fromkeys(tag_categories[user]))
        baseline = list(contexts[user].categories[: len(ours)])
        tagged.append(_score(ours, next_events[user], catalog, popular, seen.get(user, set()), channel_size))
        base.append(_score(baseline, next_events[user], catalog, popular, seen.get(user, set()), channel_size))
    return DayEvaluation(day, len(users), _mean(tagged), _mean(base))


def _popular_by_category(history: pa.Table, catalog: Catalog) -> dict[int, list[int]]:
    counts = pc.value_counts(history["item_id"]).to_pylist()
    ranked: dict[int, list[int]] = {}
    for entry in sorted(counts, key=lambda e: (-e["counts"], e["values"])):
        item = entry["values"]
        for category in catalog.categories_of(item, -1):
            ranked.setdefault(category, []).append(item)
    return ranked


def _score(categories: list[int], upcoming: list[dict], catalog: Catalog, popular: dict[int, list[int]], seen: set[int],
           channel_size: int) -> tuple[float, float, float]:  # fmt: skip
    wanted = set(categories)
    cats = [set(catalog.categories_of(e["item_id"], e["category_id"])) for e in upcoming]
    hit = float(bool(cats[0] & wanted))
    coverage = sum(bool(c & wanted) for c in cats) / len(cats)
    channel = _channel(categories, popular, seen, channel_size)
    items = {e["item_id"] for e in upcoming}
    return hit, coverage, len(items & channel) / len(items)


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


def _mean(scores: list[tuple[float, float, float]]) -> Scores:
    if not scores:
        return Scores(0.0, 0.0, 0.0)
    n = len(scores)
    return Scores(*(sum(s[k] for s in scores) / n for k in range(3)))
