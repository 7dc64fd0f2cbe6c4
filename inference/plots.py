"""Training curves as a PNG: loss and validation NDCG@10 per epoch, one panel per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(curves: dict[str, dict[str, Any]], path: Path, metric: str = "ndcg@10") -> None:
    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.2), squeeze=False)
    for ax, (stage, curve) in zip(axes[0], curves.items()):
        ax.plot(curve["epochs"], curve["loss"], color="tab:blue", label="train loss")
        ax.set_title(stage)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss", color="tab:blue")
        points = [(e, v[metric]) for e, v in zip(curve["epochs"], curve["valid"]) if v]
        if points:
            twin = ax.twinx()
            twin.plot(*zip(*points), "o-", color="tab:orange", label=f"valid {metric}")
            twin.set_ylabel(f"valid {metric}", color="tab:orange")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
