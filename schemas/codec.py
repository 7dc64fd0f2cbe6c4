"""Record-at-a-time Avro codec (the reference implementation), in Avro single-object encoding.

Wire format (Avro 1.10+ spec): `C3 01` + 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema + the Avro
binary body. The fingerprint lets a reader pick the exact writer schema without a registry service, so unknown or
mismatched messages fail with a typed error instead of decoding into garbage.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.registry import SchemaRegistry, SchemaVersion, UnknownSchemaError, default_registry

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


class CodecError(ValueError):
    """Base of every codec error: catch this one to route a record to the dead-letter topic."""


class DecodeError(CodecError):
    """The bytes are not a valid message (truncated, corrupt, no header, trailing garbage)."""


class UnknownSchemaFingerprint(CodecError, UnknownSchemaError):
    """The header names a schema that is unknown, or that belongs to another message type."""


class MissingFieldError(CodecError):
    """A record to encode lacks a field that has no default."""


class InvalidFieldError(CodecError):
    """A record to encode has a field of the wrong type or out of range."""


class AvroCodec:
    """Encode and decode one message type; decoding resolves any known older version to the newest."""

    def __init__(self, message: str, registry: SchemaRegistry | None = None) -> None:
        self.registry = registry or default_registry()
        self.schema: SchemaVersion = self.registry.latest(message)
        self.message = message
        self._required = [f["name"] for f in self.schema.schema["fields"] if "default" not in f]
        self._header = MAGIC + self.schema.fingerprint

    def encode(self, record: Mapping[str, Any]) -> bytes:
        missing = [name for name in self._required if record.get(name) is None]
        if missing:
            raise MissingFieldError(f"{self.message}: missing required field(s) {missing}")
        out = BytesIO()
        out.write(self._header)
        try:
            schemaless_writer(out, self.schema.parsed, dict(record), strict_allow_default=True)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise InvalidFieldError(f"{self.message}: {exc}") from exc
        return out.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError(f"{self.message}: expected bytes, got {type(data).__name__}")
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise DecodeError(f"{self.message}: not an Avro single-object message (bad or missing C3 01 header)")
        try:
            writer = self.registry.by_fingerprint(bytes(data[2:HEADER_SIZE]))
        except UnknownSchemaError as exc:
            raise UnknownSchemaFingerprint(f"{self.message}: {exc}") from None
        if writer.message != self.message:
            raise UnknownSchemaFingerprint(f"expected a {self.message} message, got a {writer.message} message")
        body = BytesIO(data[HEADER_SIZE:])
        try:
            record = schemaless_reader(body, writer.parsed, self.schema.parsed)
        except Exception as exc:  # fastavro raises EOFError, UnicodeDecodeError, IndexError, ... on corrupt input
            raise DecodeError(f"{self.message}: corrupt body ({type(exc).__name__}: {exc})") from exc
        if body.tell() != len(data) - HEADER_SIZE:
            raise DecodeError(f"{self.message}: {len(data) - HEADER_SIZE - body.tell()} trailing bytes after the record")
        return record
