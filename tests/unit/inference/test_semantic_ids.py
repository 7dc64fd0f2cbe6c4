"""Semantic ids are unique per item, deterministic, and the trie admits exactly the items' ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.semantic_ids import residual_kmeans, with_collision_codes
from inference.trie import SemanticIdTrie


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, 8)) * 5
    x = centers[rng.integers(0, 12, n)] + rng.normal(size=(n, 8))
    return np.concatenate([np.zeros((1, 8)), x])


def test_ids_are_unique_and_deterministic() -> None:
    a = residual_kmeans(clustered(500), levels=3, codebook_size=16, iterations=10, seed=3)
    b = residual_kmeans(clustered(500), levels=3, codebook_size=16, iterations=10, seed=3)
    assert np.array_equal(a.codes, b.codes)
    assert a.codes.shape == (501, 4) and (a.codes[0] == 0).all()
    assert len(np.unique(a.codes[1:], axis=0)) == 500
    assert a.codes[1:, :3].max() < 16
    stats = a.stats()
    assert 0 < stats["usage_l0"] <= 1 and stats["perplexity_l0"] > 1 and 0 <= stats["collision_rate"] < 1


def test_collision_codes_number_items_within_a_group() -> None:
    codes = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [1, 2, 3]])
    full = with_collision_codes(codes)
    assert full[1:, 3].tolist() == [0, 1, 0, 2]


def test_trie_walks_to_every_item_and_nothing_else() -> None:
    sid = residual_kmeans(clustered(300), levels=3, codebook_size=8, iterations=5)
    trie = SemanticIdTrie(sid.codes, [8, 8, 8, sid.collision_size])
    reached = set()
    for item in range(1, 301):
        node = torch.tensor(0)
        for level, code in enumerate(sid.codes[item]):
            node = trie.step(level, node)[code]
            assert node >= 0
        reached.add(int(node))
    assert reached == set(range(1, 301))
    valid_leaves = sum(int((t >= 0).sum()) for t in trie.child[-1:])
    assert valid_leaves == 300


def test_trie_rejects_duplicate_full_ids() -> None:
    codes = np.array([[0, 0], [1, 1], [1, 1]])
    with pytest.raises(ValueError, match="collision"):
        SemanticIdTrie(codes, [2, 2])


def test_live_prefixes_are_the_prefixes_with_an_available_item() -> None:
    """The sparse count (from the unavailable side) against the definition: a prefix is live for a user when the
    trie walk of some item available to them passes through it."""
    rng = np.random.default_rng(3)
    codes = np.unique(rng.integers(0, 4, (400, 3)), axis=0)
    codes = np.concatenate([np.zeros((1, 4), int), np.pad(codes, ((0, 0), (0, 1)))])  # padding row, collision code 0
    trie = SemanticIdTrie(codes, [4, 4, 4, 1])
    for unavailable in (0.0, 0.3, 0.95, 1.0):
        available = torch.from_numpy(rng.random((6, len(codes))) >= unavailable)
        available[:, 0] = False  # padding is never an item
        live = trie.live_prefixes(available)
        want = [torch.zeros_like(level) for level in live]
        for user, item in available.nonzero().tolist():
            node = 0
            for level, code in enumerate(codes[item, :-1].tolist()):
                node = int(trie.step(level, torch.tensor(node))[code])
                want[level][user, node] = True
        for level, (got, expected) in enumerate(zip(live, want, strict=True)):
            assert torch.equal(got, expected), (unavailable, level)
