"""Trie-constrained beam search over semantic ids, vectorised over requests x beams (no Python loop per item).

At each level the decoder scores every code for every beam at once; codes with no valid continuation in the trie,
or under which every item has been seen by the user, get -inf before the global top-B per request. Output:
only valid, unseen items, ranked by log π(y|x).
"""

from __future__ import annotations

import torch
from torch import Tensor

from inference.generative import GenerativeRetrieval
from inference.trie import SemanticIdTrie


@torch.no_grad()
def beam_search(
    model: GenerativeRetrieval, trie: SemanticIdTrie, history: Tensor, seen: Tensor, beam: int
) -> tuple[Tensor, Tensor, Tensor]:
    """history (N, L), seen (N, num_items + 1) bool -> items (N, beam), log π (N, beam), encoder memory (N, L, D).

    Slots that found no valid unseen item hold item 0 with score -inf (only when fewer than `beam` exist)."""
    memory, memory_mask = model.encode(history)
    n = len(history)
    root = torch.zeros(n, 1, dtype=torch.long, device=history.device)
    scores = torch.zeros(n, 1, device=history.device)
    nodes, prefix = root, torch.zeros(n, 1, 0, dtype=torch.long, device=history.device)
    live = trie.live_prefixes(~seen)
    for level in range(trie.levels):
        width = nodes.shape[1]
        logits = model.decode(memory, memory_mask, prefix, last_only=True)
        logp = model.level_log_probs(logits, level).view(n, width, -1)
        children = trie.step(level, nodes.clamp(min=0))  # (N, W, V)
        invalid = (children < 0) | (nodes < 0)[..., None]
        index = children.clamp(min=0).flatten(1)
        if level == trie.levels - 1:
            invalid |= seen.gather(1, index).view_as(children)
        else:  # a prefix under which every item is seen would only waste a beam
            invalid |= ~live[level].gather(1, index).view_as(children)
        total = (scores[..., None] + logp).masked_fill(invalid, -torch.inf).flatten(1)
        scores, flat = total.topk(min(beam, total.shape[1]), dim=1)
        parent, code = flat // logp.shape[-1], flat % logp.shape[-1]
        nodes = children.flatten(1).gather(1, flat).masked_fill(scores == -torch.inf, -1)
        prefix = torch.cat([prefix.gather(1, parent[..., None].expand(-1, -1, level)), code[..., None]], dim=2)
    return nodes.clamp(min=0).long(), scores, memory
