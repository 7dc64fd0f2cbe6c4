"""Semantic ids: each item becomes 3 codes of 256 (coarse to fine) plus a collision code that makes the id unique.

Residual k-means (the default; MODEL_SPEC.md §1.2 alternative): k-means on the item embeddings, subtract each
item's centroid, k-means again on the residuals, three levels. Items that still share all three codes get a 4th
code 0, 1, 2, ... within their group (TIGER §1.3). Deterministic with a seed; no training instability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class SemanticIds:
    codes: np.ndarray
    """(num_items + 1, levels + 1) int64; row 0 (padding) is all zeros and never decoded."""
    codebook_size: int

    @property
    def levels(self) -> int:
        return self.codes.shape[1]

    @property
    def collision_size(self) -> int:
        """Vocabulary of the last (collision) level: the largest group of items sharing the first codes."""
        return int(self.codes[1:, -1].max()) + 1

    def stats(self) -> dict[str, float]:
        """Per-level code usage, perplexity, collision rate (share of items needing a nonzero last code), largest group."""
        items = self.codes[1:]
        out: dict[str, float] = {}
        for level in range(self.levels - 1):
            counts = np.bincount(items[:, level], minlength=self.codebook_size)
            p = counts[counts > 0] / counts.sum()
            out[f"usage_l{level}"] = float((counts > 0).mean())
            out[f"perplexity_l{level}"] = float(np.exp(-(p * np.log(p)).sum()))
        out["collision_rate"] = float((items[:, -1] > 0).mean())
        out["max_group"] = float(self.collision_size)
        return out


def kmeans(x: Tensor, k: int, iterations: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means with k-means++ seeding; empty clusters are re-seeded at the worst-fit points."""
    n = len(x)
    centroids = x[torch.randint(n, (1,), generator=generator)]
    closest = torch.cdist(x, centroids).squeeze(1) ** 2
    for _ in range(1, k):
        pick = torch.multinomial(closest / closest.sum(), 1, generator=generator)
        centroids = torch.cat([centroids, x[pick]])
        closest = torch.minimum(closest, ((x - x[pick]) ** 2).sum(1))
    for _ in range(iterations):
        distances = torch.cdist(x, centroids)
        assign = distances.argmin(1)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k)
        empty = counts == 0
        centroids = torch.where(empty[:, None], centroids, sums / counts.clamp(min=1)[:, None])
        if empty.any():
            worst = distances.gather(1, assign[:, None]).squeeze(1).topk(int(empty.sum())).indices
            centroids[empty] = x[worst]
    return centroids, torch.cdist(x, centroids).argmin(1)


def residual_kmeans(
    embeddings: np.ndarray, levels: int = 3, codebook_size: int = 256, iterations: int = 30, seed: int = 0
) -> SemanticIds:
    """`embeddings`: (num_items + 1, dim), row 0 = padding (ignored). Standardised per dimension first."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(embeddings[1:], dtype=np.float32))
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    k = min(codebook_size, len(x))
    codes = []
    residual = x
    for _ in range(levels):
        centroids, assign = kmeans(residual, k, iterations, generator)
        codes.append(assign)
        residual = residual - centroids[assign]
    return SemanticIds(with_collision_codes(torch.stack(codes, 1).numpy()), codebook_size)


def with_collision_codes(codes: np.ndarray) -> np.ndarray:
    """Append the within-group index of items sharing all codes, and the padding row 0."""
    _, group, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.empty(len(codes), dtype=np.int64)
    position[order] = np.arange(len(codes)) - np.repeat(starts, counts)
    full = np.concatenate([codes, position[:, None]], axis=1).astype(np.int64)
    return np.concatenate([np.zeros((1, full.shape[1]), dtype=np.int64), full])
