"""Backward-compatibility rules of Avro schema resolution: can a reader on schema `new` read data written with `old`?

A static check, so CI rejects an incompatible `.avsc` before any consumer meets a message it cannot read.
"""

from __future__ import annotations

from typing import Any

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}


def backward_problems(new: Any, old: Any, path: str = "") -> list[str]:
    """Every reason a reader using `new` cannot read data written with `old` (empty when compatible)."""
    if isinstance(old, list):  # every writer branch must resolve against the reader
        return [p for branch in old for p in _branch_problems(new, branch, path)]
    if isinstance(new, list):
        return _branch_problems(new, old, path)
    new_type, old_type = _type_name(new), _type_name(old)
    if old_type in _PROMOTIONS or old_type in {"null", "boolean", "double"}:
        if new_type != old_type and new_type not in _PROMOTIONS.get(old_type, set()):
            return [f"{path or '<root>'}: {old_type} cannot be read as {new_type}"]
        return []
    if new_type != old_type:
        return [f"{path or '<root>'}: {old_type} cannot be read as {new_type}"]
    if old_type == "record":
        return _record_problems(new, old, path)
    if old_type == "enum":
        lost = set(old["symbols"]) - set(new["symbols"])
        if lost and "default" not in new:
            return [f"{path}: enum symbols {sorted(lost)} removed without an enum default"]
        return []
    if old_type == "array":
        return backward_problems(new["items"], old["items"], path + "[]")
    if old_type == "map":
        return backward_problems(new["values"], old["values"], path + "{}")
    if old_type == "fixed" and new["size"] != old["size"]:
        return [f"{path}: fixed size {old['size']} -> {new['size']}"]
    return []


def _record_problems(new: dict[str, Any], old: dict[str, Any], path: str) -> list[str]:
    old_fields = {f["name"]: f for f in old["fields"]}
    problems: list[str] = []
    for field in new["fields"]:
        name = field["name"]
        source = old_fields.get(name) or next(
            (old_fields[a] for a in field.get("aliases", []) if a in old_fields), None
        )
        where = f"{path}.{name}" if path else name
        if source is None:
            if "default" not in field:
                problems.append(f"{where}: added without a default")
            continue
        problems += backward_problems(field["type"], source["type"], where)
    return problems


def _branch_problems(new_union: Any, old_branch: Any, path: str) -> list[str]:
    branches = new_union if isinstance(new_union, list) else [new_union]
    if any(not backward_problems(b, old_branch, path) for b in branches):
        return []
    return [f"{path}: writer type {_type_name(old_branch)} matches no reader union branch"]


def _type_name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, dict):
        return schema["type"] if isinstance(schema["type"], str) else _type_name(schema["type"])
    return "union"
