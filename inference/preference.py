"""Listwise DPO (RankGR's initial assessment phase): the GR model learns a partial order of tiers of items.

Implicit reward r(y) = β · (log π_θ(y|x) − log π_ref(y|x)) against a frozen reference (the NTP checkpoint).
Tiered softmax-DPO (MODEL_SPEC.md §2.3): every item of a tier must beat all items of the lower tiers,
L = − Σ_g Σ_{y ∈ Y_g} log[ exp r(y) / (exp r(y) + Σ_{y' in lower tiers} exp r(y')) ].
"""

from __future__ import annotations

import torch
from torch import Tensor


def listwise_dpo_loss(policy: Tensor, reference: Tensor, tiers: Tensor, beta: float) -> Tensor:
    """policy, reference: (B, C) sequence log-probs; tiers: (B, C) ints, higher = preferred, -1 = no candidate.
    Mean over examples of the sum over preferred items."""
    reward = beta * (policy - reference)
    loss = torch.zeros((), device=policy.device)
    for tier in tiers.unique().tolist():
        above = tiers == tier
        lower = (tiers >= 0) & (tiers < tier)
        if tier < 0 or not lower.any():
            continue
        lower_lse = reward.masked_fill(~lower, -torch.inf).logsumexp(dim=1, keepdim=True)
        term = -(reward - torch.logaddexp(reward, lower_lse))
        loss = loss + term.masked_fill(~above | ~lower.any(1, keepdim=True), 0.0).sum()
    return loss / len(tiers)
