"""Hybrid user contexts (RecGPT-V2 §3.2, text form): behaviours, time buckets and categories stay short text, each
item is one compact entity reference (its name or code) instead of its full text, and events are aggregated by
(time bucket, behaviour) as RecGPT-V1's compression does. The full-text context, one line per event with the item's
whole text, is built beside it only to measure what the hybrid form saves."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from feature_store.offline.event_log import chronological
from intents.catalog import BEHAVIOR_WORDS, Catalog

BUCKETS = ((6, "night"), (12, "morning"), (18, "afternoon"), (24, "evening"))
"""UTC hour bounds of the time buckets."""
TOP_CATEGORIES = 6


@dataclass(frozen=True)
class UserContext:
    user_id: int
    day: str
    hybrid: str
    full: str
    categories: tuple[int, ...]
    """The user's categories of the day, most frequent first."""
    items: tuple[int, ...]


def day_bounds(day: str) -> tuple[int, int]:
    """[start, end) of a UTC date in epoch milliseconds."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


def events_between(events: pa.Table, start_ms: int, end_ms: int) -> pa.Table:
    times = events["event_time"]
    return events.filter(pc.and_(pc.greater_equal(times, start_ms), pc.less(times, end_ms)))


def build_contexts(events: pa.Table, catalog: Catalog, day: str, max_events: int = 40) -> list[UserContext]:
    """One context per user active on `day` (UTC), users in id order, from that day's newest `max_events` events."""
    start, end = day_bounds(day)
    today = events_between(events, start, end)
    order = chronological(today)
    rows = today.select(["event_id", "user_id", "item_id", "category_id", "behavior", "event_time"]).take(order).to_pylist()
    per_user: dict[int, list[dict]] = defaultdict(list)
    seen: set[str] = set()
    for row in rows:  # the event log is append-only: a replayed event appears twice but happened once
        if row["event_id"] not in seen:
            seen.add(row["event_id"])
            per_user[row["user_id"]].append(row)
    return [_context(user, evs[-max_events:], catalog, day) for user, evs in sorted(per_user.items())]


def _context(user: int, events: list[dict], catalog: Catalog, day: str) -> UserContext:
    words = BEHAVIOR_WORDS[catalog.domain]
    counts: Counter[int] = Counter()
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    full_lines = []
    for e in events:
        categories = catalog.categories_of(e["item_id"], e["category_id"])
        counts.update(categories)
        when = datetime.fromtimestamp(e["event_time"] / 1000, UTC)
        bucket = next(name for bound, name in BUCKETS if when.hour < bound)
        name = catalog.item_name(e["item_id"])
        if name not in groups[(bucket, words[e["behavior"]])]:
            groups[(bucket, words[e["behavior"]])].append(name)
        full_lines.append(f"{when:%Y-%m-%d %H:%M} {words[e['behavior']]} {catalog.item_text(e['item_id'])}")
    ranked = tuple(c for c, _ in counts.most_common())
    weekday = date.fromisoformat(day).strftime("%A")
    head = f"Day: {day} ({weekday}). {len(events)} events."
    top = "Top categories: " + ", ".join(f"{catalog.category_name(c)} x{counts[c]}" for c in ranked[:TOP_CATEGORIES])
    body = [f"{bucket} {verb}: {'; '.join(names)}" for (bucket, verb), names in groups.items()]
    hybrid = "\n".join([head, top, *body])
    full = "\n".join([head, *full_lines])
    return UserContext(user, day, hybrid, full, ranked, tuple(e["item_id"] for e in events))
