"""Listwise DPO: zero-reference checks against the pairwise DPO formula, and the direction of its gradient."""

from __future__ import annotations

import math

import torch

from inference.preference import listwise_dpo_loss


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
