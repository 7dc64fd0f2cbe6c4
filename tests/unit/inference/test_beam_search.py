"""Constrained beam search returns only valid, unseen items, ranked by the model's own sequence log-probability; the
step contract's teacher forcing (`step_log_prob`) equals the reference's one-pass `sequence_log_prob`."""

from __future__ import annotations

import numpy as np
import torch

from inference.beam_search import beam_search, step_log_prob
from inference.evaluation import seen_mask
from inference.generative import GenerativeRetrieval, GRConfig
from inference.semantic_ids import residual_kmeans
from inference.trie import SemanticIdTrie

NUM_ITEMS = 200


def setup(seed: int = 0) -> tuple[GenerativeRetrieval, SemanticIdTrie]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sid = residual_kmeans(np.concatenate([np.zeros((1, 6)), rng.normal(size=(NUM_ITEMS, 6))]), codebook_size=8)
    vocab = [8, 8, 8, sid.collision_size]
    model = GenerativeRetrieval(torch.from_numpy(sid.codes), vocab, GRConfig(dim=32, heads=2, ffn=64, max_length=10))
    return model.eval(), SemanticIdTrie(sid.codes, vocab)


def test_only_valid_unseen_items_in_score_order() -> None:
    model, trie = setup()
    rng = np.random.default_rng(1)
    histories = [rng.integers(1, NUM_ITEMS + 1, rng.integers(1, 10)) for _ in range(16)]
    padded = torch.zeros(16, 10, dtype=torch.long)
    for i, h in enumerate(histories):
        padded[i, 10 - len(h) :] = torch.from_numpy(h)
    seen = seen_mask(histories, NUM_ITEMS)
    items, scores, _ = beam_search(model, trie, padded, seen, beam=20)
    assert items.shape == (16, 20)
    assert ((items >= 1) & (items <= NUM_ITEMS)).all()
    assert not seen.gather(1, items).any()
    assert all(len(set(row)) == 20 for row in items.tolist())
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    memory, mask = model.encode(padded)
    exact = model.sequence_log_prob(memory, mask, items)
    torch.testing.assert_close(scores, exact, atol=1e-4, rtol=1e-4)


def test_beam_finds_the_best_item_when_wide_enough() -> None:
    model, trie = setup(2)
    history = torch.tensor([[0] * 7 + [3, 5, 7]])
    seen = seen_mask([np.array([3, 5, 7])], NUM_ITEMS)
    memory, mask = model.encode(history)
    all_items = torch.arange(1, NUM_ITEMS + 1)[None]
    exact = model.sequence_log_prob(memory, mask, all_items).masked_fill(seen[:, 1:], -torch.inf)
    items, _, _ = beam_search(model, trie, history, seen, beam=NUM_ITEMS)
    assert int(items[0, 0]) == int(exact.argmax()) + 1


def test_fewer_valid_items_than_beams_leaves_empty_slots() -> None:
    model, trie = setup()
    history = torch.tensor([[1, 2]])
    seen = torch.ones(1, NUM_ITEMS + 1, dtype=torch.bool)
    seen[0, 10] = False
    items, scores, _ = beam_search(model, trie, history, seen, beam=5)
    assert int(items[0, 0]) == 10 and torch.isinf(scores[0, 1:]).all() and (items[0, 1:] == 0).all()


def test_step_log_prob_equals_the_reference_teacher_forcing() -> None:
    model, trie = setup(3)
    rng = np.random.default_rng(3)
    history = torch.from_numpy(rng.integers(0, NUM_ITEMS + 1, (6, 10)))
    items = torch.from_numpy(rng.integers(1, NUM_ITEMS + 1, (6, 7)))
    memory, mask = model.encode(history)
    stepped = step_log_prob(model, memory, history, model.codes[items])
    assert stepped.shape == (6, 7) and stepped.lt(0).all()
    torch.testing.assert_close(stepped, model.sequence_log_prob(memory, mask, items), atol=1e-5, rtol=1e-5)
