"""The prefix trie of valid semantic ids, as dense per-level transition tables (no Python dict on the hot path).

Level l has one row per distinct prefix of length l (row 0 of level 0 is the root). `child[l][node, code]` is the
row of the extended prefix at level l + 1, or -1 when no item continues that way; the last level's children are
item ids. Beam search gathers rows of these tables for all beams at once, on CPU or GPU, and the tables export to
ONNX/TensorRT as plain gathers (MODEL_SPEC.md §1.4). Sizes: prefixes x codebook int32 per level (~12 MB for Beauty).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class SemanticIdTrie:
    def __init__(self, codes: np.ndarray, vocab_sizes: list[int]) -> None:
        """`codes`: (num_items + 1, levels) with row 0 = padding (not an item); `vocab_sizes` per level."""
        items = np.asarray(codes[1:], dtype=np.int64)
        levels = items.shape[1]
        if len(vocab_sizes) != levels:
            raise ValueError(f"{levels} code levels but {len(vocab_sizes)} vocabulary sizes")
        self.vocab_sizes = list(vocab_sizes)
        node = np.zeros(len(items), dtype=np.int64)  # each item's prefix row at the current level
        tables, item_nodes = [], []
        for level in range(levels):
            edge = node * vocab_sizes[level] + items[:, level]
            if level < levels - 1:
                keys, next_node = np.unique(edge, return_inverse=True)
                target = np.arange(len(keys))
            else:  # leaves: the item ids themselves
                keys, target = edge, np.arange(1, len(items) + 1)
                if len(np.unique(keys)) != len(keys):
                    raise ValueError("two items share a full semantic id: add collision codes first")
            rows = int(node.max()) + 1
            table = np.full(rows * vocab_sizes[level], -1, dtype=np.int32)
            table[keys] = target
            tables.append(torch.from_numpy(table.reshape(rows, vocab_sizes[level])))
            if level < levels - 1:
                node = next_node.reshape(-1)
                item_nodes.append(torch.from_numpy(np.concatenate([[0], node])))
        self.child = tables
        self.item_nodes = item_nodes
        """item_nodes[l][item] = the item's prefix row at level l + 1 (entry 0, padding, is never used)."""
        self.item_counts = [torch.bincount(nodes, minlength=len(tables[level + 1])).int() for level, nodes in enumerate(item_nodes)]
        """item_counts[l][row] = how many entries of item_nodes[l] (padding included) fall under that prefix."""

    @property
    def levels(self) -> int:
        return len(self.child)

    def to(self, device: torch.device | str) -> SemanticIdTrie:
        self.child = [t.to(device) for t in self.child]
        self.item_nodes = [t.to(device) for t in self.item_nodes]
        self.item_counts = [t.to(device) for t in self.item_counts]
        return self

    def live_prefixes(self, available: Tensor) -> list[Tensor]:
        """available (N, num_items + 1) bool -> per level l >= 1, (N, prefixes at l) bool: does any available item
        start with this prefix? Lets a beam skip a prefix whose items are all excluded before it spends a slot.

        Counted from the other side: a user has excluded tens of items, not the catalogue, so a prefix is live when
        fewer of its items are unavailable than it has (a sparse count), instead of summing every item per user."""
        users, items = (~available).nonzero(as_tuple=True)
        live = []
        for nodes, counts in zip(self.item_nodes, self.item_counts):
            unavailable = torch.zeros(len(available), len(counts), dtype=torch.int32, device=available.device)
            unavailable.index_put_((users, nodes[items]), torch.ones_like(items, dtype=torch.int32), accumulate=True)
            live.append(unavailable < counts)
        return live

    def step(self, level: int, nodes: Tensor) -> Tensor:
        """(…,) prefix rows at `level` -> (…, vocab) rows at level + 1 (item ids at the last level), -1 = invalid."""
        return self.child[level][nodes]
