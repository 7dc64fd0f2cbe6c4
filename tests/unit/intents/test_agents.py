"""What the agents make of valid answers: grounded schemas, personas named twice merged, repeated modifiers said
once, the arbiter's ratings turned into a non-redundant top-N. The scripted server gives the answers; the real
model runs in tests/integration/intents."""

from __future__ import annotations

import json

from intents.agents import Persona, Tag, arbitrate, plan, propose
from intents.config import LLMConfig
from intents.context import build_contexts
from intents.llm import LLMClient
from tests.unit.intents.conftest import Scripted
from tests.unit.intents.samples import CATALOG, DAY, DAY_EVENTS

USER7 = build_contexts(DAY_EVENTS, CATALOG, DAY)[0]  # categories: Action, Sci-Fi, Drama, Romance


def client(url: str) -> LLMClient:
    return LLMClient(LLMConfig(structured_output="json_object"), url)


def test_planner_is_offered_only_the_users_categories_and_merges_repeated_personas(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = [json.dumps({"personas": [
        {"name": "space opera fan", "categories": ["Sci-Fi", "Action"]},
        {"name": "space opera fan", "categories": ["Sci-Fi"]},
        {"name": "old romance fan", "categories": ["Romance", "Drama", "Romance"]},
    ]})]  # fmt: skip
    personas = plan(client(url), USER7, CATALOG, 3)
    assert personas == [Persona("space opera fan", (15, 1)), Persona("old romance fan", (14, 8))]
    schema = script.requests[0]["response_format"]["schema"]["properties"]["personas"]
    assert schema["items"]["properties"]["categories"]["items"]["enum"] == ["Action", "Sci-Fi", "Drama", "Romance"]
    assert script.requests[0]["messages"][0]["content"].startswith(USER7.hybrid)  # the shared prefix comes first


def test_expert_tags_are_modifiers_plus_a_persona_category(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = [json.dumps({"tags": [{"modifiers": ["epic", "epic"], "category": "Sci-Fi"},
                                           {"modifiers": ["cult", "dark"], "category": "Action"}]})]  # fmt: skip
    tags = propose(client(url), USER7, CATALOG, Persona("space opera fan", (15, 1)), 5)
    assert tags == [Tag(("epic",), 15, "epic Sci-Fi", "space opera fan"), Tag(("cult", "dark"), 1, "cult dark Action", "space opera fan")]
    item = script.requests[0]["response_format"]["schema"]["properties"]["tags"]["items"]["properties"]
    assert item["category"]["enum"] == ["Sci-Fi", "Action"]
    assert sorted(item["modifiers"]["items"]["enum"]) == sorted(CATALOG.modifiers)


def test_arbiter_keeps_the_best_rated_distinct_tags_at_most_three_per_category(server: tuple[Scripted, str]) -> None:
    script, url = server
    drama = [Tag((m,), 8, f"{m} Drama", "p") for m in ("classic", "dark", "witty", "epic")]
    candidates = [*drama, drama[0], Tag(("cult",), 15, "cult Sci-Fi", "q")]
    script.answers = [json.dumps({"ratings": [5, 5, 4, 5, 2]})]  # one rating per distinct candidate
    chosen = arbitrate(client(url), USER7, candidates, 4)
    # Drama tags rated 5, 5, 4, 5: three are kept (the cap), then the Sci-Fi tag despite its lower rating
    assert [t.text for t in chosen] == ["classic Drama", "dark Drama", "epic Drama", "cult Sci-Fi"]
    assert script.requests[0]["response_format"]["schema"]["properties"]["ratings"]["minItems"] == 5
