"""One OpenAI-compatible chat client for every backend (the embedded llama.cpp server, vLLM, a hosted API): answers
are JSON validated against a schema, asked for with constrained decoding where the server supports it, retried a
bounded number of times, and a final failure carries the reason of every attempt."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import requests

from intents.config import LLMConfig

Check = Callable[[dict[str, Any]], str | None]
"""An extra check of a schema-valid answer: the reason it is wrong, or None."""


class LLMFailure(RuntimeError):
    """No valid answer within the retries; `reasons` has one entry per attempt."""

    def __init__(self, task: str, reasons: list[str]) -> None:
        super().__init__(f"{task}: no valid answer after {len(reasons)} attempts: {reasons[-1]}")
        self.task, self.reasons = task, reasons


@dataclass
class Usage:
    calls: int = 0
    failed_attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass
class LLMClient:
    config: LLMConfig
    base_url: str
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self) -> None:
        self.session = requests.Session()
        if self.config.api_key:
            self.session.headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"

    def ask_json(self, task: str, prompt: str, schema: dict[str, Any], check: Check | None = None) -> dict[str, Any]:
        """The first answer that parses, matches `schema` and passes `check`; LLMFailure after the retries."""
        validator = jsonschema.Draft202012Validator(schema)
        reasons: list[str] = []
        for _ in range(1 + self.config.retries):
            try:
                answer = self._chat(task, prompt, schema)
            except (requests.RequestException, KeyError, ValueError) as exc:
                reasons.append(f"request failed: {exc}")
                continue
            value, reason = _parse(answer, validator, check)
            if value is not None:
                return value
            reasons.append(reason)
            self.usage.failed_attempts += 1
        raise LLMFailure(task, reasons)

    def _chat(self, task: str, prompt: str, schema: dict[str, Any]) -> str:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        mode = self.config.structured_output
        if mode == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": task, "schema": schema, "strict": True}}
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        response = self.session.post(f"{self.base_url.rstrip('/')}/chat/completions", json=body, timeout=self.config.timeout_s)
        response.raise_for_status()
        reply = response.json()
        usage = reply.get("usage") or {}
        self.usage.calls += 1
        self.usage.prompt_tokens += int(usage.get("prompt_tokens", 0))
        self.usage.completion_tokens += int(usage.get("completion_tokens", 0))
        self.usage.seconds += response.elapsed.total_seconds()
        return reply["choices"][0]["message"]["content"] or ""


def _parse(answer: str, validator: jsonschema.Draft202012Validator, check: Check | None) -> tuple[dict | None, str]:
    """The answer's JSON object if it is valid, else None and why (servers without constrained decoding may wrap
    the object in prose: the outermost braces are taken)."""
    start, end = answer.find("{"), answer.rfind("}")
    if start < 0 or end < start:
        return None, f"no JSON object in the answer: {answer[:80]!r}"
    try:
        value = json.loads(answer[start : end + 1])
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg}): {answer[:80]!r}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        return None, f"schema: {error.message} at {'/'.join(map(str, error.absolute_path)) or 'the top'}"
    reason = check(value) if check else None
    return (None, reason) if reason else (value, "")
