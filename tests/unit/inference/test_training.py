import numpy as np
import pytest
import torch
from torch import nn

from inference.training import TrainConfig, fit, learning_rate_schedule


def _rates(schedule: str, steps: int) -> list[float]:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = learning_rate_schedule(optimizer, TrainConfig(lr=0.1, schedule=schedule), steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates + [optimizer.param_groups[0]["lr"]]


def test_the_constant_schedule_keeps_the_rate() -> None:
    assert _rates("constant", 10) == [0.1] * 11


def test_the_cosine_schedule_falls_from_the_rate_to_zero_at_the_last_step() -> None:
    rates = _rates("cosine", 10)
    assert rates[0] == pytest.approx(0.1)
    assert rates[5] == pytest.approx(0.05)
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_an_unknown_schedule_is_refused() -> None:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="cosine"):
        learning_rate_schedule(optimizer, TrainConfig(schedule="linear"), 10)


def test_fit_steps_the_schedule_once_per_batch() -> None:
    """Trained by `fit` for its whole budget, a parameter pulled towards 1 by SGD-like steps moves by the rates
    summed: with the cosine schedule about half of what the constant rate moves it."""
    moved = {}
    for schedule in ("constant", "cosine"):
        model = nn.Linear(1, 1, bias=False)
        nn.init.zeros_(model.weight)

        def loss_of(indices: np.ndarray, model: nn.Module = model) -> torch.Tensor:
            return -model.weight.sum()  # a constant gradient: Adam moves the weight by the rate each step

        fit(model, loss_of, np.ones(40, dtype=np.int64), lambda: {"ndcg@10": 0.0},
            TrainConfig(epochs=5, batch_size=10, lr=0.01, eval_every=5, schedule=schedule, bf16=False),
            "test", torch.device("cpu"))  # fmt: skip
        moved[schedule] = float(model.weight.detach())
    assert moved["constant"] == pytest.approx(0.2, rel=1e-3)  # 20 steps of 0.01
    assert moved["cosine"] == pytest.approx(0.1, rel=0.1)
