"""RankGR's refined scoring phase (RSP): a lightweight candidate-to-sequence attention scorer over the top-λ beams.

For candidate y (MODEL_SPEC.md §2.4): e_y = the GR model's item token (code + id embeddings, shared), a_y = target
attention of e_y over the encoder memory H (already computed by the beam search: no extra encoder pass), and
s_RSP(y) = MLP([e_y; a_y; e_y * a_y]). Final score s_RSP(y) + γ · log π(y|x). Cost O(λ · L · d) per request.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.generative import GenerativeRetrieval
from inference.layers import Attention, Dropout


class RefinedScorer(nn.Module):
    def __init__(self, dim: int, heads: int = 2, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.project = nn.Linear(dim, dim)
        self.attention = Attention(dim, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(3 * dim, hidden), nn.GELU(), Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, model: GenerativeRetrieval, memory: Tensor, memory_mask: Tensor, items: Tensor) -> Tensor:
        """memory (N, L, D), items (N, C) candidates -> (N, C) scores."""
        e = self.project(model.item_tokens(items))
        a = self.attention(e, memory, memory_mask)
        return self.mlp(torch.cat([e, a, e * a], dim=-1)).squeeze(-1)


def listwise_loss(scores: Tensor, positive: Tensor) -> Tensor:
    """Softmax CE of the positive's position among the candidates (the RSP loss with one tier above the rest)."""
    return F.cross_entropy(scores, positive)
