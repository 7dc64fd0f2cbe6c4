"""A hostile click stream built from a real history, with what the job must make of it known from the input alone.

On top of the history's own order: local disorder within the bound, exact duplicates, very late events (fresh ids
dated an hour behind their user), one click dated ten years ahead, one valid click under another user's key, and
corrupt records of every kind. Each corrupt record that carries an event time carries one from after the whole
history: a job that let a rejected record's time count anywhere (a watermark) would turn the valid clicks after it
late. Ground truth is the reference (`BehaviorState`) over the records that decode under their own key, in produce
order; it also names the late and future ones, so the dead letters expected are known without running the job.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import AvroCodec
from streaming.state.user_state import BehaviorState

BEHAVIORS = ("PV", "CART", "FAV", "BUY")
HOUR_MS = 3_600_000


def _long(value: int) -> bytes:
    raw, out = (value << 1) ^ (value >> 63), bytearray()
    while raw > 0x7F:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    return bytes([*out, raw])


def _string(value: bytes) -> bytes:
    return _long(len(value)) + value


@dataclass
class Stream:
    """Kafka records (key, value) in produce order, and what the job must do with each."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    valid: list[dict[str, Any]] = field(default_factory=list)
    """The records that decode under their own key, as events, in order: the reference's input."""
    rejected: list[tuple[str, bytes]] = field(default_factory=list)
    """(error type, payload) of the records rejected before any state: corrupt ones and the key mismatch."""

    def add(self, event: Mapping[str, Any], codec: AvroCodec) -> None:
        self.records.append((str(event["user_id"]).encode(), codec.encode(event)))
        self.valid.append(dict(event))

    def reject(self, error_type: str, payload: bytes, key: bytes) -> None:
        self.records.append((key, payload))
        self.rejected.append((error_type, payload))

    def expected_letters(self, reference: BehaviorState, codec: AvroCodec, now_ms: int | None = None) -> Counter:
        """(error type, payload) of every dead letter, from the reference run over `valid` (which it applies)."""
        outcome, _ = reference.apply(self.valid, now_ms)
        letters = Counter(self.rejected)
        letters.update(("Late", codec.encode(e)) for e in outcome.late)
        letters.update(("FutureEvent", codec.encode(e)) for e in outcome.future)
        return letters


def _corrupt_kinds(codec: AvroCodec) -> list[tuple[str, Callable[[dict[str, Any]], bytes]]]:
    """Each kind of bad record: (the error type the job must give, payload from an event dated after the history)."""
    header = codec.encode({"event_id": "x", "user_id": 1, "item_id": 1, "category_id": 1, "behavior": "PV",
                           "event_time": 1})[:10]  # fmt: skip

    def body(e: dict[str, Any], event_id: bytes | None = None, behavior: int | None = None,
             time: int | None = None) -> bytes:  # fmt: skip
        return (header + _string(event_id if event_id is not None else e["event_id"].encode())
                + _long(e["user_id"]) + _long(e["item_id"]) + _long(e["category_id"])
                + _long(BEHAVIORS.index(e["behavior"]) if behavior is None else behavior)
                + _long(e["event_time"] if time is None else time) + b"\x00\x00")  # fmt: skip

    other = AvroCodec("feature_update")
    return [
        ("DecodeError", lambda e: b"\x00not avro " + e["event_id"].encode()),
        ("DecodeError", lambda e: codec.encode(e)[:-2]),  # cut right after event_time: the time still reads
        ("DecodeError", lambda e: codec.encode(e) + b"\x00"),  # trailing bytes
        ("DecodeError", lambda e: body(e, behavior=7)),
        ("DecodeError", lambda e: body(e, event_id=b"\xff\xfe bad utf-8")),
        ("UnknownSchemaFingerprint", lambda e: codec.encode(e)[:2] + b"\xee" * 8 + codec.encode(e)[10:]),
        ("UnknownSchemaFingerprint", lambda e: other.encode({"user_id": e["user_id"], "version": e["event_time"],
                                                             "event_time": e["event_time"]})),  # fmt: skip
        ("InvalidField", lambda e: body(e, event_id=b"")),
        ("InvalidField", lambda e: body(e, time=-e["event_time"])),
    ]


def build(history: Sequence[Mapping[str, Any]], seed: int = 7, corrupt: int = 300, late: int = 100,
          duplicates: int = 200) -> Stream:  # fmt: skip
    """The hostile stream over `history` (events in the order a producer would send them)."""
    rng, codec = random.Random(seed), AvroCodec("click_event")
    events = [dict(e) for e in history]
    for i in range(0, len(events) - 1, 7):  # local disorder: neighbours swapped, well within the 5 s bound in effect
        if abs(events[i]["event_time"] - events[i + 1]["event_time"]) < 2_000:
            events[i], events[i + 1] = events[i + 1], events[i]
    end = max(e["event_time"] for e in events)
    newest: dict[int, int] = {}
    kinds = _corrupt_kinds(codec)
    slots = {"corrupt": set(rng.sample(range(len(events)), corrupt)),
             "late": set(rng.sample(range(len(events)), late)),
             "duplicate": set(rng.sample(range(len(events)), duplicates))}  # fmt: skip
    stream, recent = Stream(), []
    for i, event in enumerate(events):
        stream.add(event, codec)
        recent.append(event)
        newest[event["user_id"]] = max(newest.get(event["user_id"], 0), event["event_time"])
        if i in slots["duplicate"]:
            stream.add(rng.choice(recent[-20:]), codec)
        if i in slots["late"]:
            stream.add({**event, "event_id": f"late-{i}", "event_time": newest[event["user_id"]] - HOUR_MS}, codec)
        if i in slots["corrupt"]:
            error_type, make = kinds[i % len(kinds)]
            future = {**event, "event_id": f"bad-{i}", "event_time": end + HOUR_MS + i}
            stream.reject(error_type, make(future), str(event["user_id"]).encode())
        if i == len(events) // 3:
            ahead = int(time.time() * 1000) + 10 * 365 * 24 * HOUR_MS  # ahead of the job's clock, whatever the year
            stream.add({**event, "event_id": "ten-years-ahead", "event_time": ahead}, codec)
        if i == len(events) // 2:
            mismatch = {**event, "event_id": "wrong-key", "event_time": end + HOUR_MS}
            stream.reject("KeyMismatch", codec.encode(mismatch), str(event["user_id"] + 1).encode())
    return stream
