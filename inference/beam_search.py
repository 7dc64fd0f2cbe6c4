"""Trie-constrained beam search over semantic ids, vectorised over requests x beams (no Python loop per item), and
the log π of given items through the same decoder steps (`step_log_prob`).

At each level the decoder scores every code for every beam at once; codes with no valid continuation in the trie,
or under which every item has been seen by the user, get -inf before the global top-B per request. Output:
only valid, unseen items, ranked by log π(y|x). The model is anything with the `StepModel` contract: the PyTorch
reference (`GenerativeRetrieval`) or an exported runtime (`inference.runtimes`), so every runtime runs one search.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from inference.trie import SemanticIdTrie


class StepModel(Protocol):
    """What a beam search needs of a generative retriever: one encoder pass, then one decoder step per level, each
    step one new token per beam over a self-attention cache (see `GenerativeRetrieval.first_step`, `next_step`)."""

    def encode_memory(self, history: Tensor) -> Tensor: ...

    def first_step(self, memory: Tensor, history: Tensor) -> tuple[Tensor, Tensor]: ...

    def next_step(self, memory: Tensor, history: Tensor, codes: Tensor, level: int, cache: Tensor, parents: Tensor,
                  ) -> tuple[Tensor, Tensor]: ...  # fmt: skip


@torch.no_grad()
def beam_search(
    model: StepModel, trie: SemanticIdTrie, history: Tensor, seen: Tensor, beam: int
) -> tuple[Tensor, Tensor, Tensor]:
    """history (N, L), seen (N, num_items + 1) bool -> items (N, beam), log π (N, beam), encoder memory (N, L, D).

    Slots that found no valid unseen item hold item 0 with score -inf (only when fewer than `beam` exist)."""
    memory = model.encode_memory(history)
    n = len(history)
    scores = torch.zeros(n, 1, device=history.device)
    nodes = torch.zeros(n, 1, dtype=torch.long, device=history.device)
    live = trie.live_prefixes(~seen)
    logits, cache = model.first_step(memory, history)
    for level in range(trie.levels):
        width = nodes.shape[1]
        logp = F.log_softmax(logits, dim=-1).view(n, width, -1)  # a step's logits are its level's codes only
        children = trie.step(level, nodes.clamp(min=0))  # (N, W, V)
        invalid = (children < 0) | (nodes < 0)[..., None]
        index = children.clamp(min=0).flatten(1)
        if level == trie.levels - 1:
            invalid |= seen.gather(1, index).view_as(children)
        else:  # a prefix under which every item is seen would only waste a beam
            invalid |= ~live[level].gather(1, index).view_as(children)
        total = (scores[..., None] + logp).masked_fill(invalid, -torch.inf).flatten(1)
        scores, flat = total.topk(min(beam, total.shape[1]), dim=1)
        nodes = children.flatten(1).gather(1, flat).masked_fill(scores == -torch.inf, -1)
        if level < trie.levels - 1:  # each new beam continues its parent's cache with the code it just chose
            parent, code = flat // logp.shape[-1], flat % logp.shape[-1]
            rows = (parent + torch.arange(n, device=parent.device)[:, None] * width).flatten()
            logits, cache = model.next_step(memory, history, code, level, cache, rows)
    return nodes.clamp(min=0).long(), scores, memory


@torch.no_grad()
def step_log_prob(model: StepModel, memory: Tensor, history: Tensor, codes: Tensor) -> Tensor:
    """log π of K given items per request, teacher-forced through the step contract: codes (N, K, levels) -> (N, K).

    The same value as the reference `GenerativeRetrieval.sequence_log_prob` (its parity test), computed as the
    search computes a beam's score (one cached decoder step per level, the level's head rows only) on whatever runtime
    ran the search, over the memory it returned: scoring items the search did not find costs K beams' decode."""
    n, k, levels = codes.shape
    logits, cache = model.first_step(memory, history)
    total = F.log_softmax(logits, dim=-1).gather(1, codes[:, :, 0])
    rows = torch.arange(n, device=codes.device).repeat_interleave(k)  # each item continues its request's BOS row
    for level in range(levels - 1):
        logits, cache = model.next_step(memory, history, codes[:, :, level], level, cache, rows)
        logp = F.log_softmax(logits, dim=-1).view(n, k, -1)
        total = total + logp.gather(2, codes[:, :, level + 1 : level + 2]).squeeze(2)
        rows = torch.arange(n * k, device=codes.device)
    return total
