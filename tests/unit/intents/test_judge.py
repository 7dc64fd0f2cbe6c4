"""The judge's objective sub-evaluators and the senior reviewer's S / A / B rules."""

from __future__ import annotations

import pytest

from intents.agents import Tag
from intents.context import build_contexts
from intents.judge import review, tag_category
from tests.unit.intents.samples import CATALOG, DAY, DAY_EVENTS

USER7 = build_contexts(DAY_EVENTS, CATALOG, DAY)[0]  # engaged with Action, Sci-Fi, Drama, Romance


def tag(text: str, category: int) -> Tag:
    *modifiers, _ = text.split()
    return Tag(tuple(modifiers), category, text, "p")


@pytest.mark.parametrize("text, expected", [
    ("classic Drama", 8), ("epic romantic Sci-Fi", 15), ("dark sci-fi", 15), ("classic Western", None), ("Drama fan", None),
])  # fmt: skip
def test_tag_category_reads_the_core_word_from_the_text(text: str, expected: int | None) -> None:
    assert tag_category(text, CATALOG) == expected


def test_all_dimensions_passing_is_s() -> None:
    tags = [tag("classic Drama", 8), tag("epic Sci-Fi", 15), tag("romantic Romance", 14)]
    verdict = review(USER7, CATALOG, tags, [True, True, True])
    assert verdict.grade == "S"
    assert verdict.tag_scores == [1.0, 1.0, 1.0]


def test_some_inconsistent_tags_make_a() -> None:
    tags = [tag("classic Drama", 8), tag("epic Sci-Fi", 15), tag("romantic Romance", 14)]
    verdict = review(USER7, CATALOG, tags, [True, False, True])
    assert (verdict.grade, verdict.dimensions["consistency"]) == ("A", pytest.approx(2 / 3))
    assert verdict.tag_scores == [1.0, 0.75, 1.0]


def test_a_failed_dimension_is_b_whatever_the_rest() -> None:
    # Musical-free catalogue: "cheerful Western" names no known category (invalid) and none the user engaged with
    tags = [tag("classic Western", -1), tag("sunny Western", -1), tag("epic Sci-Fi", 15)]
    verdict = review(USER7, CATALOG, tags, [True, True, True])
    assert verdict.grade == "B"
    assert verdict.dimensions["validity"] == pytest.approx(1 / 3)
    assert verdict.dimensions["relevance"] == pytest.approx(1 / 3)


def test_repeated_tags_are_not_specific_and_no_tags_is_b() -> None:
    tags = [tag("classic Drama", 8), tag("classic Drama", 8)]
    assert review(USER7, CATALOG, tags, [True, True]).dimensions["specificity"] == 0.0
    assert review(USER7, CATALOG, [], []).grade == "B"
