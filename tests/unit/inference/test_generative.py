"""The GR's auxiliary item loss: it scores the encoder's user state against every item's input vector, enters
next-token training with its weight, and is off (no term, no gradient into the unused id table) at weight 0; the
item head's table, kept between no-grad calls, follows every change of the embeddings."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inference.generative import GenerativeRetrieval, GRConfig
from inference.latent_reasoning import ReasoningConfig

SLOTS, RECENT = 4, 3


def hybrid_model(reasoning: ReasoningConfig, item_loss: float) -> GenerativeRetrieval:
    torch.manual_seed(0)
    codes = torch.randint(0, 8, (101, 4))
    codes[:, 3] %= 4
    codes[0] = 0
    config = GRConfig(dim=32, heads=2, ffn=64, max_length=12, hybrid_slots=SLOTS, hybrid_recent=RECENT,
                      reasoning=reasoning, item_loss=item_loss)  # fmt: skip
    return GenerativeRetrieval(codes, [8, 8, 8, 4], config).eval()


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    history = torch.randint(1, 101, (6, 10))
    history[:3, :5] = 0
    return history, torch.randint(1, 101, (6,))


@pytest.mark.parametrize("reasoning, user_index", [(ReasoningConfig(), SLOTS + RECENT - 1),  # the newest item
                                                   (ReasoningConfig("plr", streams=2), SLOTS + RECENT)])  # u
@torch.no_grad()
def test_item_loss_scores_the_user_state_against_every_item(reasoning: ReasoningConfig, user_index: int,
                                                            batch: tuple[torch.Tensor, torch.Tensor]) -> None:  # fmt: skip
    model = hybrid_model(reasoning, 1.0)
    history, targets = batch
    memory, _ = model.encode(history)
    items = model.code_embeddings(model.codes[1:] + model.offsets).sum(-2) + model.item_embeddings.weight[1:]
    expected = F.cross_entropy(memory[:, user_index] @ items.T, targets - 1)  # over items 1.., padding excluded
    torch.testing.assert_close(model.item_loss(memory, targets), expected)


@pytest.mark.parametrize("reasoning", [ReasoningConfig(), ReasoningConfig("plr", streams=2)])
def test_item_loss_enters_next_token_training_with_its_weight(reasoning: ReasoningConfig,
                                                              batch: tuple[torch.Tensor, torch.Tensor]) -> None:  # fmt: skip
    history, targets = batch
    off, on = hybrid_model(reasoning, 0.0), hybrid_model(reasoning, 0.5)
    on.load_state_dict(off.state_dict())
    with torch.no_grad():  # eval mode: no dropout, no reasoning terms, so the losses differ by the item term only
        memory, _ = off.encode(history)
        torch.testing.assert_close(on.ntp_loss(history, targets) - off.ntp_loss(history, targets),
                                   0.5 * off.item_loss(memory, targets))  # fmt: skip
    for model, reaches in ((off, False), (on, True)):
        model.zero_grad()
        model.ntp_loss(history, targets).backward()
        grad = model.item_embeddings.weight.grad  # the hybrid input reads codes only: the id table learns from this
        assert (grad is not None and bool(grad.abs().sum() > 0)) is reaches



def test_the_kept_item_table_follows_training_steps_and_loaded_weights(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model = hybrid_model(ReasoningConfig(), 1.0)
    history, targets = batch

    def fresh() -> torch.Tensor:
        return model.item_tokens(torch.arange(len(model.codes)))

    with torch.no_grad():
        kept = model.item_table()
        assert model.item_table() is kept and torch.equal(kept, fresh())
    optimiser = torch.optim.SGD(model.parameters(), lr=1.0)
    model.item_loss(model.encode(history)[0], targets).backward()
    optimiser.step()
    with torch.no_grad():
        assert not torch.equal(model.item_table(), kept) and torch.equal(model.item_table(), fresh())
        stepped = model.item_table()
    model.load_state_dict(hybrid_model(ReasoningConfig(), 1.0).state_dict())
    with torch.no_grad():
        assert torch.equal(model.item_table(), kept) and not torch.equal(model.item_table(), stepped)
