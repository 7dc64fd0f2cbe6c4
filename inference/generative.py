"""The generative retrieval model: an encoder over the behaviour sequence, a decoder over semantic-id codes.

Encoder token of history item i (MODEL_SPEC.md §2.2): sum of its code embeddings (one table per level) + an item-id
embedding + a position embedding, bidirectional attention over the last L items. Decoder: causal over
[BOS, c_0, ..., c_{n-2}] with cross-attention to the encoder memory; position l predicts code l from a per-level
head. log π(y|x) = Σ_l log p(c_l | c_<l, x). No user token (TIGER reports the same Recall@10 without it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.latent_reasoning import LatentReasoning, ReasoningConfig
from inference.layers import Block, Dropout, init_embeddings, key_mask


@dataclass
class GRConfig:
    dim: int = 128
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 4
    ffn: int = 512
    dropout: float = 0.1
    max_length: int = 20
    hybrid_slots: int = 0
    """> 0: read the hybrid compressed input instead of the raw sequence (`hybrid_tokens`): K interest slots ..."""
    hybrid_recent: int = 0
    """... plus the last m items, every item as its semantic-id codes only (no item-id table)."""
    hybrid_decay: float = 0.9
    """weight of an older item in its slot: decay ** (its distance from the recent window)."""
    reasoning: ReasoningConfig = field(default_factory=ReasoningConfig)
    """latent reasoning over the encoder output (PLR, or ReaRec), appended to the memory the decoder and the
    refined scorer attend to."""
    item_loss: float = 0.0
    """weight of an auxiliary next-item cross-entropy over every item in next-token training (`item_loss`): the
    item-level objective CE-SASRec learns from, on the encoder the decoder reads (LIGER's dense objective, arXiv
    2411.18814). It trains the item head (`item_logits`), which the fusion stage may then weigh beside log π
    (`inference.fusion`). 0: off."""

    def __post_init__(self) -> None:
        if isinstance(self.reasoning, dict):  # read back from a model directory's settings
            self.reasoning = ReasoningConfig(**self.reasoning)

    @property
    def hybrid(self) -> bool:
        return self.hybrid_slots > 0


class GenerativeRetrieval(nn.Module):
    def __init__(self, codes: Tensor, vocab_sizes: list[int], config: GRConfig) -> None:
        """`codes`: (num_items + 1, levels) semantic ids, row 0 = padding."""
        super().__init__()
        self.config = config
        self.vocab_sizes = list(vocab_sizes)
        d = config.dim
        self.register_buffer("codes", codes.long(), persistent=True)
        offsets = torch.tensor([0, *vocab_sizes[:-1]]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("level_sizes", torch.tensor(vocab_sizes), persistent=False)
        self.code_embeddings = nn.Embedding(sum(vocab_sizes) + 1, d)  # last row: decoder BOS
        self.item_embeddings = nn.Embedding(len(codes), d, padding_idx=0)
        self.positions = nn.Embedding(config.max_length, d)
        self.levels = nn.Embedding(len(vocab_sizes), d)
        self.slots = nn.Embedding(config.hybrid_slots, d) if config.hybrid else None
        self.drop = Dropout(config.dropout)
        self.encoder = nn.ModuleList(
            Block(d, config.heads, config.ffn, config.dropout) for _ in range(config.encoder_layers)
        )
        self.decoder = nn.ModuleList(
            Block(d, config.heads, config.ffn, config.dropout, cross=True) for _ in range(config.decoder_layers)
        )
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.reasoning = LatentReasoning(d, config.reasoning) if config.reasoning.enabled else None
        self.head = nn.Linear(d, sum(vocab_sizes))
        init_embeddings(self)
        self._item_table: tuple[tuple[int, ...], Tensor] | None = None

    def item_tokens(self, items: Tensor) -> Tensor:
        """(...,) item ids -> (..., D): the sum of the item's code embeddings and its id embedding."""
        codes = self.codes[items] + self.offsets
        return self.code_embeddings(codes).sum(-2) + self.item_embeddings(items)

    def item_table(self) -> Tensor:
        """(num_items + 1, D) every item's `item_tokens`. Outside autograd it is kept until the two embedding tables
        change (their storage or their in-place version counters, which optimiser steps and `load_state_dict` bump):
        gathering it costs the serving item head more than scoring every item with it (docs/benchmarks.md)."""
        tables = (self.code_embeddings.weight, self.item_embeddings.weight)
        key = tuple(v for t in tables for v in (t.data_ptr(), t._version))
        keep = not torch.is_grad_enabled()
        if keep and self._item_table is not None and self._item_table[0] == key:
            return self._item_table[1]
        table = self.item_tokens(torch.arange(len(self.codes), device=self.codes.device))
        if keep:
            self._item_table = key, table
        return table

    def encode(self, history: Tensor) -> tuple[Tensor, Tensor]:
        """(B, L) left-padded item ids -> memory (B, T, D) and its attention mask (B, 1, 1, T); T = L, or K + m for
        the hybrid input, plus the reasoning tokens."""
        memory, mask, _ = self.encode_with_loss(history)
        return memory, mask

    def encode_with_loss(self, history: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """`encode`, and the reasoning's training-only loss terms (a scalar, 0 without reasoning or in eval mode)."""
        if self.config.hybrid:
            x, padding = self.hybrid_tokens(history)
        else:
            # positions as index tensors (not slices): a traced ONNX graph keeps them dynamic in the history length
            start = self.config.max_length - history.shape[1]
            x = self.item_tokens(history) + self.positions(torch.arange(history.shape[1], device=history.device) + start)
            padding = history == 0
        x, mask = self.drop(x), key_mask(padding)
        keys = []
        for block in self.encoder:
            x, kv = block.forward_keys(x, mask)
            keys.append(kv)
        memory, aux = self.encoder_norm(x), x.new_zeros(())
        if self.reasoning is not None:  # the newest item's state (the last token, raw or hybrid) starts the reasoning
            tokens, _, aux = self.reasoning(self.encoder, self.encoder_norm, keys, mask, memory[:, -1:])
            memory, mask = torch.cat([memory, tokens[:, 0]], dim=1), self._reasoning_mask(mask)
        return memory, mask, aux

    def _reasoning_mask(self, mask: Tensor) -> Tensor:
        """The memory's mask with the reasoning tokens (always present) appended."""
        if self.reasoning is None:
            return mask
        tokens = torch.ones_like(mask[..., :1]).expand(*mask.shape[:-1], self.config.reasoning.tokens)
        return torch.cat([mask, tokens], dim=-1)

    def hybrid_tokens(self, history: Tensor) -> tuple[Tensor, Tensor]:
        """The hybrid compressed input (RecGPT-V2's idea, for this model): every item is its semantic-id codes only
        (what `user_realtime.sid_codes` stores, 4 bytes an item); the last m items stay tokens of their own, and
        everything older is pooled into K fixed interest slots (slot = first-level code mod K, weight decaying with
        age), so the encoder reads K + m tokens however long the history. -> tokens (B, K + m, D), padding (B, K + m)."""
        history, weights, padding = self._hybrid_layout(history)
        m = self.config.hybrid_recent
        tokens = self.code_embeddings(self.codes[history] + self.offsets).sum(-2)
        positions = torch.arange(m, device=history.device) + self.config.max_length - m
        recent = tokens[:, -m:] + self.positions(positions)
        mass = weights.sum(1)  # (B, K)
        slots = (weights.transpose(1, 2) @ tokens[:, :-m]) / mass.clamp(min=1e-9)[..., None] + self.slots.weight
        return torch.cat([slots, recent], dim=1), padding

    def _hybrid_layout(self, history: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(history with m + 1 padding columns in front, per-older-column slot weights (B, L + 1, K), token padding
        (B, K + m)) for a (B, L) history."""
        k, m = self.config.hybrid_slots, self.config.hybrid_recent
        # m + 1 padding columns whatever the length (at least one older column; padding weighs nothing), and ages
        # from a cumulative sum: no Python branch or size for an ONNX trace to bake in at the export's length
        history = F.pad(history, (m + 1, 0))
        present = history != 0
        older = present[:, :-m].float()
        age = torch.ones_like(older[0]).cumsum(0).flip(0)  # n, ..., 1 for n older columns
        weights = F.one_hot(self.codes[history[:, :-m], 0] % k, k).float() * (older * self.config.hybrid_decay**age)[..., None]
        return history, weights, torch.cat([weights.sum(1) == 0, ~present[:, -m:]], dim=1)

    def memory_mask(self, history: Tensor) -> Tensor:
        """The attention mask of `encode(history)`'s memory, from the history alone (decoder steps, scorer)."""
        padding = self._hybrid_layout(history)[2] if self.config.hybrid else history == 0
        return self._reasoning_mask(key_mask(padding))

    def encode_memory(self, history: Tensor) -> Tensor:
        """`StepModel` contract: the encoder memory only (every runtime derives the mask from the history)."""
        return self.encode(history)[0]

    def first_step(self, memory: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        """`StepModel` contract: the decoder at BOS for each memory row -> logits of the level-0 codes
        (N, vocab[0]) and the self-attention cache (decoder layers, N, 1, 2 * dim)."""
        bos = torch.zeros_like(history[:, :1]) + sum(self.vocab_sizes)  # shape from a tensor: stays dynamic in ONNX
        position = torch.zeros((), dtype=torch.long, device=history.device)
        return self._step(memory, history, bos, position, None, self.head_rows(position))

    def next_step(self, memory: Tensor, history: Tensor, codes: Tensor, level: Tensor | int, cache: Tensor,
                  parents: Tensor) -> tuple[Tensor, Tensor]:  # fmt: skip
        """`StepModel` contract: codes (N, W) just chosen at `level`, each continuing the cache row `parents` (N * W,)
        -> logits of the next level's codes (N * W, vocab[level + 1]) and the cache, reordered and one position
        longer."""
        level = torch.as_tensor(level, device=codes.device)
        return self.step_at(memory, history, codes, level, cache, parents, self.head_rows(level + 1))

    def step_at(self, memory: Tensor, history: Tensor, codes: Tensor, level: Tensor, cache: Tensor, parents: Tensor,
                rows: Tensor) -> tuple[Tensor, Tensor]:  # fmt: skip
        """`next_step` with its level already a tensor on the model's device and the head's `rows` given: no value
        crosses to the host inside, so a CUDA graph can capture it (`cuda_runtime.CudaRuntime`)."""
        tokens = codes.reshape(-1, 1) + self.offsets[level]
        return self._step(memory, history, tokens, level + 1, cache.index_select(1, parents), rows)

    def head_rows(self, position: Tensor) -> Tensor:
        """The head's rows of the level that decoder `position` predicts (its size is read on the host)."""
        return torch.arange(self.level_sizes[position], device=position.device) + self.offsets[position]

    def _step(self, memory: Tensor, history: Tensor, tokens: Tensor, position: Tensor, cache: Tensor | None,
              rows: Tensor) -> tuple[Tensor, Tensor]:  # fmt: skip
        """One decoder position for (N * W, 1) tokens, the same function as `decode` at that position, except that
        the head computes only its `rows`, those of the level this position predicts (a third of the head, or 4 of
        its 772 rows at the collision level)."""
        x = self.drop(self.code_embeddings(tokens) + self.levels(position))
        memory_mask = self.memory_mask(history)
        present = []
        for i, block in enumerate(self.decoder):
            x, kv = block.step(x, None if cache is None else cache[i], memory, memory_mask)
            present.append(kv)
        logits = F.linear(self.decoder_norm(x[:, -1]), self.head.weight.index_select(0, rows), self.head.bias.index_select(0, rows))
        return logits, torch.stack(present)

    def decode(self, memory: Tensor, memory_mask: Tensor, prefix: Tensor) -> Tensor:
        """prefix (N, W, l): W code prefixes per memory row -> logits (N * W, l + 1, sum(vocab)), teacher-forced,
        each position's slice of the vocabulary being its level's codes (the other slices are meaningless)."""
        tokens = self._decoder_tokens(prefix).flatten(0, 1)
        levels = torch.arange(tokens.shape[-1], device=tokens.device)
        x = self.drop(self.code_embeddings(tokens) + self.levels(levels))
        mask = (levels[:, None] >= levels[None, :])[None, None]  # causal
        for block in self.decoder:
            x = block(x, mask, memory, memory_mask)
        return self.head(self.decoder_norm(x))

    def _decoder_tokens(self, prefix: Tensor) -> Tensor:
        """(N, W, l) codes c_0..c_{l-1} -> (N, W, l + 1) decoder tokens: BOS (the last embedding row), then each code
        offset into its level's slice of the shared code vocabulary."""
        bos = torch.full((*prefix.shape[:-1], 1), self.code_embeddings.num_embeddings - 1, device=prefix.device)
        return torch.cat([bos, prefix + self.offsets[: prefix.shape[-1]]], dim=-1)

    def _level_log_probs(self, logits: Tensor, level: int) -> Tensor:
        start = int(self.offsets[level])
        return F.log_softmax(logits[..., start : start + self.vocab_sizes[level]], dim=-1)

    def level_log_probs(self, memory: Tensor, memory_mask: Tensor, items: Tensor) -> list[Tensor]:
        """Per code level, log p(· | the item's codes above it, history) for (B, C) items per history: (B * C,
        vocab[level]) each, teacher-forced in one pass."""
        logits = self.decode(memory, memory_mask, self.codes[items][..., :-1])
        return [self._level_log_probs(logits[:, level], level) for level in range(len(self.vocab_sizes))]

    def sequence_log_prob(self, memory: Tensor, memory_mask: Tensor, items: Tensor) -> Tensor:
        """log π(item | history) for (B, C) candidate items per history: (B, C), teacher-forced in one pass."""
        b, c = items.shape
        codes = self.codes[items].flatten(0, 1)  # (B * C, levels)
        total = torch.zeros(b * c, device=items.device)
        for level, logp in enumerate(self.level_log_probs(memory, memory_mask, items)):
            total = total + logp.gather(1, codes[:, level : level + 1]).squeeze(1)
        return total.view(b, c)

    def item_logits(self, memory: Tensor) -> Tensor:
        """(B, num_items + 1) the item head: every item scored by the encoder's user state (u with reasoning, else
        the newest item's state) against the item's input vector (`item_tokens`: its codes' embeddings + its id
        embedding, which the hybrid input does not read otherwise); padding -inf. Reads only the encoder memory, so
        it serves from whichever runtime ran the search."""
        user = memory[:, -self.reasoning.config.tokens] if self.reasoning is not None else memory[:, -1]
        logits = user.float() @ self.item_table().float().T
        logits[:, 0] = -torch.inf
        return logits

    def item_loss(self, memory: Tensor, targets: Tensor) -> Tensor:
        """Cross-entropy of the target among all items under the item head (`item_logits`)."""
        return F.cross_entropy(self.item_logits(memory), targets)

    def ntp_loss(self, history: Tensor, targets: Tensor) -> Tensor:
        """Next-token prediction: mean over levels of the CE of the target item's codes, plus the weighted
        `item_loss` and the reasoning's training terms."""
        memory, mask, aux = self.encode_with_loss(history)
        if self.config.item_loss:
            aux = aux + self.config.item_loss * self.item_loss(memory, targets)
        return -self.sequence_log_prob(memory, mask, targets[:, None]).mean() / len(self.vocab_sizes) + aux

