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

    def _encode(self, history: Tensor) -> tuple[Tensor, list[Tensor], Tensor]:
        """(B, L) left-padded item ids -> hidden states (B, L, D) (position t summarises items up to t), each
        block's keys and values (B, L, 2D), and the attention mask (B, 1, L, L)."""
        length = history.shape[1]
        x = self.items(history) + self.positions.weight[-length:]
        x = self.drop(x)
        mask = causal_mask(length, history.device)[None, None] & key_mask(history == 0)
        keys = []
        for block in self.blocks:
            x, kv = block.forward_keys(x, mask)
            keys.append(kv)
        return self.norm(x), keys, mask

    def user_state(self, history: Tensor) -> Tensor:
        """(B, D): the state that scores the item after all of `history`: the last position's, or with reasoning
        the user state reasoned from it over the whole history."""
        hidden, keys, _ = self._encode(history)
        if self.reasoning is None:
            return hidden[:, -1]
        return self.reasoning(self.blocks, self.norm, keys, key_mask(history == 0), hidden[:, -1:])[1][:, 0]

    def logits(self, hidden: Tensor) -> Tensor:
        return hidden @ self.items.weight.T

    def loss(self, history: Tensor, targets: Tensor) -> Tensor:
        """Next-item CE at every non-padded position: targets[:, t] follows history[:, :t+1]. With reasoning, every
        position reasons (over the history it may see) and its user state is what the CE scores, plus the
        reasoning's training terms: each position is a training example, as each prefix is in ReaRec.

        Only positions with a target are projected onto the item table: with Beauty's mean length of 9 in a window
        of 50, that is ~8x less work than projecting every position."""
        keep = targets != 0
        hidden, keys, mask = self._encode(history)
        aux = hidden.new_zeros(())
        if self.reasoning is not None:
            _, hidden, aux = self.reasoning(self.blocks, self.norm, keys, mask, hidden, rows=keep)
        return nn.functional.cross_entropy(self.logits(hidden[keep]), targets[keep]) + aux

    @torch.no_grad()
    def scores(self, history: Tensor) -> Tensor:
        """(B, num_items + 1) scores of every item after `history`; padding id 0 scores -inf."""
        scores = self.logits(self.user_state(history))
        scores[:, 0] = -torch.inf
        return scores
