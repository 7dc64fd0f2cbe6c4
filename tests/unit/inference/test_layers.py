"""The cheaper dropout keeps nn.Dropout's contract: identity in eval, drop rate p, survivors scaled by 1 / (1 - p),
gradients through the same mask, reproducible from the seed."""

from __future__ import annotations

import pytest
import torch

from inference.layers import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_drop_rate_and_scale(p: float) -> None:
    torch.manual_seed(0)
    layer = Dropout(p).train()
    x = torch.ones(1_000, 1_001)  # odd element count: the last pair of 16-bit draws is half used
    y = layer(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 0.005
    assert torch.allclose(y[y != 0], torch.tensor(1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 0.01  # expectation preserved


def test_identity_in_eval_and_at_zero() -> None:
    x = torch.randn(8, 16)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="not in"):
        Dropout(1.0)


def test_gradient_follows_the_mask_and_seed_reproduces() -> None:
    layer = Dropout(0.3).train()
    x = torch.randn(64, 33, requires_grad=True)
    torch.manual_seed(7)
    y = layer(x)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad, kept.float() / 0.7)
    torch.manual_seed(7)
    assert torch.equal(layer(x.detach()), y.detach())


def test_keeps_dtype() -> None:
    x = torch.randn(4, 5, dtype=torch.bfloat16)
    assert Dropout(0.2).train()(x).dtype == torch.bfloat16
