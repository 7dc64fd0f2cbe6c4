"""Next-day evaluation on a hand-made history: hit rate, coverage and channel recall, tags vs the baseline."""

from __future__ import annotations

import pytest

from intents.evaluation import evaluate_day
from tests.unit.intents.samples import CATALOG, DAY, HOUR, T0, events

NEXT = T0 + 24 * HOUR
HISTORY = events([
    (1, 14, "PV", T0 - 5 * HOUR), (2, 14, "PV", T0 - 4 * HOUR),   # Heat: the most popular Action title before the day
    (7, 11, "FAV", T0 + 1 * HOUR), (7, 12, "FAV", T0 + 2 * HOUR), (7, 10, "PV", T0 + 3 * HOUR),  # day D: Drama x2 first
    (7, 14, "PV", NEXT + HOUR),   # next day: first interaction is Action (Heat) ...
    (7, 11, "FAV", NEXT + 2 * HOUR),  # ... then Drama again
    (9, 10, "PV", NEXT + HOUR),   # user 9 was not active on day D: not scored
])  # fmt: skip


def test_scores_against_the_next_day_beside_the_most_frequent_categories() -> None:
    result = evaluate_day(HISTORY, CATALOG, DAY, {7: [1], 9: [1]}, channel_size=1)
    assert result.users == 1
    # tags name Action: the first next-day item (Heat) hits, half the next-day items are covered, and the channel's
    # most popular unseen Action item is Heat: recall 1 of 2 next-day items
    assert (result.tags.hit_rate, result.tags.coverage, result.tags.channel_recall) == (1.0, 0.5, 0.5)
    # the baseline takes the user's most frequent category of the day (Drama, tied with Romance, first seen first)
    assert (result.baseline.hit_rate, result.baseline.coverage) == (0.0, pytest.approx(0.5))
    assert result.baseline.channel_recall == 0.0  # the only Drama items were already seen


def test_users_without_tags_or_next_day_activity_are_not_scored() -> None:
    assert evaluate_day(HISTORY, CATALOG, DAY, {7: []}).users == 0
