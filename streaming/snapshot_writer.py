"""Writes the behavior job's snapshots to the feature store, in batches: Redis (Feast layout), parquet, feature-updates.

At-least-once without loss: Kafka offsets are committed only after a batch is in Redis and its feature-updates are
acknowledged; a crash replays the batch, and the versioned writer makes the replay a no-op (same versions).
A snapshot that does not parse or validate would fail its batch on every retry; when a batch fails so, it is parsed
again one snapshot at a time, the bad ones go whole to the writer's dead-letter topic with the reason, and the rest
are written: one bad record never blocks the others.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
from confluent_kafka import Consumer, Producer

from feature_store.offline import parquet_log
from feature_store.online.validation import FeatureValidationError, online_schema, validate
from feature_store.online.writer import OnlineWriter
from feature_store.views import SID_LEVELS, USER_REALTIME
from schemas.codec import AvroCodec
from schemas.columnar import encode_batch
from schemas.ragged import decimal_ascii
from schemas.registry import default_registry
from schemas.topics import DEFAULT_TOPICS
from streaming.replay import produce_all
from streaming.state.representation import SemanticIds

POLL_S = 0.02
"""How long a poll waits to fill a batch: it returns at `batch_size` messages or after this, so it bounds the
latency a quiet period adds (a click waits at most this before its snapshot is written)."""


@dataclass
class WriterStats:
    snapshots: int = 0
    applied: int = 0
    batches: int = 0
    dead_letters: int = 0


class SnapshotWriter:
    def __init__(
        self,
        bootstrap: str,
        writer: OnlineWriter,
        offline_dir: Path | None,
        snapshot_topic: str = DEFAULT_TOPICS.snapshots,
        updates_topic: str = DEFAULT_TOPICS.feature_updates,
        group: str = "freshrec-snapshot-writer",
        dead_letter_topic: str = DEFAULT_TOPICS.snapshot_dead_letter,
        batch_size: int = 5_000,
        on_written: Callable[[pa.Table, int], None] | None = None,
        semantic_ids: SemanticIds | None = None,
    ) -> None:
        """`on_written(table, ms)`: called after each stored batch with its coalesced rows (the online table) and the
        time it was stored (benchmarks, metrics). `semantic_ids`: the model's table, to fill `sid_codes`."""
        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
             "auto.offset.reset": "earliest"}
        )  # fmt: skip
        self.consumer.subscribe([snapshot_topic])
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        self.writer = writer
        self.offline_dir = offline_dir
        self.updates_topic = updates_topic
        self.snapshot_topic, self.dead_letter_topic = snapshot_topic, dead_letter_topic
        self.dead_letters = AvroCodec("dead_letter")
        self.batch_size = batch_size
        self.update_schema = default_registry().latest("feature_update")
        self.on_written = on_written
        self.semantic_ids = semantic_ids

    def run(self, idle_stop_s: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> WriterStats:
        """Write batches until `should_stop()`, or until no snapshot arrived for `idle_stop_s` seconds."""
        stats = WriterStats()
        idle_since = time.monotonic()
        try:
            while not should_stop():
                messages = [m for m in self.consumer.consume(self.batch_size, timeout=POLL_S) if m.error() is None]
                if not messages:
                    if idle_stop_s is not None and time.monotonic() - idle_since > idle_stop_s:
                        break
                    continue
                idle_since = time.monotonic()
                self._write(messages, stats)
        finally:
            self.consumer.close()
        return stats

    def _write(self, messages: list, stats: WriterStats) -> None:
        messages = [m for m in messages if m.value() is not None]
        letters = 0
        try:
            table = snapshots_table([m.value() for m in messages], self.semantic_ids)
            result = self.writer.write_table(table)  # validates before it sends anything
        except (pa.ArrowException, FeatureValidationError):
            table, letters = self._set_aside_bad(messages)
            result = self.writer.write_table(table)
        if table.num_rows:
            updates = table.select(["user_id", "version", "event_time"])
            produce_all(self.producer, self.updates_topic, encode_batch(self.update_schema, updates).rows(),
                        decimal_ascii(table["user_id"].to_numpy()).rows())  # fmt: skip
        if (table.num_rows or letters) and self.producer.flush(30):
            raise RuntimeError("feature-updates or dead letters not acknowledged; offsets not committed, the batch "
                               "will replay")  # fmt: skip
        if table.num_rows:
            if self.offline_dir is not None:
                parquet_log.append_snapshots(self.offline_dir, USER_REALTIME, table)
            stats.snapshots += table.num_rows
            stats.applied += result.applied
            if self.on_written:
                self.on_written(table, int(time.time() * 1000))
        self.consumer.commit(asynchronous=False)
        stats.batches += 1
        stats.dead_letters += letters

    def _set_aside_bad(self, messages: list) -> tuple[pa.Table, int]:
        """The batch's valid snapshots as one table, and how many bad ones went to the dead-letter topic (whole,
        with the reason); the writer's producer sends them with the batch's feature-updates."""
        good, letters = [], 0
        for message in messages:
            try:
                validate(USER_REALTIME, snapshots_table([message.value()]))
                good.append(message.value())
            except (pa.ArrowException, FeatureValidationError) as exc:
                kind = "InvalidField" if isinstance(exc, FeatureValidationError) else "DecodeError"
                letter = {"source_topic": self.snapshot_topic, "partition": message.partition(),
                          "offset": message.offset(), "key": message.key(), "payload": message.value(),
                          "error_type": kind, "reason": f"{kind}: {exc}", "failed_at": int(time.time() * 1000)}  # fmt: skip
                self.producer.produce(self.dead_letter_topic, self.dead_letters.encode(letter), message.key())
                letters += 1
        return snapshots_table(good, self.semantic_ids), letters


def snapshots_table(values: list[bytes], semantic_ids: SemanticIds | None = None) -> pa.Table:
    """The job's JSON snapshots parsed in Arrow (C++, no Python object per value), coalesced to each user's newest,
    as the view's online table (`validation.online_schema`); `sid_codes` from `semantic_ids` (empty without)."""
    if not values:
        return ONLINE_SCHEMA.empty_table()
    parsed = pa_json.read_json(io.BytesIO(b"\n".join(values)), parse_options=_PARSE)
    state = parsed["s"].combine_chunks()
    users = parsed["user_id"].to_numpy()
    versions = state.field("version").to_numpy(zero_copy_only=False)
    order = np.lexsort((versions, users))  # by user, then version: the last of each user is its newest
    last = order[np.append(users[order][1:] != users[order][:-1], True)]
    columns = {"user_id": pa.array(users[last]), "event_time": state.field("event_time").take(last)}
    for name in ONLINE_SCHEMA.names:
        if name == "sid_codes":
            columns[name] = _sid_codes(state.field("item_ids").take(last), semantic_ids)
        elif name not in columns:
            columns[name] = state.field(name).take(last)
    return pa.table(columns, schema=ONLINE_SCHEMA)


def _sid_codes(item_ids: pa.ListArray, semantic_ids: SemanticIds | None) -> pa.Array:
    """Per row, the SID_LEVELS codes of each of its items, concatenated: one lookup for the whole batch."""
    if semantic_ids is None:
        return pa.array([b""] * len(item_ids), pa.binary())
    codes = semantic_ids.lookup(item_ids.flatten().to_numpy())
    offsets = (item_ids.offsets.to_numpy() - item_ids.offsets[0].as_py()) * SID_LEVELS
    return pa.BinaryArray.from_buffers(pa.binary(), len(item_ids), [None, pa.py_buffer(offsets.astype(np.int32)),
                                                                     pa.py_buffer(codes.tobytes())])  # fmt: skip


ONLINE_SCHEMA = online_schema(USER_REALTIME)
_STATE = pa.struct([f for f in ONLINE_SCHEMA if f.name not in ("user_id", "sid_codes")])
_PARSE = pa_json.ParseOptions(explicit_schema=pa.schema([pa.field("user_id", pa.int64()), pa.field("s", _STATE)]),
                              unexpected_field_behavior="ignore")  # fmt: skip
