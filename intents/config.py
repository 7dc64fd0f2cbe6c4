"""Typed settings of the intent batch and of the LLM it talks to (infra's Settings embeds them as `intents`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class LLMConfig(BaseModel):
    base_url: str | None = Field(None, description="an OpenAI-compatible server (…/v1); unset: the embedded llama.cpp server")
    model: str = "gemma-3-270m-q4_k_m"
    api_key: SecretStr | None = Field(None, description="the server's key (Authorization: Bearer); never printed")
    structured_output: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema",
        description="how the server is asked for schema-valid JSON: OpenAI's json_schema response format, "
        "llama-cpp-python's json_object+schema, or none (validate and retry only)",
    )
    temperature: float = 0.3
    max_tokens: int = 256
    timeout_s: float = 120.0
    retries: int = Field(2, description="extra attempts after an invalid or failed answer")


class IntentConfig(BaseModel):
    personas: int = Field(3, description="most personas the planner may propose")
    tags_per_expert: int = 5
    top_n: int = Field(8, description="tags kept per user by the arbiter")
    max_events: int = Field(40, description="newest events of the day put in a context")
    flush_users: int = Field(1, description="users per resumable progress file")
    llm: LLMConfig = LLMConfig()
