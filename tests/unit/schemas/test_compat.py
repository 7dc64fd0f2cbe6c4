"""The next schema version must read data written with the current one (backward compatibility)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.codec import AvroCodec
from schemas.compat import backward_problems
from schemas.registry import SchemaRegistry, default_registry
from tests.unit.schemas.test_codec import CLICK


def _next_click_version() -> dict[str, Any]:
    """What v2 is expected to look like: a new optional context field and a new behaviour with an enum default."""
    schema = copy.deepcopy(default_registry().latest("click_event").schema)
    schema["fields"].append({"name": "page", "type": ["null", "string"], "default": None})
    behavior = next(f for f in schema["fields"] if f["name"] == "behavior")["type"]
    behavior["symbols"].append("SHARE")
    behavior["default"] = "PV"
    return schema


def test_next_version_reads_data_written_with_the_current_one() -> None:
    registry = SchemaRegistry()
    old_bytes = AvroCodec("click_event", registry).encode(CLICK)
    registry.add("click_event", 99, _next_click_version())
    new_reader = AvroCodec("click_event", registry)
    assert new_reader.schema.version == 99
    assert new_reader.decode(old_bytes) == {**CLICK, "page": None}
    assert backward_problems(_next_click_version(), default_registry().latest("click_event").schema) == []


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda s: s["fields"].append({"name": "page", "type": "string"}), "added without a default"),
        (lambda s: s["fields"][1].update(type="string"), "long cannot be read as string"),
        (lambda s: s["fields"][4]["type"]["symbols"].remove("FAV"), "removed without an enum default"),
    ],
    ids=["field-without-default", "type-change", "enum-symbol-removed"],
)
def test_incompatible_changes_are_reported(mutate: Any, problem: str) -> None:
    current = default_registry().latest("click_event").schema
    candidate = copy.deepcopy(current)
    mutate(candidate)
    assert any(problem in p for p in backward_problems(candidate, current))


def test_type_promotion_is_compatible() -> None:
    old = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}
    new = {"type": "record", "name": "R", "fields": [{"name": "x", "type": ["null", "long"], "default": None}]}
    assert backward_problems(new, old) == []


@pytest.mark.parametrize("message", default_registry().messages())
def test_each_committed_version_reads_its_predecessor(message: str) -> None:
    registry = default_registry()
    versions = sorted(v for (m, v) in registry.versions() if m == message)
    for older, newer in zip(versions, versions[1:]):
        assert backward_problems(registry.get(message, newer).schema, registry.get(message, older).schema) == []
