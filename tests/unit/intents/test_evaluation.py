"""Next-day evaluation on a hand-made history: hit rate, coverage, channel and exclusive recall, tags vs baseline."""

from __future__ import annotations

import numpy as np
import pytest

from intents.evaluation import score_day, summarize
from tests.unit.intents.samples import CATALOG, DAY, HOUR, T0, events

NEXT = T0 + 24 * HOUR
HISTORY = events([
    (1, 14, "PV", T0 - 5 * HOUR), (2, 14, "PV", T0 - 4 * HOUR),   # Heat: the most popular Action title before the day
    (3, 13, "PV", T0 - 3 * HOUR),                                 # Alien: the next most popular Action title
    (7, 11, "FAV", T0 + 1 * HOUR), (7, 12, "FAV", T0 + 2 * HOUR), (7, 10, "PV", T0 + 3 * HOUR),  # day D: Drama x2 first
    (7, 14, "PV", NEXT + HOUR),       # next day: first interaction is Action (Heat) ...
    (7, 11, "FAV", NEXT + 2 * HOUR),  # ... then Drama again
    (9, 10, "PV", NEXT + HOUR),       # user 9 was not active on day D: not scored
])  # fmt: skip


def test_scores_against_the_next_day_beside_the_most_frequent_categories() -> None:
    [user7] = score_day(HISTORY, CATALOG, DAY, {7: [1], 9: [1]}, channel_size=1)
    # tags name Action: the first next-day item (Heat) hits, half the next-day items are covered, and the channel's
    # most popular unseen Action item is Heat: 1 of the 2 next-day items
    assert user7.tags == (1.0, 0.5, 0.5, 0.5)
    # the baseline takes the user's most frequent category of the day (Drama, tied with Romance, first seen first);
    # its channel is empty: the only Drama items were already seen
    assert user7.baseline == (0.0, 0.5, 0.0, 0.0)


def test_exclusive_recall_counts_only_what_generative_retrieval_missed() -> None:
    histories = []

    histories, categories = [], []

    def retrieve(batch: list[np.ndarray], tags: list[list[int]]) -> list[tuple[set[int], set[int]]]:
        histories.extend(h.tolist() for h in batch)
        categories.extend(tags)
        return [({14}, {14, 11})]  # GR already finds Heat; with the channel, also the user's next Drama

    [user7] = score_day(HISTORY, CATALOG, DAY, {7: [1, 1]}, channel_size=1, retrieve=retrieve)
    assert histories == [[11, 12, 10]]  # the user's history up to the end of day D, oldest first
    assert categories == [[1]]  # the tags' categories, once each, in tag order
    assert (user7.gr_recall, user7.served_recall, user7.tags[2], user7.tags[3]) == (0.5, 1.0, 0.5, 0.0)
    summary = summarize([user7, user7])
    assert (summary.users, summary.tags["exclusive_recall"], summary.gr_recall, summary.served_recall) == (2, 0.0, 0.5, 1.0)


def test_users_without_tags_or_next_day_activity_are_not_scored() -> None:
    assert score_day(HISTORY, CATALOG, DAY, {7: []}) == []
    assert summarize([]).users == 0
    assert summarize([]).baseline["hit_rate"] == pytest.approx(0.0)
