"""Per-user behaviour state and its event-time rules: the reference the streaming job must reproduce exactly.

Plain Python, one user at a time, so it doubles as the "offline ground truth" that tests compare the job against
(and as the no-guarantees consumer baseline of the streaming benchmark).

Rules, per user (the job's `UserBehavior`), in the order the user's events arrive:
- an event dated more than `max_ahead_ms` ahead of the clock is *future*: not applied, returned to route;
- an event more than `out_of_orderness_ms` behind the user's newest applied event is *late*: likewise;
- an event id seen before (within the retained window) is a *duplicate*: dropped;
- otherwise it is inserted in event-time order (ties: arrival order), counted, and pooled into the interest vector.
Lateness is a function of the user's own events, so neither other users' records nor the partitioning change it.
Ids are retained while their event is within the bound of the user's newest event; an older duplicate is late anyway,
so dedup memory stays bounded and a replayed old event is never applied twice.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feature_store.views import BEHAVIOR_CODES, SEQUENCE_LENGTH
from streaming.config import StreamSettings
from streaming.state.representation import (
    HashedEmbeddings,
    InterestPool,
    ItemEmbeddings,
    SemanticIds,
    summary,
    top_categories,
)

DEFAULTS = StreamSettings()


@dataclass
class UserState:
    events: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    """(event_time, arrival, item_id, category_id, behavior), time-ordered, the last N (plus recent ids below)."""
    ids: dict[str, int] = field(default_factory=dict)
    """event_id -> event_time, for duplicate detection."""
    counts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    interest: InterestPool = field(default_factory=InterestPool)
    version: int = 0
    newest: int = 0


@dataclass(frozen=True)
class Outcome:
    applied: int
    duplicates: int
    late: list[Mapping[str, Any]]
    future: list[Mapping[str, Any]] = field(default_factory=list)
    applied_ids: list[str] = field(default_factory=list)
    """The event ids applied, in order: what the event log holds of these events."""


class BehaviorState:
    """Keyed state for all users; `apply` a batch of ClickEvents (dicts), then `snapshot` the users it touched."""

    def __init__(
        self,
        out_of_orderness_ms: int = DEFAULTS.out_of_orderness_ms,
        max_ahead_ms: int = DEFAULTS.max_ahead_ms,
        sequence_length: int = SEQUENCE_LENGTH,
        embeddings: ItemEmbeddings | None = None,
        semantic_ids: SemanticIds | None = None,
    ) -> None:
        self.bound = out_of_orderness_ms
        self.max_ahead = max_ahead_ms
        self.n = sequence_length
        self.embeddings = embeddings or HashedEmbeddings()
        self.semantic_ids = semantic_ids
        self.users: dict[int, UserState] = {}
        self._arrivals = 0

    def apply(self, events: Iterable[Mapping[str, Any]], now_ms: int | None = None) -> tuple[Outcome, set[int]]:
        """Fold events in, judging `future` against `now_ms` (default: the wall clock); returns what happened and the
        users whose state changed."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        duplicates = 0
        late: list[Mapping[str, Any]] = []
        future: list[Mapping[str, Any]] = []
        applied_ids: list[str] = []
        touched: set[int] = set()
        for event in events:
            at = int(event["event_time"])
            if at - now > self.max_ahead:
                future.append(event)
                continue
            user = self.users.get(int(event["user_id"]))
            if user is not None and at < user.newest - self.bound:
                late.append(event)
                continue
            if user is None:
                user = self.users[int(event["user_id"])] = UserState()
            if event["event_id"] in user.ids:
                duplicates += 1
                continue
            self._insert(user, event, at)
            touched.add(int(event["user_id"]))
            applied_ids.append(event["event_id"])
        return Outcome(len(applied_ids), duplicates, late, future, applied_ids), touched

    def _insert(self, user: UserState, event: Mapping[str, Any], time: int) -> None:
        behavior = BEHAVIOR_CODES[event["behavior"]]
        item, category = int(event["item_id"]), int(event["category_id"])
        self._arrivals += 1
        bisect.insort(user.events, (time, self._arrivals, item, category, behavior))
        user.ids[event["event_id"]] = time
        user.counts[behavior] += 1
        embedding = self.embeddings.lookup(np.array([item]), np.array([category]))[0]
        user.interest.add(embedding, category, behavior, time)
        user.newest = max(user.newest, time)
        user.version = max(user.version + 1, time)
        if len(user.events) > self.n:
            del user.events[: len(user.events) - self.n]
        if len(user.ids) > 2 * self.n:  # forget ids that can no longer arrive without being late
            horizon = user.newest - self.bound  # an event older than this is late
            user.ids = {i: t for i, t in user.ids.items() if t >= horizon}

    def snapshot(self, user_id: int) -> dict[str, Any]:
        """The user_realtime row of one user. Its version advances with every applied event to max(previous + 1,
        event time): millisecond-monotonic, and a function of the events alone, so replays converge whatever the
        snapshot cadence."""
        user = self.users[user_id]
        times = np.array([e[0] for e in user.events], dtype=np.int64)
        items = np.array([e[2] for e in user.events], dtype=np.int64)
        categories = np.array([e[3] for e in user.events], dtype=np.int64)
        behaviors = np.array([e[4] for e in user.events], dtype=np.int32)
        top = top_categories(categories, behaviors, times)
        sids = self.semantic_ids.lookup(items).tobytes() if self.semantic_ids else b""
        return {
            "user_id": user_id,
            "event_time": int(user.newest),
            "version": int(user.version),
            "item_ids": items.tolist(),
            "category_ids": categories.tolist(),
            "behaviors": behaviors.tolist(),
            "event_times": times.tolist(),
            "count_pv": int(user.counts[0]),
            "count_cart": int(user.counts[1]),
            "count_fav": int(user.counts[2]),
            "count_buy": int(user.counts[3]),
            "sid_codes": sids,
            "sid_version": self.semantic_ids.version if self.semantic_ids else "",
            "interest": user.interest.vector().tolist(),
            "top_categories": top,
            "summary": summary(user.counts, top, behaviors, times),
        }
