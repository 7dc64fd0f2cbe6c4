"""Replay a click source into Kafka as Avro `ClickEvent`s keyed by user id, as fast as possible or at a fixed rate.

The hot loop does one `produce` per event and nothing else: encoding is columnar (a batch at a time) and delivery
reports come back only for failures, so the replay runs close to the bare producer's speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from confluent_kafka import KafkaException, Producer

from schemas.columnar import encode_batch
from schemas.ragged import decimal_ascii
from schemas.registry import default_registry
from sources.datasets import ClickSource

# Durable and duplicate-free on retries; batches big enough that the broker, not the request count, is the limit.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 1_000_000,
    "partitioner": "murmur2_random",  # the Java client's partitioner: same user, same partition from any producer
    "delivery.report.only.error": True,
}


class ReplayError(RuntimeError):
    """Some events were not acknowledged by the broker."""


@dataclass(frozen=True)
class ReplayStats:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def user_keys(batch: pa.Table) -> list[bytes]:
    """Kafka keys: the decimal user id as UTF-8 (readable, and Flink's `raw` key format takes it as is)."""
    return decimal_ascii(batch.column("user_id").to_numpy()).rows()


def replay(
    source: ClickSource,
    topic: str,
    producer_config: Mapping[str, Any],
    *,
    rate: float | None = None,
    limit: int | None = None,
    batch_size: int = 50_000,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    """Send `source` (at most `limit` events) to `topic`; returns once every event is acknowledged."""
    failures: list[str] = []
    config = {**PRODUCER_DEFAULTS, **producer_config, "on_delivery": lambda err, _msg: err and failures.append(str(err))}
    producer = Producer(config)
    schema = default_registry().latest("click_event")
    total = min(source.num_events, limit) if limit is not None else source.num_events
    sent = 0
    started = time.perf_counter()
    for batch in source.batches(min(batch_size, max(1, int(rate // 100))) if rate else batch_size):  # ~10 ms pacing
        batch = batch.slice(0, total - sent)
        if batch.num_rows == 0:
            break
        values = encode_batch(schema, batch).rows()
        produce_all(producer, topic, values, user_keys(batch))
        sent += batch.num_rows
        if on_progress:
            on_progress(batch.num_rows)
        if rate:
            ahead = sent / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
    remaining = producer.flush(60)
    elapsed = time.perf_counter() - started
    if remaining or failures:
        raise ReplayError(f"{remaining} events undelivered, {len(failures)} failed: {failures[:3]}")
    return ReplayStats(sent, elapsed)


def produce_all(producer: Producer, topic: str, values: list[bytes], keys: list[bytes]) -> None:
    """One `produce` per message, waiting only when librdkafka's local queue is full."""
    produce = producer.produce
    for value, key in zip(values, keys):
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:  # local queue full: let librdkafka drain it
                producer.poll(0.05)
            except KafkaException as exc:
                raise ReplayError(str(exc)) from exc
    producer.poll(0)
