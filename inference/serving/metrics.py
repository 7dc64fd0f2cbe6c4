"""Prometheus metrics of the API and the refresher, exposed at /metrics: one registry per process, or, when the API
runs as several worker processes (PROMETHEUS_MULTIPROC_DIR set before the workers start), every worker's summed."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class ServingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.latency = Histogram("freshrec_request_seconds", "POST /recommend latency", ["path"],
                                 buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.results = Counter("freshrec_results_total", "recommendations served, by how they were made",
                               ["path"], registry=r)  # fmt: skip
        self.errors = Counter("freshrec_request_errors_total", "requests answered with an error", ["status"], registry=r)
        self.feature_age = Histogram("freshrec_feature_age_seconds", "now - event time of the user's features",
                                     buckets=(0.1, 0.5, 1, 5, 60, 600, 3600, 86400, 7 * 86400), registry=r)  # fmt: skip
        self.batch_size = Histogram("freshrec_batch_size", "requests per micro-batch", ["stage"],
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)  # fmt: skip
        self.queue_depth = Gauge("freshrec_compute_queue_depth", "requests waiting for the model", registry=r,
                                 multiprocess_mode="livesum")  # fmt: skip
        self.refresh_lag = Histogram("freshrec_refresh_lag_seconds", "event time -> refreshed result cached",
                                     buckets=LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.refreshed = Counter("freshrec_refreshed_total", "results recomputed by the refresher", registry=r)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
