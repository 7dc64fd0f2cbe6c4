"""Full-ranking Recall@K and NDCG@K with one held-out target per user (leave-one-out)."""

from __future__ import annotations

import numpy as np


def ranking_metrics(ranked: np.ndarray, targets: np.ndarray, ks: tuple[int, ...] = (5, 10)) -> dict[str, float]:
    """`ranked`: (users, >= max(ks)) item ids, best first; `targets`: (users,). One relevant item per user, so
    Recall@K is the hit rate and NDCG@K = 1 / log2(rank + 2) when the target is at 0-based `rank` < K."""
    ranked, targets = np.asarray(ranked), np.asarray(targets)
    if ranked.shape[1] < max(ks):
        raise ValueError(f"need at least {max(ks)} ranked items per user, got {ranked.shape[1]}")
    hits = ranked[:, : max(ks)] == targets[:, None]
    rank = np.where(hits.any(axis=1), hits.argmax(axis=1), np.iinfo(np.int64).max)
    out = {}
    for k in ks:
        hit = rank < k
        out[f"recall@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(np.minimum(rank, k) + 2.0), 0.0).mean())
    return out
