"""The client's contract with any OpenAI-compatible server: the request it sends, validation, bounded retries, and
a failure that names every attempt's reason. A scripted HTTP server plays the remote side (the embedded llama.cpp
server is exercised for real in tests/integration/intents)."""

from __future__ import annotations

import pytest

from intents.config import LLMConfig
from intents.llm import LLMClient, LLMFailure
from tests.unit.intents.conftest import Scripted

SCHEMA = {"type": "object", "properties": {"tags": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
          "required": ["tags"], "additionalProperties": False}  # fmt: skip


def test_sends_openai_json_schema_request_and_returns_the_valid_object(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = ['{"tags": ["classic Drama"]}']
    config = LLMConfig(model="m", api_key="k3y-secret")
    assert "k3y-secret" not in repr(config) and "k3y-secret" not in config.model_dump_json()
    client = LLMClient(config, url)
    assert client.ask_json("expert", "prompt", SCHEMA) == {"tags": ["classic Drama"]}
    sent = script.requests[0]
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "expert", "schema": SCHEMA, "strict": True}}
    assert (sent["model"], sent["messages"], sent["_auth"]) == ("m", [{"role": "user", "content": "prompt"}], "Bearer k3y-secret")
    assert (client.usage.calls, client.usage.prompt_tokens, client.usage.completion_tokens) == (1, 10, 3)


def test_llama_cpp_style_and_prose_wrapped_answers(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = ['Sure! {"tags": ["epic Sci-Fi"]} Hope it helps.']
    client = LLMClient(LLMConfig(structured_output="json_object"), url)
    assert client.ask_json("t", "p", SCHEMA) == {"tags": ["epic Sci-Fi"]}
    assert script.requests[0]["response_format"] == {"type": "json_object", "schema": SCHEMA}


def test_retries_invalid_answers_then_succeeds(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = ["no json here", '{"tags": []}', '{"tags": ["dark Thriller"]}']
    client = LLMClient(LLMConfig(retries=2), url)
    assert client.ask_json("t", "p", SCHEMA) == {"tags": ["dark Thriller"]}
    assert client.usage.failed_attempts == 2


def test_gives_up_after_the_retries_with_every_reason(server: tuple[Scripted, str]) -> None:
    script, url = server
    script.answers = ['{"tags": [}', '{"tags": ["x"], "extra": 1}', '{"tags": ["ok"]}']
    check = lambda answer: "not grounded" if answer["tags"] == ["ok"] else None  # noqa: E731
    with pytest.raises(LLMFailure) as failure:
        LLMClient(LLMConfig(retries=2), url).ask_json("planner", "p", SCHEMA, check)
    reasons = failure.value.reasons
    assert failure.value.task == "planner" and len(reasons) == 3
    assert reasons[0].startswith("invalid JSON") and reasons[1].startswith("schema: Additional properties")
    assert reasons[2] == "not grounded"
