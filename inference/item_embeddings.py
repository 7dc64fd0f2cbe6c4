"""Item embeddings the semantic ids are built from (MODEL_SPEC.md §1.1).

An item is described by its collaborative embedding (the trained CE-SASRec item table: who buys it next to what)
next to what it is: its text through a frozen sentence encoder where the dataset has text (MovieLens titles and
genres, `inference.text_embeddings`), else a low-rank embedding of its attribute ids (Beauty in this id space has
no text, only anonymised brand and category ids).
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
    # attribute ids renumbered densely: raw ids can be large and sparse (Taobao category ids reach millions)
    _, cols = np.unique(np.concatenate([np.asarray(a, dtype=np.int64) for a in item_attributes if a]), return_inverse=True)
    matrix = torch.zeros(n, int(cols.max()) + 1)
    matrix[torch.from_numpy(rows), torch.from_numpy(cols)] = 1.0
    idf = torch.log(n / (1 + matrix.sum(0)))
    matrix = matrix * idf
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(matrix, q=min(dim, matrix.shape[1]), niter=6)
    return (u * s).numpy().astype(np.float32)


def text_components(texts: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """The top-`dim` principal components of text embeddings (rows of items without text stay zero)."""
    matrix = torch.from_numpy(np.asarray(texts, dtype=np.float32))
    present = matrix.norm(dim=1) > 0
    torch.manual_seed(seed)
    u, s, _ = torch.pca_lowrank(matrix[present], q=min(dim, *matrix[present].shape), niter=6)
    out = torch.zeros(len(matrix), u.shape[1])
    out[present] = u * s
    return out.numpy()


def item_embeddings(collaborative: np.ndarray, item_attributes: list[list[int]], content_dim: int = 32,
                    texts: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(num_items + 1, d) rows: [collaborative ; content]; row 0 is padding. Content is what the item is: its text
    embedding (`texts`, rows aligned with items; MovieLens titles and genres) when the dataset has text, else its
    attributes. `residual_kmeans` standardises every dimension, so the halves weigh by their widths (64
    collaborative, `content_dim` content dimensions): a 384-d text vector is reduced to its principal components
    first, or it would drown the collaborative half."""
    content = text_components(texts, content_dim) if texts is not None else attribute_embeddings(item_attributes, content_dim)
    return np.concatenate([collaborative, content], axis=1).astype(np.float32)
