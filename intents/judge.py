"""Agent-as-a-Judge for tags (RecGPT-V2 §3.5): four sub-evaluators, then a senior reviewer grades S / A / B.

Three dimensions are objective checks against the data, one asks the LLM:
- relevance: the tag's category is one the user engaged with that day;
- validity: the tag maps to an existing category of the catalogue (`tag_category`, from the text alone, so it also
  holds for tags a server produced without constrained decoding) and its modifiers are in the domain's vocabulary;
- specificity: the tag has a modifier and a core word and says something no other tag of the set says;
- consistency: the LLM answers, per tag, whether it fits the user's events.
Reviewer: a dimension passes when at least half the tags pass it; any failed dimension gives B (defect detection);
otherwise S when the share of excellent dimensions (`EXCELLENT` of the tags pass) reaches `S_SHARE`, else A
(excellence elevation)."""

from __future__ import annotations

from dataclasses import dataclass

from intents.agents import Tag
from intents.catalog import Catalog
from intents.context import UserContext
from intents.llm import LLMClient

DIMENSIONS = ("relevance", "consistency", "specificity", "validity")
PASS = 0.5
EXCELLENT = 0.9
S_SHARE = 1.0

CONSISTENCY = """{context}

You are a strict reviewer. For each interest tag below, answer yes if it fits this user's events above, no otherwise.
{tags}
Answer in JSON with one verdict per tag, in order."""


@dataclass(frozen=True)
class Verdict:
    grade: str
    dimensions: dict[str, float]
    """Share of tags passing each dimension."""
    tag_scores: list[float]
    """Per tag, the share of dimensions it passes."""


def tag_category(text: str, catalog: Catalog) -> int | None:
    """The category a tag's text names as its core word (its last words), or None: RecGPT's tag2cat, by name."""
    words = text.lower().split()
    names = catalog.category_by_name()
    for start in range(len(words)):
        category = names.get(" ".join(words[start:]))
        if category is not None:
            return category
    return None


def judge(client: LLMClient, ctx: UserContext, catalog: Catalog, tags: list[Tag]) -> Verdict:
    """The sub-evaluators (one LLM call for consistency) and the reviewer's grade."""
    return review(ctx, catalog, tags, _consistency(client, ctx, [t.text for t in tags]) if tags else [])


def review(ctx: UserContext, catalog: Catalog, tags: list[Tag], consistent: list[bool]) -> Verdict:
    """The objective sub-evaluators, the LLM's per-tag consistency verdicts, then the senior reviewer."""
    if not tags:
        return Verdict("B", dict.fromkeys(DIMENSIONS, 0.0), [])
    engaged = set(ctx.categories)
    vocabulary = set(catalog.modifiers)
    texts = [t.text for t in tags]
    checks = {
        "relevance": [tag_category(t.text, catalog) in engaged for t in tags],
        "validity": [tag_category(t.text, catalog) is not None and set(t.modifiers) <= vocabulary for t in tags],
        "specificity": [bool(t.modifiers) and texts.count(t.text) == 1 for t in tags],
        "consistency": consistent,
    }
    dimensions = {d: sum(checks[d]) / len(tags) for d in DIMENSIONS}
    tag_scores = [sum(checks[d][i] for d in DIMENSIONS) / len(DIMENSIONS) for i in range(len(tags))]
    if min(dimensions.values()) < PASS:
        grade = "B"
    else:
        excellent = sum(share >= EXCELLENT for share in dimensions.values()) / len(DIMENSIONS)
        grade = "S" if excellent >= S_SHARE else "A"
    return Verdict(grade, dimensions, tag_scores)


def _consistency(client: LLMClient, ctx: UserContext, texts: list[str]) -> list[bool]:
    listing = "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))
    schema = {
        "type": "object", "additionalProperties": False, "required": ["verdicts"],
        "properties": {"verdicts": {"type": "array", "minItems": len(texts), "maxItems": len(texts), "items": {"enum": ["yes", "no"]}}},
    }  # fmt: skip
    answer = client.ask_json("judge-consistency", CONSISTENCY.format(context=ctx.hybrid, tags=listing), schema)
    return [v == "yes" for v in answer["verdicts"]]
