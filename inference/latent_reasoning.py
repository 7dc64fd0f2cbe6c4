"""Latent reasoning over an encoder's output (MODEL_SPEC.md §4): PLR's parallel streams, and ReaRec's single deeper
trajectory as its baseline, both as extra tokens run through the encoder's own blocks over the history's cached keys
and values.

PLR (arXiv 2601.03153): M learnable trigger tokens start M streams from the encoder's reasoning state h0 (its output
at the newest item); each stream takes `depth` causal steps through the encoder's blocks, attending to the history and
to its own earlier steps only. All streams go in one batched pass, as M extra queries masked from each other; the
history's keys and values are computed once, by the encoder pass itself. A mixture-of-reasoning-streams gate
softmax(MLP(h0)) mixes the fast h0 with each stream's mean state into the user state u. Training adds a global
reasoning regulariser (the mean pairwise cosine of the streams, kept low so they stay diverse) and a reasoning
contrastive loss (InfoNCE across the batch between u and u from noised stream inputs).
ReaRec (arXiv 2503.22675) is one stream without a trigger: ERL's user state is the mean of h0..hK (its regulariser
over those states: the original's KL between per-step item distributions has no per-step item distribution to use in
a generative retriever), PRL's is hK.

The model appends `tokens` states to whatever its consumers attend to: u, then each stream's mean (PLR) or each
step's state (ReaRec).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.layers import Block

MODES = ("none", "plr", "erl", "prl")


@dataclass
class ReasoningConfig:
    mode: str = "none"
    """none, plr (parallel streams), erl or prl (ReaRec's ensemble / progressive single trajectory)."""
    streams: int = 2
    """PLR's M (ReaRec: always one)."""
    depth: int = 1
    """reasoning steps per stream (ReaRec's K)."""
    regulariser: float = 0.1
    """weight of the mean pairwise cosine between streams (PLR) or between h0..hK (ERL); 0: off."""
    contrastive: float = 0.1
    """weight of the reasoning contrastive loss; 0: off (and no second, noised pass)."""
    noise: float = 0.01
    """std of the Gaussian noise on the noised pass's stream inputs."""
    temperature: float = 0.2
    """of the contrastive loss's InfoNCE."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown reasoning mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.streams < 1 or self.depth < 1:
            raise ValueError(f"reasoning needs at least one stream and one step (got {self.streams}, {self.depth})")

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @property
    def parallel(self) -> bool:
        return self.mode == "plr"

    @property
    def tokens(self) -> int:
        """States appended to the encoder memory: u, then one per stream (PLR) or per step (ReaRec)."""
        return 1 + (self.streams if self.parallel else self.depth)


class LatentReasoning(nn.Module):
    def __init__(self, dim: int, config: ReasoningConfig) -> None:
        super().__init__()
        if not config.enabled:
            raise ValueError("LatentReasoning needs a reasoning mode")
        self.config = config
        self.width = config.streams if config.parallel else 1
        self.triggers = nn.Parameter(torch.randn(self.width, dim) * 0.02) if config.parallel else None
        self.steps = nn.Parameter(torch.randn(config.depth, dim) * 0.02)  # reasoning position embeddings
        self.input_norm = nn.LayerNorm(dim)
        self.gate = (nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, self.width + 1))
                     if config.parallel else None)  # fmt: skip

    def forward(self, blocks: Sequence[Block], norm: nn.Module, keys: Sequence[Tensor], mask: Tensor, h0: Tensor,
                rows: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """Reasoning from P positions at once (the GR: the newest item; CE-SASRec in training: every position).
        `blocks` and `norm`: the encoder's; `keys`: each block's keys and values over the history (B, T, 2D);
        `mask`: which history keys each position may attend to (B, 1, P | 1, T); `h0`: the encoder's (normed) states
        at those positions (B, P, D); `rows`: the positions (B, P) the training terms count (default: all).
        -> the tokens to append (B, P, tokens, D), the user states u (B, P, D), and the training-only loss terms (a
        scalar; 0 in eval mode)."""
        states = self._streams(blocks, norm, keys, mask, h0, 0.0)
        tokens, user = self._combine(h0, states)
        aux = h0.new_zeros(())
        counted = (lambda x: x.flatten(0, 1)) if rows is None else (lambda x: x[rows])
        if self.training and self.config.regulariser > 0:
            aux = aux + self.config.regulariser * self._similarity(counted(h0), [counted(x) for x in states])
        if self.training and self.config.contrastive > 0:
            _, noised = self._combine(h0, self._streams(blocks, norm, keys, mask, h0, self.config.noise))
            aux = aux + self.config.contrastive * info_nce(counted(user), counted(noised), self.config.temperature)
        return tokens, user, aux

    def _streams(self, blocks: Sequence[Block], norm: nn.Module, keys: Sequence[Tensor], mask: Tensor, h0: Tensor,
                 noise: float) -> list[Tensor]:  # fmt: skip
        """Every stream's state after each step: depth x (B, P, M, D). The P x M streams run as P x M queries per
        step, each seeing the history its position may see and its own earlier steps only."""
        (b, p, d), m = h0.shape, self.width
        n = p * m  # queries per step, position-major
        state = h0[:, :, None].expand(b, p, m, d).reshape(b, n, d)
        history = mask.expand(b, 1, p, mask.shape[-1]).repeat_interleave(m, dim=2)
        past, states = list(keys), []
        for step in range(self.config.depth):
            x = self.input_norm(state) + self.steps[step]
            if step == 0 and self.triggers is not None:
                x = x + self.triggers.repeat(p, 1)
            if noise:
                x = x + noise * torch.randn_like(x)
            # the stream keys are laid out step by step, n at a time: a query's own are every n-th from its index
            own = (torch.arange(n * (step + 1), device=h0.device) % n)[None] == torch.arange(n, device=h0.device)[:, None]
            step_mask = torch.cat([history, own.expand(b, 1, n, n * (step + 1))], dim=-1)
            for i, block in enumerate(blocks):
                x, past[i] = block.extend(x, past[i], step_mask)
            state = norm(x)
            states.append(state.view(b, p, m, d))
        return states

    def _combine(self, h0: Tensor, states: list[Tensor]) -> tuple[Tensor, Tensor]:
        if self.gate is not None:  # PLR: the gate mixes h0 with each stream's mean state
            pooled = torch.stack(states).mean(0)  # (B, P, M, D)
            weights = torch.softmax(self.gate(h0), dim=-1)
            user = weights[..., :1] * h0 + (weights[..., 1:, None] * pooled).sum(-2)
            return torch.cat([user[..., None, :], pooled], dim=-2), user
        trajectory = torch.cat(states, dim=-2)  # (B, P, K, D): one stream
        user = torch.cat([h0[..., None, :], trajectory], -2).mean(-2) if self.config.mode == "erl" else trajectory[..., -1, :]
        return torch.cat([user[..., None, :], trajectory], dim=-2), user

    def _similarity(self, h0: Tensor, states: list[Tensor]) -> Tensor:
        """Mean pairwise cosine between the streams' means (PLR) or between h0..hK (ERL); PRL: none. h0 (R, D),
        states depth x (R, M, D)."""
        if self.gate is not None:
            group = torch.stack(states).mean(0)
        elif self.config.mode == "erl":
            group = torch.cat([h0[:, None], *states], dim=1)
        else:
            return h0.new_zeros(())
        n = group.shape[1]
        if n < 2:
            return h0.new_zeros(())
        unit = F.normalize(group, dim=-1)
        cosine = unit @ unit.transpose(1, 2)
        return (cosine.sum((1, 2)) - cosine.diagonal(dim1=1, dim2=2).sum(1)).mean() / (n * (n - 1))


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE across the batch: row i of `a` and of `b` are the positive pair."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = a @ b.T / temperature
    labels = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
