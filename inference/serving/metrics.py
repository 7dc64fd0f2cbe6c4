"""Prometheus metrics of the API and the refresher, exposed at /metrics: this process's, or, when the API runs as
several worker processes, every worker's summed (prometheus_client's multiprocess mode, one directory per start)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


class ServingMetrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        """`multiprocess_dir`: where the workers' values are shared (PROMETHEUS_MULTIPROC_DIR, set before they
        start, so prometheus_client stores values there); None: this process is the only one, and its values stay
        in memory. Chosen here, not by the environment: importing Feast sets PROMETHEUS_MULTIPROC_DIR to a directory
        of its own, which would otherwise put a lone process's metrics in mmap files (~2x the cost per update) and
        make every scrape read them back. Process-wide on purpose: labelled series are made on first use."""
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir is None:
            values.ValueClass = values.MutexValue
        self.registry = r = CollectorRegistry()
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
        self.unknown_items = Counter("freshrec_unknown_items_total",
                                     "history and exclusion item ids not in the model's item table (ignored)", registry=r)  # fmt: skip

    def exposition(self) -> bytes:
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, self.multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self.registry)
