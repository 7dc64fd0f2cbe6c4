"""Leave-one-out evaluation shared by every model: rank, drop what the user has seen, score against the target."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from inference.metrics import ranking_metrics
from inference.sequences import pad_left

EVAL_BATCH = 512
"""users per recommender call."""
Recommender = Callable[[Tensor, Tensor], Tensor]
"""(padded histories (B, L), seen mask (B, num_items + 1)) -> (B, K) item ids, best first, none of them seen."""


def seen_mask(histories: list[np.ndarray], num_items: int) -> Tensor:
    mask = torch.zeros(len(histories), num_items + 1, dtype=torch.bool)
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    mask[torch.from_numpy(rows), torch.from_numpy(np.concatenate(histories))] = True
    mask[:, 0] = True  # padding is never recommended
    return mask


def top_k_unseen(scores: Tensor, seen: Tensor, k: int) -> Tensor:
    return scores.masked_fill(seen, -torch.inf).topk(k, dim=1).indices


def evaluate(
    recommend: Recommender,
    histories: list[np.ndarray],
    targets: np.ndarray,
    num_items: int,
    max_length: int,
    batch_size: int = EVAL_BATCH,
) -> dict[str, float]:
    return ranking_metrics(top_k(recommend, histories, num_items, max_length, batch_size), targets)


def top_k(recommend: Recommender, histories: list[np.ndarray], num_items: int, max_length: int,
          batch_size: int = EVAL_BATCH) -> np.ndarray:  # fmt: skip
    """Each history's recommendations as the evaluation scores them (B, K): histories padded to `max_length`,
    everything in them masked."""
    ranked = []
    with torch.no_grad():
        for start in range(0, len(histories), batch_size):
            chunk = histories[start : start + batch_size]
            padded = torch.from_numpy(pad_left(chunk, max_length))
            ranked.append(recommend(padded, seen_mask(chunk, num_items)).numpy())
    return np.concatenate(ranked)
