"""Transformer pieces shared by every model here, with attention written on `F.scaled_dot_product_attention`.

Why not `nn.TransformerEncoder`: its fast path does not export to ONNX at shapes other than the export shape
(MODEL_SPEC.md §8), and every model in this package must export. Masks are boolean, True = may attend.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Dropout(nn.Module):
    """`nn.Dropout` with a cheaper mask on CPU. torch's CPU `bernoulli_` (behind `nn.Dropout`) draws one random
    double per element: in a GR training step on 2 cores it was 29 % of the time. This draws 16 random bits per
    element (`torch.randint`) and keeps an element when its bits clear the threshold, so p is exact to 1/65536
    (a GR step 1.19x faster: `bench.training_bench`). Same contract: identity in eval mode, survivors scaled by 1 / (1 - p)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability {p} is not in [0, 1)")
        self.p = p
        self.threshold = round(p * 65536) - 32768  # an element survives when its signed 16 bits are >= this

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        n = x.numel()
        bits = torch.randint(-(2**31), 2**31, ((n + 1) // 2,), dtype=torch.int32, device=x.device)
        keep = bits.view(torch.int16)[:n].view(x.shape) >= self.threshold
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, memory: Tensor, mask: Tensor | None) -> Tensor:
        """x: (B, Lq, D) attends over memory: (B, Lk, D); mask broadcastable to (B, 1, Lq, Lk)."""
        return self.attend(x, self.key_value(memory), mask)

    def attend(self, x: Tensor, kv: Tensor, mask: Tensor | None) -> Tensor:
        """x: (B, Lq, D) attends over keys and values already projected, kv: (B, Lk, 2D) (`key_value`'s layout)."""
        head_dim = x.shape[-1] // self.heads  # shapes from unflatten/flatten only: exported graphs stay dynamic
        q = self.query(x).unflatten(-1, (self.heads, head_dim)).transpose(1, 2)
        k, v = kv.unflatten(-1, (2, self.heads, head_dim)).permute(2, 0, 3, 1, 4)
        drop = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        return self.out(y.transpose(1, 2).flatten(2))

    def attend_cached(self, x: Tensor, past: Tensor | None, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Self-attention of new positions x (B, n, D) over the keys and values cached for earlier positions, past
        (B, l, 2D), and their own (default mask: none, as for one causal decoder position): -> (B, n, D) and the
        cache grown to (B, l + n, 2D). The cache keeps the projection's own layout, so growing it appends
        contiguous rows."""
        kv = self.key_value(x)
        if past is not None:
            kv = torch.cat([past, kv], dim=1)
        return self.attend(x, kv, mask), kv


class Block(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention over an encoder memory, feed-forward.

    With cross-attention, x may hold several sequences per memory row (x: (N * W, l, D), memory: (N, L, D)),
    grouped by row: all W decoder sequences of request i attend to memory[i]."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float, cross: bool = False) -> None:
        super().__init__()
        self.norm_self, self.self_attention = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.norm_cross = nn.LayerNorm(dim) if cross else None
        self.cross_attention = Attention(dim, heads, dropout) if cross else None
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), Dropout(dropout), nn.Linear(ffn, dim))
        self.drop = Dropout(dropout)

    def forward(
        self, x: Tensor, mask: Tensor | None, memory: Tensor | None = None, memory_mask: Tensor | None = None
    ) -> Tensor:
        h = self.norm_self(x)
        x = x + self.drop(self.self_attention(h, h, mask))
        return self._cross_and_ffn(x, memory, memory_mask)

    def forward_keys(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """`forward` without cross-attention, also returning its self-attention's keys and values (B, L, 2D): what
        later positions attending over these (`extend`) reuse instead of recomputing."""
        return self.extend(x, None, mask)

    def extend(self, x: Tensor, past: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """New positions x (B, n, D) attending over the keys and values of earlier ones, past (B, S, 2D), and their
        own, mask (B | 1, 1, n, S + n): -> the block's output for them (no cross-attention) and the keys and values
        grown to (B, S + n, 2D)."""
        y, kv = self.self_attention.attend_cached(self.norm_self(x), past, mask)
        return self._cross_and_ffn(x + self.drop(y), None, None), kv

    def step(self, x: Tensor, past: Tensor | None, memory: Tensor, memory_mask: Tensor) -> tuple[Tensor, Tensor]:
        """`forward` for one new decoder position (B, 1, D), its causal self-attention served from the cache of the
        earlier ones (`Attention.attend_cached`): a beam step costs one token, not the whole prefix."""
        y, present = self.self_attention.attend_cached(self.norm_self(x), past)
        return self._cross_and_ffn(x + self.drop(y), memory, memory_mask), present

    def _cross_and_ffn(self, x: Tensor, memory: Tensor | None, memory_mask: Tensor | None) -> Tensor:
        if self.cross_attention is not None and self.norm_cross is not None:
            # x holds W sequences (beams, candidates) per memory row: their queries share that row's keys and
            # values, so they go in one attention call as a longer query, never copying the memory W times.
            h = self.norm_cross(x).reshape(memory.shape[0], -1, x.shape[-1])
            x = x + self.drop(self.cross_attention(h, memory, memory_mask).reshape_as(x))
        return x + self.drop(self.ffn(self.norm_ffn(x)))


def causal_mask(length: int, device: torch.device) -> Tensor:
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def key_mask(padding: Tensor) -> Tensor:
    """(B, L) True at padding -> (B, 1, 1, L) True where attention is allowed.

    A row with every key padded would attend to nothing (NaN in SDPA): its first key is left open instead; the
    output of such a row is never used (it is itself padding)."""
    allowed = ~padding
    first = allowed[:, :1] | ~allowed.any(dim=1, keepdim=True)  # not in place: exports to ONNX
    return torch.cat([first, allowed[:, 1:]], dim=1)[:, None, None, :]


def init_embeddings(module: nn.Module, std: float = 0.02) -> None:
    """Small normal init for every embedding table (GPT-style): with N(0, 1) tables, scores against the item
    table start with a std of sqrt(dim) and the first epochs are spent shrinking them."""
    for m in module.modules():
        if isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=std)
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
