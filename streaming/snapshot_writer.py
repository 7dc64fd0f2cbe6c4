"""Writes the behavior job's snapshots to the feature store, in batches: Redis (Feast layout), parquet, feature-updates.

Each batch takes four steps: (1) stored in Redis, (2) feature-updates (and dead letters) acknowledged, (3) appended
to parquet (gathered with the batches around it into one part: `streaming.snapshot_parts`), (4) its own Kafka offsets
committed, after the other three (once its part is written). A crash between any two replays the batch, and each
step is idempotent: the versioned writer makes the Redis rewrite a no-op, a feature-update says "version v is
stored" (saying it twice changes nothing), and the parquet step skips the records whose snapshots a part already
holds (offsets kept in the parts' footers). Batches are pipelined one deep, so that the Redis server and this process
work at once rather than in turn: batch N is sent to Redis and, while the server applies it, appended to parquet and
followed by the consumption and parsing of N+1; then N's reply is read, its updates acknowledged and its offsets
committed, and N+1 is sent.
Outages are waited out, never crash the writer: the batch in hand is retried against Redis with backoff, and the
producer never expires a message. A store found empty (its marker gone) is refilled from the offline log first.
A snapshot that does not decode or validate would fail its batch on every retry; when a batch fails so, it is decoded
again one snapshot at a time, the bad ones go whole to the writer's dead-letter topic with the reason, and the rest
are written: one bad record never blocks the others. Every few seconds, and once more when it stops, the writer
also compacts, in a process of its own, the event-log parts the job has committed (`feature_store.offline.event_log`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import redis
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from feature_store.offline import event_log
from feature_store.online.validation import FeatureValidationError, online_schema, validate
from feature_store.online.writer import OnlineWriter, PendingWrite, WriteResult
from feature_store.rebuild import StoreGuard
from feature_store.views import SID_LEVELS, USER_REALTIME
from schemas.codec import AvroCodec, CodecError
from schemas.columnar import encode_batch
from schemas.columnar_decode import decode_batch
from schemas.kafka_client import Connection, client_config
from schemas.ragged import decimal_ascii
from schemas.registry import default_registry
from schemas.topics import DEFAULT_TOPICS
from streaming.replay import produce_all
from streaming.snapshot_parts import PART_ROWS, SnapshotParts
from streaming.state.representation import SemanticIds

log = logging.getLogger(__name__)

POLL_S = 0.02
"""How long a poll waits to fill a batch: it returns at `batch_size` messages or after this, so it bounds the
latency a quiet period adds (a click waits at most this before its snapshot is written)."""
STORE_DOWN = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, redis.exceptions.OutOfMemoryError,
              redis.exceptions.ReadOnlyError, redis.exceptions.TryAgainError)
"""Errors that pass: down, restarting, loading, full (until keys expire or the cap is raised), a replica not yet
promoted. The batch in hand waits for them; any other error is a bug and ends the writer."""
MAX_BACKOFF_S = 5.0


class WriterStopped(Exception):
    """A stop was asked for while a batch waited on Redis or Kafka: its offsets stay uncommitted, it replays."""


@dataclass
class WriterStats:
    snapshots: int = 0
    applied: int = 0
    batches: int = 0
    dead_letters: int = 0
    store_retries: int = 0
    rebuilds: int = 0


@dataclass
class _Batch:
    table: pa.Table
    good: list[Message]
    """the messages the table was made from (the dead-lettered ones left out)"""
    last: dict[int, int]
    """per partition, the batch's last offset"""
    letters: int
    started: float
    sent: PendingWrite | None = None


