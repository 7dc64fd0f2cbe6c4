from __future__ import annotations

import os

import pytest

from schemas.codec import (
    HEADER_SIZE,
    AvroCodec,
    CodecError,
    DecodeError,
    InvalidFieldError,
    MissingFieldError,
    UnknownSchemaFingerprint,
)

CLICK = {
    "event_id": "e-1",
    "user_id": 42,
    "item_id": 2**40,
    "category_id": -3,
    "behavior": "CART",
    "event_time": 1_511_658_000_123,
    "session_id": "s-ü",
    "device": None,
}


@pytest.fixture(scope="module")
def clicks() -> AvroCodec:
    return AvroCodec("click_event")


def test_every_message_round_trips() -> None:
    samples = {
        "click_event": CLICK,
        "feature_update": {"user_id": 7, "version": 1_700_000_000_001, "event_time": 1_700_000_000_000},
        "dead_letter": {
            "source_topic": "clicks", "partition": 1, "offset": 99, "key": b"42", "payload": b"\x00garbage",
            "error_type": "DecodeError", "reason": "not an Avro message", "failed_at": 1_700_000_000_000,
        },
    }  # fmt: skip
    for message, record in samples.items():
        codec = AvroCodec(message)
        assert codec.decode(codec.encode(record)) == record


def test_optional_fields_default_to_none(clicks: AvroCodec) -> None:
    record = {k: v for k, v in CLICK.items() if k not in ("session_id", "device")}
    assert clicks.decode(clicks.encode(record)) == {**record, "session_id": None, "device": None}


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00", b"hello world, not avro", os.urandom(64), b"\xc3\x01" + b"\x00" * 4],
    ids=["empty", "one-byte", "text", "random", "short-header"],
)
def test_garbage_bytes_raise_decode_error(clicks: AvroCodec, garbage: bytes) -> None:
    with pytest.raises(DecodeError):
        clicks.decode(garbage)


def test_truncated_and_padded_messages_raise_decode_error(clicks: AvroCodec) -> None:
    data = clicks.encode(CLICK)
    with pytest.raises(DecodeError, match="corrupt"):
        clicks.decode(data[:-5])
    with pytest.raises(DecodeError, match="trailing"):
        clicks.decode(data + b"\x00")


def test_random_body_behind_a_valid_header_is_a_typed_error(clicks: AvroCodec) -> None:
    header = clicks.encode(CLICK)[:HEADER_SIZE]
    for seed in range(200):
        body = os.urandom(1 + seed % 40)
        try:
            clicks.decode(header + body)
        except CodecError:
            pass  # typed error; a lucky valid decode is fine too, any other exception fails the test


def test_unknown_fingerprint_and_wrong_message_type(clicks: AvroCodec) -> None:
    body = clicks.encode(CLICK)[HEADER_SIZE:]
    with pytest.raises(UnknownSchemaFingerprint, match="no schema with fingerprint"):
        clicks.decode(b"\xc3\x01" + b"\xee" * 8 + body)
    update = AvroCodec("feature_update").encode({"user_id": 1, "version": 2, "event_time": 3})
    with pytest.raises(UnknownSchemaFingerprint, match="got a feature_update message"):
        clicks.decode(update)


def test_missing_and_invalid_fields_on_encode(clicks: AvroCodec) -> None:
    with pytest.raises(MissingFieldError, match="item_id"):
        clicks.encode({k: v for k, v in CLICK.items() if k != "item_id"})
    with pytest.raises(InvalidFieldError):
        clicks.encode({**CLICK, "behavior": "LIKE"})
    with pytest.raises(InvalidFieldError):
        clicks.encode({**CLICK, "user_id": "forty-two"})


def test_non_bytes_input_is_a_decode_error(clicks: AvroCodec) -> None:
    with pytest.raises(DecodeError, match="expected bytes"):
        clicks.decode("a string")  # type: ignore[arg-type]
