"""The results table of a training run, in the layout of TIGER's Table 1 (docs/model.md reproduces it)."""

from __future__ import annotations

from typing import Any

COLUMNS = ("recall@5", "ndcg@5", "recall@10", "ndcg@10")
TIGER_BEAUTY = {"recall@5": 0.0454, "ndcg@5": 0.0321, "recall@10": 0.0648, "ndcg@10": 0.0384}


def results_table(metrics: dict[str, Any], split: str = "test") -> str:
    rows = ["| model | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, value in metrics.items():
        if isinstance(value, dict) and split in value:
            rows.append(f"| {name} | " + " | ".join(f"{value[split][c]:.4f}" for c in COLUMNS) + " |")
    if metrics.get("dataset", {}).get("name") == "beauty":
        rows.append("| TIGER (paper, Beauty) | " + " | ".join(f"{TIGER_BEAUTY[c]:.4f}" for c in COLUMNS) + " |")
    return "\n".join(rows)
