"""Listwise DPO: zero-reference checks against the pairwise DPO formula, the direction of its gradient, and the
tiered lists it learns from."""

from __future__ import annotations

import math

import numpy as np
import torch

from inference.gr_training import PreferenceConfig, make_pairs, preference_lists
from inference.preference import listwise_dpo_loss
from tests.unit.inference.test_beam_search import NUM_ITEMS, setup


def test_two_candidates_reduce_to_pairwise_dpo() -> None:
    policy, reference = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.5, -1.5]])
    loss = listwise_dpo_loss(policy, reference, torch.tensor([[1, 0]]), beta=0.5)
    margin = 0.5 * ((-1.0 + 1.5) - (-2.0 + 1.5))
    assert math.isclose(float(loss), -math.log(1 / (1 + math.exp(-margin))), rel_tol=1e-6)


def test_padding_and_top_tier_alone_add_nothing() -> None:
    policy = torch.tensor([[-1.0, -3.0, -9.0]])
    tiers = torch.tensor([[2, -1, -1]])
    assert float(listwise_dpo_loss(policy, policy.clone(), tiers, beta=1.0)) == 0.0


def test_gradient_raises_the_preferred_tier() -> None:
    policy = torch.zeros(1, 4, requires_grad=True)
    tiers = torch.tensor([[2, 1, 0, 0]])
    listwise_dpo_loss(policy, torch.zeros(1, 4), tiers, beta=1.0).backward()
    grad = policy.grad[0]
    assert grad[0] < 0 and grad[2] > 0 and grad[3] > 0  # descent raises tier 2, lowers tier 0


def test_lists_hold_the_tiered_positives_and_never_one_as_a_negative() -> None:
    model, trie = setup()
    histories = np.array([[0, 0, 3, 4], [1, 2, 3, 4]])
    positives, tiers = np.array([[5, 9, 0], [7, 0, 0]]), np.array([[2, 4, -1], [3, -1, -1]])
    pairs = make_pairs(histories, np.array([5, 7]), positives, tiers)
    config = PreferenceConfig(beam_negatives=30, random_negatives=2, window=3)
    lists, list_tiers, reference = preference_lists(model, trie, pairs, np.array([0, 1]), config, NUM_ITEMS,
                                                    np.random.default_rng(0), torch.device("cpu"))  # fmt: skip
    assert lists.shape == list_tiers.shape == reference.shape == (2, 3 + 30 + 2)
    assert lists[:, :3].tolist() == positives.tolist() and list_tiers[:, :3].tolist() == tiers.tolist()
    assert (list_tiers[:, 3:33] == 1).all() and (list_tiers[:, 33:] == 0).all()
    for row, chosen in enumerate(positives):
        beams = set(lists[row, 3:33].tolist())
        assert not beams & set(chosen[chosen > 0].tolist())
        assert not beams & set(histories[row][histories[row] > 0].tolist())
