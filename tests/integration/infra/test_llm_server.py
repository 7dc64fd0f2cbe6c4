"""The embedded llama.cpp server answers only requests that carry its key (made at its first start, kept in a private
file, never on its command line)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.fixtures.llm import LLMEndpoint
from tests.fixtures.processes import arguments_and_environments

pytestmark = pytest.mark.integration


def _status(url: str, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_embedded_llm_refuses_requests_without_its_key(llm_server: LLMEndpoint) -> None:
    models = f"{llm_server.base_url}/models"
    assert _status(models, llm_server.api_key) == 200
    assert _status(models, None) == 401 and _status(models, "wrong") == 401
    assert llm_server.api_key.encode() not in arguments_and_environments()
