"""The hierarchical agents of RecGPT-V2 (§3.3): a planner splits a user's context into a few personas, one expert per
persona proposes "modifier + core word" tags, an arbiter picks the final top-N as a set. Every answer is JSON under a
schema built for this user (categories and modifiers as enums), so a small model can only choose among grounded
words. Prompts start with the user's context: a server that caches prompt prefixes evaluates it once per user."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from intents.catalog import Catalog
from intents.context import UserContext
from intents.llm import LLMClient

PLANNER = """{context}

You are the planner of a recommender system. Split this user's interests into 2 to {k} distinct personas, such as "{example}". Give each persona a short lowercase name and the 1 to 3 categories it covers, taken from the top categories above. Answer in JSON."""

EXPERT = """{context}

You are the expert for the persona "{persona}" (categories: {categories}). Propose {n} different interest tags for it. A tag is one or two modifiers from this list: {modifiers}; plus one of the persona's categories, for example {example}. Answer in JSON."""

ARBITER = """{context}

You are the arbiter. Candidate interest tags:
{candidates}
Rate each of the {count} tags from 1 (poor) to 5 (excellent) for this user: relevant to the events above, specific, not redundant with a better tag. Answer in JSON with one rating per tag, in order."""

PROMPT_VERSION = "agents-" + hashlib.sha256((PLANNER + EXPERT + ARBITER).encode()).hexdigest()[:10]
CANDIDATE_CATEGORIES = 8
PER_CATEGORY = 3
NAME_PATTERN = "^[a-z][a-z'-]{1,15}( [a-z][a-z'-]{1,15}){1,4}$"


@dataclass(frozen=True)
class Persona:
    name: str
    categories: tuple[int, ...]


@dataclass(frozen=True)
class Tag:
    modifiers: tuple[str, ...]
    category: int
    text: str
    persona: str


def plan(client: LLMClient, ctx: UserContext, catalog: Catalog, k: int) -> list[Persona]:
    names = [catalog.category_name(c) for c in ctx.categories[:CANDIDATE_CATEGORIES]]
    schema = _wrapped("personas", {
        "type": "array", "minItems": min(2, k, len(names)), "maxItems": k,
        "items": _record({"name": {"type": "string", "pattern": NAME_PATTERN},
                           "categories": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"enum": names}}}),
    })  # fmt: skip
    example = f"{catalog.modifiers[ctx.user_id % len(catalog.modifiers)]} {names[0].lower()} fan"
    answer = client.ask_json("planner", PLANNER.format(context=ctx.hybrid, k=k, example=example), schema)
    by_name = {catalog.category_name(c): c for c in ctx.categories}
    merged: dict[str, list[int]] = {}  # a persona named twice is one persona
    for p in answer["personas"]:
        merged.setdefault(p["name"], []).extend(by_name[n] for n in p["categories"])
    return [Persona(name, tuple(dict.fromkeys(categories))) for name, categories in merged.items()]


def propose(client: LLMClient, ctx: UserContext, catalog: Catalog, persona: Persona, n: int) -> list[Tag]:
    names = [catalog.category_name(c) for c in persona.categories]
    schema = _wrapped("tags", {
        "type": "array", "minItems": 2, "maxItems": n,
        "items": _record({"modifiers": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"enum": list(catalog.modifiers)}},
                           "category": {"enum": names}}),
    })  # fmt: skip
    shift = (ctx.user_id + len(persona.name)) % len(catalog.modifiers)
    modifiers = catalog.modifiers[shift:] + catalog.modifiers[:shift]  # a small model favours the first words listed
    example = f'{{"modifiers": ["{modifiers[-1]}"], "category": "{names[0]}"}}'
    prompt = EXPERT.format(context=ctx.hybrid, persona=persona.name, categories=", ".join(names), n=n,
                           modifiers=", ".join(modifiers), example=example)  # fmt: skip
    answer = client.ask_json("expert", prompt, schema)
    by_name = {catalog.category_name(c): c for c in persona.categories}
    tags = []
    for t in answer["tags"]:
        modifiers = tuple(dict.fromkeys(t["modifiers"]))  # "recent recent" says "recent"
        tags.append(Tag(modifiers, by_name[t["category"]], " ".join([*modifiers, t["category"]]), persona.name))
    return tags


def arbitrate(client: LLMClient, ctx: UserContext, candidates: list[Tag], n: int) -> list[Tag]:
    """The arbiter's top-N of `candidates` as a set: it rates every candidate, then the best are taken in order,
    skipping repeats (same text) and a category's tags beyond `PER_CATEGORY` (redundancy)."""
    unique = list({t.text: t for t in candidates}.values())
    listing = "\n".join(f"{i}. {t.text} (persona: {t.persona})" for i, t in enumerate(unique, 1))
    schema = _wrapped("ratings", {"type": "array", "minItems": len(unique), "maxItems": len(unique),
                                 "items": {"enum": [1, 2, 3, 4, 5]}})  # fmt: skip
    answer = client.ask_json("arbiter", ARBITER.format(context=ctx.hybrid, candidates=listing, count=len(unique)), schema)
    order = sorted(range(len(unique)), key=lambda i: -answer["ratings"][i])  # stable: proposal order breaks ties
    chosen: list[Tag] = []
    for i in order:
        if sum(t.category == unique[i].category for t in chosen) < PER_CATEGORY:
            chosen.append(unique[i])
    return chosen[:n]


def _wrapped(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An object holding one required property: answers are always objects (what json_object modes require)."""
    return _record({name: schema})


def _record(properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object whose properties are all required."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
