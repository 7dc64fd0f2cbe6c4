"""Writes the behavior job's snapshots to the feature store, in batches: Redis (Feast layout), parquet, feature-updates.

At-least-once without loss: Kafka offsets are committed only after a batch is in Redis and its feature-updates are
acknowledged; a crash replays the batch, and the versioned writer makes the replay a no-op (same versions).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer

from feature_store.offline import parquet_log
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from schemas.codec import AvroCodec

POLL_S = 0.02
"""How long a poll waits to fill a batch: it returns at `batch_size` messages or after this, so it bounds the
latency a quiet period adds (a click waits at most this before its snapshot is written)."""


@dataclass
class WriterStats:
    snapshots: int = 0
    applied: int = 0
    batches: int = 0
    freshness_ms: list[int] = field(default_factory=list)
    """Per batch: write completion time minus the newest event time in it (meaningful for live traffic)."""


class SnapshotWriter:
    def __init__(
        self,
        bootstrap: str,
        writer: OnlineWriter,
        offline_dir: Path | None,
        snapshot_topic: str = "user-snapshots",
        updates_topic: str = "feature-updates",
        group: str = "freshrec-snapshot-writer",
        batch_size: int = 5_000,
    ) -> None:
        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
             "auto.offset.reset": "earliest"}
        )  # fmt: skip
        self.consumer.subscribe([snapshot_topic])
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
        self.writer = writer
        self.offline_dir = offline_dir
        self.updates_topic = updates_topic
        self.batch_size = batch_size
        self.updates = AvroCodec("feature_update")

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
        latest: dict[int, dict] = {}
        for message in messages:  # coalesce again: only a user's newest snapshot in this batch matters
            if message.value() is None:
                continue
            record = json.loads(message.value())
            snapshot = _row(record)
            previous = latest.get(snapshot["user_id"])
            if previous is None or previous["version"] <= snapshot["version"]:
                latest[snapshot["user_id"]] = snapshot
        if latest:
            table = rows_to_table(USER_REALTIME, list(latest.values()))
            result = self.writer.write_table(table)
            for row in latest.values():
                update = {"user_id": row["user_id"], "version": row["version"], "event_time": row["event_time"]}
                self.producer.produce(self.updates_topic, self.updates.encode(update), str(row["user_id"]).encode())
            if self.producer.flush(30):
                raise RuntimeError("feature-updates not acknowledged; offsets not committed, the batch will replay")
            if self.offline_dir is not None:
                parquet_log.append_snapshots(self.offline_dir, USER_REALTIME, table)
            stats.snapshots += table.num_rows
            stats.applied += result.applied
            stats.freshness_ms.append(int(time.time() * 1000) - max(r["event_time"] for r in latest.values()))
        self.consumer.commit(asynchronous=False)
        stats.batches += 1


def _row(record: dict) -> dict:
    state = record["s"]
    return {
        "user_id": record["user_id"],
        "event_time": state["event_time"],
        "version": state["version"],
        **{name: state[name] for name in ("item_ids", "category_ids", "behaviors", "event_times", "count_pv",
                                          "count_cart", "count_fav", "count_buy", "interest", "top_categories",
                                          "summary")},  # fmt: skip
        "sid_codes": b"",  # semantic ids join once the model's item table is loaded (model issue)
    }
