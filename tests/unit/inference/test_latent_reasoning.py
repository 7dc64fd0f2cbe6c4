"""Latent reasoning (PLR, ReaRec): the cached stream steps equal a reference that recomputes the whole sequence, the
streams cannot see each other, the memory's mask covers the reasoning tokens, and the training terms act only in
training."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from inference.generative import GenerativeRetrieval, GRConfig
from inference.latent_reasoning import LatentReasoning, ReasoningConfig, info_nce
from inference.layers import key_mask
from inference.sasrec import SASRec, SASRecConfig


def gr_model(reasoning: ReasoningConfig, hybrid: bool = False) -> GenerativeRetrieval:
    torch.manual_seed(0)
    codes = torch.randint(0, 8, (101, 4))
    codes[:, 3] %= 4
    codes[0] = 0
    config = GRConfig(dim=32, heads=2, ffn=64, max_length=12, reasoning=reasoning,
                      hybrid_slots=4 if hybrid else 0, hybrid_recent=3 if hybrid else 0)  # fmt: skip
    return GenerativeRetrieval(codes, [8, 8, 8, 4], config).eval()


@pytest.fixture
def history() -> torch.Tensor:
    torch.manual_seed(1)
    history = torch.randint(1, 101, (4, 9))
    history[:2, :4] = 0
    return history


def reference_streams(model: GenerativeRetrieval, history: torch.Tensor) -> list[torch.Tensor]:
    """The streams without any cache: every step reruns the encoder over [history, all stream inputs so far] with
    one explicit mask (history attends to the history; a stream token to the history and its own stream's tokens up
    to its step). -> each step's normed states (B, M, D)."""
    reasoning = model.reasoning
    assert reasoning is not None
    b, length = history.shape
    start = model.config.max_length - length
    x_history = model.item_tokens(history) + model.positions(torch.arange(length) + start)
    padding = key_mask(history == 0)  # (B, 1, 1, T)
    h = x_history
    for block in model.encoder:
        h = block(h, padding)
    state = model.encoder_norm(h)[:, -1][:, None].expand(b, reasoning.width, -1)
    inputs, states = [], []
    for step in range(reasoning.config.depth):
        x = reasoning.input_norm(state) + reasoning.steps[step]
        if step == 0 and reasoning.triggers is not None:
            x = x + reasoning.triggers
        inputs.append(x)
        sequence = torch.cat([x_history, *inputs], dim=1)
        n, m = sequence.shape[1], reasoning.width
        stream_of = torch.cat([torch.full((length,), -1), torch.arange(m * (step + 1)) % m])
        step_of = torch.cat([torch.full((length,), -1), torch.arange(m * (step + 1)) // m])
        allowed = (stream_of[None, :] == stream_of[:, None]) & (step_of[None, :] <= step_of[:, None])
        allowed[:, :length] = True  # everything sees the history (its padding masked below)
        allowed[:length, length:] = False  # the history does not see the streams
        mask = allowed[None, None] & torch.cat([padding, torch.ones(b, 1, 1, n - length, dtype=torch.bool)], dim=-1)
        h = sequence
        for block in model.encoder:
            h = block(h, mask)
        state = model.encoder_norm(h)[:, -m:]
        states.append(state)
    return states


@pytest.mark.parametrize("mode", ["plr", "erl", "prl"])
@torch.no_grad()
def test_cached_streams_equal_the_recomputed_reference(mode: str, history: torch.Tensor) -> None:
    model = gr_model(ReasoningConfig(mode, streams=3, depth=2))
    want = reference_streams(model, history)
    memory = model.encode(history)[0]
    tokens = memory[:, history.shape[1] :]
    assert tokens.shape[1] == model.config.reasoning.tokens
    if mode == "plr":  # u, then each stream's mean over its steps
        torch.testing.assert_close(tokens[:, 1:], torch.stack(want).mean(0), atol=1e-5, rtol=1e-5)
    else:  # u, then each step's state of the one stream
        torch.testing.assert_close(tokens[:, 1:], torch.cat(want, dim=1), atol=1e-5, rtol=1e-5)
        h0 = memory[:, history.shape[1] - 1]
        user = torch.cat([h0[:, None], *want], 1).mean(1) if mode == "erl" else want[-1][:, 0]
        torch.testing.assert_close(tokens[:, 0], user, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_streams_do_not_see_each_other(history: torch.Tensor) -> None:
    model = gr_model(ReasoningConfig("plr", streams=2, depth=2))
    assert model.reasoning is not None and model.reasoning.triggers is not None
    before = model.encode(history)[0]
    model.reasoning.triggers[1] += torch.randn(32)  # not a constant: the blocks' LayerNorm would cancel it
    after = model.encode(history)[0]
    t = history.shape[1]
    # memory: [history (t), u, stream 0, stream 1]; the history and stream 0 unchanged
    torch.testing.assert_close(after[:, :t], before[:, :t])
    torch.testing.assert_close(after[:, t + 1], before[:, t + 1])
    assert not torch.allclose(after[:, t + 2], before[:, t + 2])  # stream 1 moved
    assert not torch.allclose(after[:, t], before[:, t])  # and so did the gated user state


@pytest.mark.parametrize("hybrid", [False, True])
@torch.no_grad()
def test_memory_mask_covers_the_reasoning_tokens(hybrid: bool, history: torch.Tensor) -> None:
    model = gr_model(ReasoningConfig("plr", streams=2, depth=1), hybrid=hybrid)
    memory, mask = model.encode(history)
    torch.testing.assert_close(model.memory_mask(history), mask)
    assert mask.shape[-1] == memory.shape[1]
    assert mask[..., -model.config.reasoning.tokens :].all()


def test_training_terms_act_in_training_only(history: torch.Tensor) -> None:
    model = gr_model(ReasoningConfig("plr", streams=2, depth=1, regulariser=0.5, contrastive=0.5))
    model.train()
    _, _, aux = model.encode_with_loss(history)
    assert aux > 0
    aux.backward()
    assert model.reasoning is not None and model.reasoning.triggers is not None
    assert model.reasoning.triggers.grad is not None and model.reasoning.triggers.grad.abs().sum() > 0
    model.eval()
    assert model.encode_with_loss(history)[2] == 0
    off = gr_model(ReasoningConfig("plr", streams=2, depth=1, regulariser=0.0, contrastive=0.0)).train()
    assert off.encode_with_loss(history)[2] == 0


def test_info_nce_prefers_aligned_pairs() -> None:
    torch.manual_seed(0)
    a = torch.randn(16, 8)
    assert info_nce(a, a, 0.2) < info_nce(a, torch.randn(16, 8), 0.2)


def test_config_round_trips_through_saved_settings_and_rejects_nonsense() -> None:
    config = GRConfig(dim=32, reasoning=ReasoningConfig("plr", streams=4, depth=2, regulariser=0.3))
    assert GRConfig(**asdict(config)) == config
    assert SASRecConfig(**asdict(SASRecConfig(reasoning=ReasoningConfig("prl", depth=2)))).reasoning.depth == 2
    with pytest.raises(ValueError, match="unknown reasoning mode"):
        ReasoningConfig("deep")
    with pytest.raises(ValueError, match="at least one stream"):
        ReasoningConfig("plr", streams=0)
    with pytest.raises(ValueError, match="needs a reasoning mode"):
        LatentReasoning(8, ReasoningConfig())


def test_sasrec_reasons_from_its_last_position(history: torch.Tensor) -> None:
    torch.manual_seed(0)
    plain = SASRec(100, SASRecConfig(dim=16, max_length=12, dropout=0.1))
    reasoning = SASRec(100, SASRecConfig(dim=16, max_length=12, dropout=0.1, reasoning=ReasoningConfig("plr", depth=2)))
    reasoning.load_state_dict(plain.state_dict(), strict=False)  # the same backbone
    targets = torch.randint(1, 101, history.shape)
    reasoning.train()
    loss = reasoning.loss(history, targets)
    loss.backward()
    assert reasoning.reasoning is not None and reasoning.reasoning.triggers is not None
    assert reasoning.reasoning.triggers.grad is not None
    reasoning.eval(), plain.eval()
    user = reasoning.user_state(history)
    assert user.shape == (len(history), 16)
    assert not torch.allclose(user, plain.user_state(history))  # the same backbone, reasoned further
    scores = reasoning.scores(history)
    assert scores.shape == (len(history), 101) and torch.isinf(scores[:, 0]).all()


@torch.no_grad()
def test_every_position_reasons_over_only_the_history_it_may_see(history: torch.Tensor) -> None:
    """CE-SASRec trains reasoning at every position at once: position t's user state does not move when the items
    after t change, and the last position's is the one that scores."""
    torch.manual_seed(0)
    model = SASRec(100, SASRecConfig(dim=16, max_length=12, reasoning=ReasoningConfig("plr", depth=2))).eval()
    assert model.reasoning is not None

    def users(h: torch.Tensor) -> torch.Tensor:
        hidden, keys, mask = model._encode(h)
        return model.reasoning(model.blocks, model.norm, keys, mask, hidden)[1]

    before = users(history)
    changed = history.clone()
    changed[:, 6:] = torch.randint(1, 101, changed[:, 6:].shape)
    after = users(changed)
    torch.testing.assert_close(after[:, :6], before[:, :6])
    assert not torch.allclose(after[:, 6:], before[:, 6:])
    torch.testing.assert_close(before[:, -1], model.user_state(history), atol=1e-5, rtol=1e-5)
