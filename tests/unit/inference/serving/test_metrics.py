"""A lone API process keeps its metrics in memory even though importing Feast switches prometheus_client to its
multiprocess mode (several workers sharing a directory: tests/integration/inference/serving/test_workers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import feast.metrics  # noqa: F401  (what the serving process imports through the feature store)

from inference.serving.metrics import ServingMetrics


def test_a_single_process_keeps_its_metrics_in_memory() -> None:
    feast_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])  # set by importing Feast
    before = {p.name: p.stat().st_size for p in feast_dir.iterdir()}
    metrics = ServingMetrics()
    metrics.results.labels("cached").inc(3)
    metrics.latency.labels("cached").observe(0.004)
    text = metrics.exposition().decode()
    assert 'freshrec_results_total{path="cached"} 3.0' in text
    assert 'freshrec_request_seconds_bucket{le="0.005",path="cached"} 1.0' in text
    assert "feast" not in text  # only this registry, not Feast's files
    assert {p.name: p.stat().st_size for p in feast_dir.iterdir()} == before

