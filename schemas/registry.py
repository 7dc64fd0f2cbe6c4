"""Versioned Avro schemas, found by name or by the fingerprint that every message carries.

Every `.avsc` in `schemas/avro/` is named `<message>.v<N>.avsc`. The highest N is what writers use; readers accept any
version whose fingerprint is known and resolve it to the newest one, so producers can be upgraded after consumers.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).parent / "avro"
_FILE_NAME = re.compile(r"^(?P<message>[a-z_]+)\.v(?P<version>\d+)\.avsc$")


class UnknownSchemaError(LookupError):
    """A message names a schema (by name or fingerprint) that this registry does not hold."""


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one message schema."""

    message: str
    version: int
    schema: dict[str, Any]
    fingerprint: bytes
    """CRC-64-AVRO of the parsing canonical form, little-endian, as in Avro single-object encoding."""

    @cached_property
    def parsed(self) -> dict[str, Any]:
        """fastavro's parsed form, with logical types removed: times stay epoch-millisecond ints end to end. Parsed
        once per version: every encode and decode reads it (a cache keyed by the schema as JSON cost more per record
        than the decoding itself). `_strip_logical_types` copies, so the registry's schema stays as written."""
        return parse_schema(_strip_logical_types(self.schema))


def _strip_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
        return out
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint of a schema (Avro spec, single-object encoding)."""
    canonical = to_parsing_canonical_form(parse_schema(copy.deepcopy(schema)))
    return int(fingerprint(canonical, "CRC-64-AVRO"), 16).to_bytes(8, "little")


class SchemaRegistry:
    """All schema versions of a directory, indexed by message name and by fingerprint."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self._by_message: dict[str, dict[int, SchemaVersion]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for path in sorted(directory.glob("*.avsc")):
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise ValueError(f"{path}: schema files are named <message>.v<N>.avsc")
            self.add(match["message"], int(match["version"]), json.loads(path.read_text()))

    def add(self, message: str, version: int, schema: dict[str, Any]) -> SchemaVersion:
        """Register one version (used by loading and by compatibility tests of a candidate version)."""
        entry = SchemaVersion(message, version, schema, schema_fingerprint(schema))
        self._by_message.setdefault(message, {})[version] = entry
        self._by_fingerprint[entry.fingerprint] = entry
        return entry

    def latest(self, message: str) -> SchemaVersion:
        versions = self._by_message.get(message)
        if not versions:
            raise UnknownSchemaError(f"no schema named {message!r}; known: {sorted(self._by_message)}")
        return versions[max(versions)]

    def get(self, message: str, version: int) -> SchemaVersion:
        try:
            return self._by_message[message][version]
        except KeyError:
            raise UnknownSchemaError(f"no version {version} of {message!r}") from None

    def versions(self) -> list[tuple[str, int]]:
        return sorted((m, v) for m, versions in self._by_message.items() for v in versions)

    def by_fingerprint(self, fp: bytes) -> SchemaVersion:
        try:
            return self._by_fingerprint[fp]
        except KeyError:
            raise UnknownSchemaError(f"no schema with fingerprint {fp.hex()}") from None

    def messages(self) -> list[str]:
        return sorted(self._by_message)


@lru_cache(maxsize=1)
def default_registry() -> SchemaRegistry:
    return SchemaRegistry()
