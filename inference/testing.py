"""A small untrained model directory for tests and benchmarks: real format, real code paths, seconds to make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from inference import artifacts
from inference.fusion import Fusion, FusionWeights
from inference.generative import GenerativeRetrieval, GRConfig
from inference.item_vocabulary import NO_CATEGORY, ItemVocabulary
from inference.refined_scorer import RefinedScorer
from inference.sasrec import SASRec, SASRecConfig
from inference.semantic_ids import with_collision_codes


def tiny_model_dir(directory: Path, num_items: int = 300, seed: int = 0, dim: int = 32,
                   raw_ids: np.ndarray | None = None, hybrid: bool = False, dense: str = "CE-SASRec") -> Path:  # fmt: skip
    """Items 1..num_items with random 3-level codes (+ collision codes), random weights, popularity = item index,
    category = item index mod 10. `raw_ids`: the items' ids in click events (num_items of them, in index order);
    default: the index itself. `hybrid`: the model reads the hybrid compressed input (4 slots + the last 5 items).
    `dense`: the fusion's dense ranker (`fusion.DENSE`: a CE-SASRec, or the GR's own item head), 10 items joined."""
    torch.manual_seed(seed)
    codes = torch.from_numpy(with_collision_codes(np.random.default_rng(seed).integers(0, 6, (num_items, 3))))
    vocab = [6, 6, 6, int(codes[:, 3].max()) + 1]
    model = GenerativeRetrieval(codes, vocab, GRConfig(dim=dim, heads=2, ffn=2 * dim, max_length=12,
                                                         hybrid_slots=4 if hybrid else 0, hybrid_recent=5 if hybrid else 0))
    scorer = RefinedScorer(dim, heads=2, hidden=16)
    popularity = np.arange(num_items + 1, dtype=np.float32)
    index = np.arange(num_items + 1, dtype=np.int64)
    raw = index if raw_ids is None else np.concatenate([[0], raw_ids]).astype(np.int64)
    items = ItemVocabulary(raw, codes.numpy(), np.where(index > 0, index % 10, NO_CATEGORY), [""] * (num_items + 1))
    sasrec = SASRec(num_items, SASRecConfig(dim=16, max_length=12)).eval() if dense == "CE-SASRec" else None
    fused = Fusion(FusionWeights(1.0, 0.5, 1.0, 10), sasrec)
    return artifacts.save(directory, {}, model, items, popularity, scorer, torch.tensor(0.5), {}, {}, fused)
