"""SASRec with full-softmax cross-entropy: the strong baseline any generative-retrieval number is held against.

Kang & McAuley (ICDM 2018) with the loss public re-runs use on Beauty (full softmax over all items instead of one
sampled negative), which is what makes it strong (MODEL_SPEC.md §5.3). Its item table also feeds the semantic ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from inference.latent_reasoning import LatentReasoning, ReasoningConfig
from inference.layers import Block, Dropout, causal_mask, init_embeddings, key_mask


@dataclass
class SASRecConfig:
    dim: int = 64
    layers: int = 2
    heads: int = 1
    max_length: int = 50
    dropout: float = 0.5
    reasoning: ReasoningConfig = field(default_factory=ReasoningConfig)
    """latent reasoning after the last position (PLR, or ReaRec): the user state that scores the next item."""

    def __post_init__(self) -> None:
        if isinstance(self.reasoning, dict):  # read back from saved settings
            self.reasoning = ReasoningConfig(**self.reasoning)


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
        self.reasoning = LatentReasoning(config.dim, config.reasoning) if config.reasoning.enabled else None
        init_embeddings(self)

    def states(self, history: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, L) left-padded item ids -> hidden states (B, L, D) (position t summarises items up to t), the state
        that scores the item after all of `history` (B, D) (the last position's, or the reasoning's user state over
        all of it), and the reasoning's training-only loss terms (a scalar)."""
        length = history.shape[1]
        x = self.items(history) + self.positions.weight[-length:]
        x = self.drop(x)
        mask = causal_mask(length, history.device)[None, None] & key_mask(history == 0)
        keys = []
        for block in self.blocks:
            x, kv = block.forward_keys(x, mask)
            keys.append(kv)
        hidden = self.norm(x)
        if self.reasoning is None:
            return hidden, hidden[:, -1], hidden.new_zeros(())
        _, user, aux = self.reasoning(self.blocks, self.norm, keys, key_mask(history == 0), hidden[:, -1])
        return hidden, user, aux

    def logits(self, hidden: Tensor) -> Tensor:
        return hidden @ self.items.weight.T

    def loss(self, history: Tensor, targets: Tensor) -> Tensor:
        """Next-item CE at every non-padded position: targets[:, t] follows history[:, :t+1]; with reasoning, also
        the CE of the reasoning's user state for the last target, and the reasoning's own terms.

        Only positions with a target are projected onto the item table: with Beauty's mean length of 9 in a window
        of 50, that is ~8x less work than projecting every position."""
        keep = targets != 0
        hidden, user, aux = self.states(history)
        loss = nn.functional.cross_entropy(self.logits(hidden[keep]), targets[keep])
        if self.reasoning is not None:
            loss = loss + nn.functional.cross_entropy(self.logits(user), targets[:, -1]) + aux
        return loss

    @torch.no_grad()
    def scores(self, history: Tensor) -> Tensor:
        """(B, num_items + 1) scores of every item after `history`; padding id 0 scores -inf."""
        scores = self.logits(self.states(history)[1])
        scores[:, 0] = -torch.inf
        return scores
