"""SASRec with full-softmax cross-entropy: the strong baseline any generative-retrieval number is held against.

Kang & McAuley (ICDM 2018) with the loss public re-runs use on Beauty (full softmax over all items instead of one
sampled negative), which is what makes it strong (MODEL_SPEC.md §5.3). Its item table also feeds the semantic ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from inference.layers import Block, Dropout, causal_mask, init_embeddings, key_mask


@dataclass
class SASRecConfig:
    dim: int = 64
    layers: int = 2
    heads: int = 1
    max_length: int = 50
    dropout: float = 0.5


class SASRec(nn.Module):
    def __init__(self, num_items: int, config: SASRecConfig) -> None:
        super().__init__()
        self.config = config
        self.items = nn.Embedding(num_items + 1, config.dim, padding_idx=0)
        self.positions = nn.Embedding(config.max_length, config.dim)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(config.dim, config.heads, 4 * config.dim, config.dropout) for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.dim)
        init_embeddings(self)

    def hidden(self, history: Tensor) -> Tensor:
        """(B, L) left-padded item ids -> (B, L, D): position t summarises items up to t."""
        length = history.shape[1]
        x = self.items(history) + self.positions.weight[-length:]
        x = self.drop(x)
        mask = causal_mask(length, history.device)[None, None] & key_mask(history == 0)
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x)

    def logits(self, hidden: Tensor) -> Tensor:
        return hidden @ self.items.weight.T

    def loss(self, history: Tensor, targets: Tensor) -> Tensor:
        """Next-item CE at every non-padded position: targets[:, t] follows history[:, :t+1].

        Only positions with a target are projected onto the item table: with Beauty's mean length of 9 in a window
        of 50, that is ~8x less work than projecting every position."""
        keep = targets != 0
        hidden = self.hidden(history)[keep]
        return nn.functional.cross_entropy(self.logits(hidden), targets[keep])

    @torch.no_grad()
    def scores(self, history: Tensor) -> Tensor:
        """(B, num_items + 1) scores of every item after `history`; padding id 0 scores -inf."""
        scores = self.logits(self.hidden(history)[:, -1])
        scores[:, 0] = -torch.inf
        return scores
