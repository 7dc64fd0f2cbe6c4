"""Prometheus metrics of the snapshot writer: its running counts (read from `WriterStats` at each scrape, so they are
kept once) and the time and lag of each batch. Served by `freshrec stream run|write --metrics-port`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from streaming.snapshot_writer import WriterStats

SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
COUNTS = {
    "snapshots": "snapshots stored (each user's newest of a batch)",
    "applied": "snapshots that changed Redis (the rest were older than what it held)",
    "batches": "batches stored and committed",
    "dead_letters": "snapshots sent to the writer's dead-letter topic",
    "store_retries": "failed attempts to write a batch to Redis (retried with backoff)",
    "rebuilds": "refills of a store that had lost its data, from the offline log",
}


class WriterMetrics(Collector):
    def __init__(self, stats: WriterStats) -> None:
        assert set(COUNTS) == {f.name for f in fields(WriterStats)}, "a WriterStats field without its metric"
        self.stats = stats
        self.registry = registry = CollectorRegistry()
        registry.register(self)
        self.batch_seconds = Histogram("freshrec_writer_batch_seconds", "a batch's four steps, Redis to commit",
                                       buckets=SECONDS, registry=registry)  # fmt: skip
        self.lag = Histogram("freshrec_writer_lag_seconds", "stored - event time of each batch's oldest snapshot",
                             buckets=SECONDS, registry=registry)  # fmt: skip

    def observe(self, table: pa.Table, stored_ms: int, seconds: float) -> None:
        """The writer's `on_written`."""
        self.batch_seconds.observe(seconds)
        self.lag.observe((stored_ms - pc.min(table["event_time"]).as_py()) / 1000)

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, doc in COUNTS.items():
            yield CounterMetricFamily(f"freshrec_writer_{name}", doc, value=getattr(self.stats, name))