class SnapshotWriter:
    def __init__(
        self,
        kafka: Connection,
        writer: OnlineWriter,
        offline_dir: Path | None,
        snapshot_topic: str = DEFAULT_TOPICS.snapshots,
        updates_topic: str = DEFAULT_TOPICS.feature_updates,
        group: str = "freshrec-snapshot-writer",
        dead_letter_topic: str = DEFAULT_TOPICS.snapshot_dead_letter,
        batch_size: int = 5_000,
        on_written: Callable[[pa.Table, int, float], None] | None = None,
        semantic_ids: SemanticIds | None = None,
        guard: StoreGuard | None = None,
        instance_id: str | None = None,
        part_rows: int = PART_ROWS,
    ) -> None:
        """`on_written(table, ms, seconds)`: called after each stored batch with its coalesced rows (the online
        table), the time it was stored and how long its steps took (benchmarks, metrics). `semantic_ids`: the model's
        table, to fill `sid_codes`. `guard`: refills a store that lost its data from the offline log before the next
        write. `instance_id`: Kafka static
        group membership, so a writer restarted after a crash takes its partitions back at once instead of after the
        dead member's session timeout. `part_rows`: the rows gathered into one part of the offline log."""
        static = {"group.instance.id": instance_id} if instance_id else {}
        self.consumer = Consumer(client_config(kafka, {"group.id": group, "enable.auto.commit": False,
                                                       "auto.offset.reset": "earliest", **static}))  # fmt: skip
        self.parts = SnapshotParts(offline_dir, USER_REALTIME, snapshot_topic, part_rows) if offline_dir else None
        self._confirmed: dict[int, int] = {}
        """per partition, the last offset of the batches stored and acknowledged"""
        self._committed: dict[int, int] = {}
        self.consumer.subscribe([snapshot_topic], on_assign=lambda *_: self._forget_appended(),
                                on_revoke=lambda *_: self._write_parts(),
                                on_lost=lambda *_: self._forget_appended())  # fmt: skip
        self._failures: list[str] = []
        self.producer = Producer(client_config(kafka, {
            "enable.idempotence": True, "linger.ms": 5,
            "message.timeout.ms": 0,  # never expire: a broker outage is waited out
            "on_delivery": lambda err, _msg: err and self._failures.append(str(err))}))  # fmt: skip
        self.writer = writer
        self.offline_dir = offline_dir
        self.updates_topic = updates_topic
        self.snapshot_topic, self.dead_letter_topic = snapshot_topic, dead_letter_topic
        self.dead_letters = AvroCodec("dead_letter")
        self.batch_size = batch_size
        self.update_schema = default_registry().latest("feature_update")
        self.on_written = on_written
        self.semantic_ids = semantic_ids
        self.guard = guard
        self._should_stop: Callable[[], bool] = lambda: False

    def run(self, idle_stop_s: float | None = None, should_stop: Callable[[], bool] = lambda: False,
            stats: WriterStats | None = None) -> WriterStats:  # fmt: skip
        """Write batches until `should_stop()`, or until no snapshot arrived for `idle_stop_s` seconds. `stats`: the
        counts to add to (what `WriterMetrics` reads); new ones by default."""
        stats = stats if stats is not None else WriterStats()
        self._should_stop = should_stop
        idle_since = time.monotonic()
        # off the write loop: a minute's part takes a while to convert
        compaction = event_log.Compaction(self.offline_dir) if self.offline_dir is not None else None
        pending: _Batch | None = None
        try:
            while not should_stop():
                # while Redis applies the pending batch: its reply is read after this poll and parse
                messages = self.consumer.consume(self.batch_size, timeout=POLL_S)
                batch = self._prepare(messages) if messages else None
                if pending is not None:
                    self._finish(pending, stats)
                    pending = None
                if batch is None:
                    if self.parts is not None:
                        self.parts.flush_if_due()
                        self._commit()
                    if idle_stop_s is not None and time.monotonic() - idle_since > idle_stop_s:
                        break
                    continue
                idle_since = time.monotonic()
                pending = self._start(batch, stats)
            if pending is not None:
                self._finish(pending, stats)
            self._write_parts()
        except WriterStopped as stopped:
            log.warning("stopped with a batch in hand (%s): it replays on the next start", stopped)
            self._write_parts()
        finally:
            self.consumer.close()
            if compaction is not None:
                compaction.stop()
        return stats

    def _prepare(self, messages: list[Message]) -> _Batch | None:
        """The polled messages as a batch: parsed, validated, bad ones set aside; None when there is nothing to do."""
        started = time.perf_counter()
        messages = [m for m in messages if m.error() is None]
        if not messages:
            return None
        last: dict[int, int] = {}
        for message in messages:
            last[message.partition()] = max(last.get(message.partition(), -1), message.offset())
        table, good, letters = self._parse([m for m in messages if m.value() is not None])
        return _Batch(table, good, last, letters, started)

    def _start(self, batch: _Batch, stats: WriterStats) -> _Batch:
        """Steps 1 and 3 at once: the batch sent to Redis (not waited for), then appended to parquet."""
        try:
            self._refill_if_empty(stats)
            batch.sent = self.writer.send_table(batch.table)
        except STORE_DOWN as exc:
            log.warning("feature store unavailable (%s); the batch is retried", exc)
        self._append_offline(batch)
        return batch

    def _finish(self, batch: _Batch, stats: WriterStats) -> None:
        """Step 1's reply (the batch retried until stored), then steps 2 and 4."""
        result = self._store(batch, stats)
        self._send_updates(batch.table)
        for partition, offset in batch.last.items():
            self._confirmed[partition] = max(self._confirmed.get(partition, -1), offset)
        self._commit()
        if batch.table.num_rows:
            stats.snapshots += batch.table.num_rows
            stats.applied += result.applied
            if self.on_written:
                self.on_written(batch.table, int(time.time() * 1000), time.perf_counter() - batch.started)
        stats.batches += 1
        stats.dead_letters += batch.letters

    def _parse(self, messages: list[Message]) -> tuple[pa.Table, list[Message], int]:
        """The batch as one online table, the messages it was made from, and how many bad ones were dead-lettered."""
        try:
            table = snapshots_table([m.value() for m in messages], self.semantic_ids)
            validate(USER_REALTIME, table)
            return table, messages, 0
        except (CodecError, FeatureValidationError):
            return self._set_aside_bad(messages)

    def _store(self, batch: _Batch, stats: WriterStats) -> WriteResult:
        """Step 1: the sent batch's reply; if it was not sent or its reply did not come, the batch again, waiting out
        the outage (backing off)."""
        backoff = 0.1
        while True:
            try:
                if batch.sent is not None:
                    sent, batch.sent = batch.sent, None
                    return sent.result()
                self._refill_if_empty(stats)
                return self.writer.write_table(batch.table)
            except STORE_DOWN as exc:
                if self._should_stop():
                    raise WriterStopped(f"feature store unavailable: {exc}") from exc
                stats.store_retries += 1
                log.warning("feature store unavailable (%s); retrying in %.1f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(2 * backoff, MAX_BACKOFF_S)

    def _refill_if_empty(self, stats: WriterStats) -> None:
        if self.guard is not None and not self.guard.filled():
            if self.parts is not None:  # the refill reads the offline log: it must hold every batch stored before
                self.parts.flush()
            refilled = self.guard.refill()
            stats.rebuilds += 1
            rows = sum(r.applied for r in refilled.values())
            log.warning("the feature store had no fill marker (a first start, or a store that lost its data): "
                        "refilled from the offline log, %d rows written", rows)

    def _send_updates(self, table: pa.Table) -> None:
        """Step 2: one feature-update per stored row, acknowledged together with the batch's dead letters."""
        if table.num_rows:
            updates = table.select(["user_id", "version", "event_time"])
            produce_all(self.producer, self.updates_topic, encode_batch(self.update_schema, updates).rows(),
                        decimal_ascii(table["user_id"].to_numpy()).rows())  # fmt: skip
        while self.producer.flush(1.0):
            if self._should_stop():
                raise WriterStopped("feature-updates or dead letters not acknowledged")
        if self._failures:
            failures, self._failures = self._failures, []
            raise RuntimeError(f"{len(failures)} feature-updates or dead letters failed ({failures[0]}); offsets not "
                               "committed, the batch will replay")  # fmt: skip

    def _append_offline(self, batch: _Batch) -> None:
        """Step 3: the batch's snapshots added to the part being gathered, but none a written part holds (a replay)."""
        if self.parts is None:
            return
        appended = self.parts.appended()
        fresh = [m for m in batch.good if m.offset() > appended.get(m.partition(), -1)]
        table = batch.table
        if len(fresh) < len(batch.good):
            table = snapshots_table([m.value() for m in fresh], self.semantic_ids)
        self.parts.add(table, batch.last)

    def _write_parts(self) -> None:
        """The gathered part written now (a stop, partitions revoked), and the offsets it covers committed."""
        if self.parts is not None:
            self.parts.flush()
        self._commit()

    def _commit(self) -> None:
        """Step 4: the offsets of the batches stored, acknowledged and in a written part (the consumer has read past
        them). A failed commit (broker down) is left to a later one, which covers it; a crash before then replays
        the batches, which every step above absorbs."""
        covered = self.parts.covered() if self.parts is not None else self._confirmed
        done = {p: min(offset, covered.get(p, -1)) for p, offset in self._confirmed.items()}
        offsets = [TopicPartition(self.snapshot_topic, p, offset + 1) for p, offset in done.items()
                   if offset > self._committed.get(p, -1)]  # fmt: skip
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
            self._committed.update({tp.partition: tp.offset - 1 for tp in offsets})
        except KafkaException as exc:
            log.warning("offsets not committed (%s): a later commit covers them", exc)

    def _forget_appended(self) -> None:
        """Partitions moved (a rebalance): another writer may have appended or committed since."""
        if self.parts is not None:
            self.parts.forget()
        self._confirmed, self._committed = {}, {}

    def _set_aside_bad(self, messages: list[Message]) -> tuple[pa.Table, list[Message], int]:
        """The batch's valid snapshots as one table (and their messages), and how many bad ones went to the
        dead-letter topic (whole, with the reason); they are acknowledged with the batch's feature-updates."""
        good, letters = [], 0
        for message in messages:
            try:
                validate(USER_REALTIME, snapshots_table([message.value()]))
                good.append(message)
            except (CodecError, FeatureValidationError) as exc:
                kind = "InvalidField" if isinstance(exc, FeatureValidationError) else "DecodeError"
                letter = {"source_topic": self.snapshot_topic, "partition": message.partition(),
                          "offset": message.offset(), "key": message.key(), "payload": message.value(),
                          "error_type": kind, "reason": f"{kind}: {exc}", "failed_at": int(time.time() * 1000)}  # fmt: skip
                self.producer.produce(self.dead_letter_topic, self.dead_letters.encode(letter), message.key())
                letters += 1
        return snapshots_table([m.value() for m in good], self.semantic_ids), good, letters


def snapshots_table(values: list[bytes], semantic_ids: SemanticIds | None = None) -> pa.Table:
    """The job's snapshots decoded as one batch (no Python object per value), coalesced to each user's newest, as the
    view's online table (`validation.online_schema`); `sid_codes` from `semantic_ids` (empty without), with its
    table's version."""
    if not values:
        return ONLINE_SCHEMA.empty_table()
    state = decode_batch(SNAPSHOT, values)
    users = state["user_id"].to_numpy()
    versions = state["version"].to_numpy()
    order = np.lexsort((versions, users))  # by user, then version: the last of each user is its newest
    last = order[np.append(users[order][1:] != users[order][:-1], True)]
    columns = {"user_id": pa.array(users[last]), "event_time": state["event_time"].take(last)}
    for name in ONLINE_SCHEMA.names:
        if name == "sid_codes":
            columns[name] = _sid_codes(state["item_ids"].take(last).combine_chunks(), semantic_ids)
        elif name == "sid_version":
            columns[name] = pa.array([semantic_ids.version if semantic_ids else ""] * len(last), pa.string())
        elif name not in columns:
            columns[name] = state[name].take(last)
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
SNAPSHOT = default_registry().latest("user_snapshot")
"""The job's snapshot message (schemas/avro/user_snapshot.v*.avsc): the view's fields but the two the writer adds."""
