"""Hybrid contexts: short names grouped by (time bucket, behaviour), the day's events only, sizes that shrink."""

from __future__ import annotations

import pyarrow as pa

from intents.context import build_contexts
from tests.unit.intents.samples import CATALOG, DAY, DAY_EVENTS


def test_one_context_per_user_active_that_day_with_only_that_days_events() -> None:
    contexts = build_contexts(DAY_EVENTS, CATALOG, DAY)
    assert [c.user_id for c in contexts] == [7, 8]
    assert contexts[0].items == (10, 10, 11, 12)  # time order; Heat (the day before) is absent
    assert contexts[1].items == (13,)  # Star Wars of the next day is absent


def test_hybrid_names_items_once_per_bucket_and_behaviour_and_ranks_categories() -> None:
    user7 = build_contexts(DAY_EVENTS, CATALOG, DAY)[0]
    lines = user7.hybrid.splitlines()
    assert lines[0] == "Day: 1997-11-13 (Thursday). 4 events."
    assert lines[1] == "Top categories: Action x2, Sci-Fi x2, Drama x2, Romance x2"
    assert lines[2:] == ["morning watched: Star Wars", "evening loved: Casablanca; Titanic"]
    assert user7.categories == (1, 15, 8, 14)


def test_full_text_repeats_each_items_whole_text_and_is_longer() -> None:
    user7 = build_contexts(DAY_EVENTS, CATALOG, DAY)[0]
    body = user7.full.splitlines()[1:]
    assert body[0] == "1997-11-13 09:00 watched Star Wars (1977), genres Action, Sci-Fi"
    assert len(body) == 4
    assert len(user7.full) > len(user7.hybrid)


def test_max_events_keeps_the_newest() -> None:
    user7 = build_contexts(DAY_EVENTS, CATALOG, DAY, max_events=2)[0]
    assert user7.items == (11, 12)
    assert "Star Wars" not in user7.hybrid


def test_an_event_logged_twice_counts_once() -> None:
    twice = pa.concat_tables([DAY_EVENTS, DAY_EVENTS])
    assert build_contexts(twice, CATALOG, DAY) == build_contexts(DAY_EVENTS, CATALOG, DAY)
