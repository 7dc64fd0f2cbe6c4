"""The results table of a training run, in the layout of TIGER's Table 1 (docs/model.md reproduces it)."""

from __future__ import annotations

from typing import Any

from sources.datasets import AMAZON_PREFIX

COLUMNS = ("recall@5", "ndcg@5", "recall@10", "ndcg@10")
TIGER = {
    "beauty": {"recall@5": 0.0454, "ndcg@5": 0.0321, "recall@10": 0.0648, "ndcg@10": 0.0384},
    f"{AMAZON_PREFIX}Sports_and_Outdoors": {"recall@5": 0.0264, "ndcg@5": 0.0181, "recall@10": 0.0400, "ndcg@10": 0.0225},
    f"{AMAZON_PREFIX}Toys_and_Games": {"recall@5": 0.0521, "ndcg@5": 0.0371, "recall@10": 0.0712, "ndcg@10": 0.0432},
}
"""TIGER's Table 1 (Rajput et al., NeurIPS 2023) by dataset name: the same S3-Rec files and protocol."""


def results_table(metrics: dict[str, Any], split: str = "test") -> str:
    rows = ["| model | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, value in metrics.items():
        if isinstance(value, dict) and split in value:
            rows.append(f"| {name} | " + " | ".join(f"{value[split][c]:.4f}" for c in COLUMNS) + " |")
    dataset = metrics.get("dataset", {}).get("name")
    if dataset in TIGER:
        label = dataset.removeprefix(AMAZON_PREFIX).split("_")[0].capitalize()
        rows.append(f"| TIGER (paper, {label}) | " + " | ".join(f"{TIGER[dataset][c]:.4f}" for c in COLUMNS) + " |")
    return "\n".join(rows)
