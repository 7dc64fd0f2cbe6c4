"""Item embeddings the semantic ids are built from (MODEL_SPEC.md §1.1, Taobao rule applied to Beauty).

Beauty in this id space has no text, only anonymised attribute ids (brand + category), so an item is described by
its collaborative embedding (the trained CE-SASRec item table: who buys it next to what) next to a low-rank
embedding of its attributes (what it is).
"""

from __future__ import annotations

import numpy as np
import torch


def attribute_embeddings(item_attributes: list[list[int]], dim: int, seed: int = 0) -> np.ndarray:
    """Rank-`dim` SVD of the TF-IDF-weighted item x attribute matrix; items without attributes get zeros."""
    n = len(item_attributes)
    if not any(item_attributes):
        return np.zeros((n, 0), dtype=np.float32)
    rows = np.repeat(np.arange(n), [len(a) for a in item_attributes])
    cols = np.concatenate([np.asarray(a, dtype=np.int64) for a in item_attributes if a])
    matrix = torch.zeros(n, int(cols.max()) + 1)
    matrix[torch.from_numpy(rows), torch.from_numpy(cols)] = 1.0
    idf = torch.log(n / (1 + matrix.sum(0)))
    matrix = matrix * idf
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(matrix, q=min(dim, matrix.shape[1]), niter=6)
    return (u * s).numpy().astype(np.float32)


def item_embeddings(collaborative: np.ndarray, item_attributes: list[list[int]], attribute_dim: int = 32) -> np.ndarray:
    """(num_items + 1, d) rows: [collaborative ; attributes]; row 0 is padding. `residual_kmeans` standardises every
    dimension, so the halves weigh by their widths (64 collaborative, 32 attribute dimensions by default)."""
    attributes = attribute_embeddings(item_attributes, attribute_dim)
    return np.concatenate([collaborative, attributes], axis=1).astype(np.float32)
