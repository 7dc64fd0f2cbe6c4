"""Schemathesis against the published OpenAPI spec: generated valid and invalid requests never get a 5xx, and
every response conforms to the spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.inference.serving.conftest import start_api, write_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_schema(redis_server, model_dir: Path) -> Iterator[schemathesis.BaseSchema]:  # noqa: ANN001
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    for user in range(0, 50):
        write_user(client, user, [1 + user, 2 + user, 3 + user])
    for url in start_api(client, model_dir):
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_server_errors_and_responses_match_the_spec(api_schema: schemathesis.BaseSchema,
                                                       mode: schemathesis.GenerationMode) -> None:  # fmt: skip
    """Every operation of the spec with valid (positive) requests; invalid (negative) ones where there is input to
    break (the request body)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/recommend", "/healthz", "/readyz", "/metrics"}
    if mode == schemathesis.GenerationMode.NEGATIVE:
        operations = [op for op in operations if op.body]
        assert [op.path for op in operations] == ["/recommend"]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()
