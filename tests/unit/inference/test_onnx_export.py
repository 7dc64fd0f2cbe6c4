"""Reference vs cached vs exported: the decoder's cached steps equal the teacher-forced pass, and the ONNX graphs
equal PyTorch at shapes other than the export shapes, for the raw and the hybrid input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from inference.generative import GenerativeRetrieval, GRConfig
from inference.latent_reasoning import ReasoningConfig
from inference.onnx_export import export


@pytest.fixture(scope="module", params=["none", "plr"])
def model(request: pytest.FixtureRequest) -> GenerativeRetrieval:
    """The raw-input model, and the same with parallel latent reasoning (its stream tokens join the memory)."""
    torch.manual_seed(0)
    codes = torch.randint(0, 8, (101, 4))
    codes[:, 3] %= 4
    codes[0] = 0
    reasoning = ReasoningConfig(request.param, streams=2, depth=2)
    return GenerativeRetrieval(codes, [8, 8, 8, 4], GRConfig(dim=32, heads=2, ffn=64, max_length=10, reasoning=reasoning)).eval()


@pytest.fixture(scope="module")
def history() -> torch.Tensor:
    history = torch.randint(1, 101, (5, 7))
    history[:, :3] = 0
    history[0, :] = 0  # an all-padding row
    history[0, -1] = 9
    return history


def steps(model: GenerativeRetrieval, memory: torch.Tensor, history: torch.Tensor, prefix: torch.Tensor) -> list:
    """Logits at every position of (N, W, l) prefixes through first_step/next_step, the cache shared per request."""
    n, w, length = prefix.shape
    logits, cache = model.first_step(memory, history)
    out = [logits.repeat_interleave(w, 0)]
    parents = torch.arange(n).repeat_interleave(w)  # every beam continues its request's BOS row
    for level in range(length):
        logits, cache = model.next_step(memory, history, prefix[..., level], level, cache, parents)
        out.append(logits)
        parents = torch.arange(n * w)
    return out


def level_slice(model: GenerativeRetrieval, logits: torch.Tensor, level: int) -> torch.Tensor:
    start = sum(model.vocab_sizes[:level])
    return logits[:, start : start + model.vocab_sizes[level]]


@torch.no_grad()
def test_cached_steps_equal_the_teacher_forced_decoder(model: GenerativeRetrieval, history: torch.Tensor) -> None:
    memory = model.encode(history)[0]
    prefix = torch.randint(0, 4, (5, 3, 3))
    want = model.decode(memory, model.memory_mask(history), prefix)
    for position, got in enumerate(steps(model, memory, history, prefix)):
        torch.testing.assert_close(got, level_slice(model, want[:, position], position), atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_onnx_graphs_match_torch_at_new_shapes(model: GenerativeRetrieval, history: torch.Tensor, tmp_path: Path) -> None:
    encoder, first, step = (ort.InferenceSession(str(p)) for p in export(model, tmp_path))
    memory = model.encode(history)[0]
    np.testing.assert_allclose(encoder.run(None, {"history": history.numpy()})[0], memory.numpy(), atol=1e-5)
    feed = {"memory": memory.numpy(), "history": history.numpy()}
    logits, cache = model.first_step(memory, history)
    got_logits, got_cache = first.run(None, feed)
    np.testing.assert_allclose(got_logits, logits.numpy(), atol=1e-5)
    for level, width in ((0, 6), (1, 4), (2, 2)):  # widths differ from the export's
        rows = len(cache)
        codes = torch.randint(0, 4, (5, width))
        parents = torch.randint(0, cache.shape[1], (5 * width,))
        logits, next_cache = model.next_step(memory, history, codes, level, cache, parents)
        got = step.run(None, feed | {"codes": codes.numpy(), "level": np.array(level), "cache": cache.numpy(),
                                     "parents": parents.numpy()})  # fmt: skip
        np.testing.assert_allclose(got[0], logits.numpy(), atol=1e-5)
        np.testing.assert_allclose(got[1], next_cache.numpy(), atol=1e-5)
        assert len(next_cache) == rows
        cache = next_cache


@torch.no_grad()
def test_hybrid_input_is_fixed_size_and_decodes_like_the_raw_input(history: torch.Tensor) -> None:
    """The hybrid encoder reads K + m tokens at any history length, and its cached decoder steps equal the
    teacher-forced pass (the same decoder contract as the raw input)."""
    model = hybrid_model(3)
    for length in (2, 7, 30):
        memory, mask = model.encode(torch.randint(1, 101, (5, length)))
        assert memory.shape == (5, 7, 32) and mask.shape == (5, 1, 1, 7)
    memory = model.encode(history)[0]
    torch.testing.assert_close(model.memory_mask(history), model.encode(history)[1])
    prefix = torch.randint(0, 4, (5, 2, 3))
    want = model.decode(memory, model.memory_mask(history), prefix)
    for position, got in enumerate(steps(model, memory, history, prefix)):
        torch.testing.assert_close(got, level_slice(model, want[:, position], position), atol=1e-5, rtol=1e-5)


def hybrid_model(recent: int, seed: int = 1) -> GenerativeRetrieval:
    torch.manual_seed(seed)
    codes = torch.randint(0, 8, (101, 4))
    codes[:, 3] %= 4
    codes[0] = 0
    config = GRConfig(dim=32, heads=2, ffn=64, max_length=30, hybrid_slots=4, hybrid_recent=recent)
    return GenerativeRetrieval(codes, [8, 8, 8, 4], config).eval()


@torch.no_grad()
def test_hybrid_slots_pool_older_items_by_first_code_with_decaying_weight() -> None:
    """The hybrid tokens against the definition, item by item: slot = first code mod K, weight decay ** (distance
    from the recent window), the slot's token the weighted mean of its items' code embeddings + the slot's own."""
    model, k, m = hybrid_model(3), 4, 3
    history = torch.randint(1, 101, (3, 12))
    history[0, :9] = 0  # no older items
    history[1, :4] = 0
    tokens, padding = model.hybrid_tokens(history)
    embed = model.code_embeddings(model.codes + model.offsets).sum(-2)  # (items, D): an item's codes only
    for row in range(3):
        older = [(int(item), len(history[row]) - m - column) for column, item in enumerate(history[row, :-m]) if item]
        for slot in range(k):
            members = [(item, 0.9**age) for item, age in older if int(model.codes[item, 0]) % k == slot]
            assert bool(padding[row, slot]) == (not members)
            if members:
                pooled = sum(weight * embed[item] for item, weight in members) / sum(weight for _, weight in members)
                torch.testing.assert_close(tokens[row, slot], pooled + model.slots.weight[slot])


@pytest.mark.parametrize("recent", [3, 5])  # 5: the full preset's m, longer than the export's 4-item history
@torch.no_grad()
def test_hybrid_encoder_onnx_matches_torch_at_any_history_length(recent: int, tmp_path: Path) -> None:
    model = hybrid_model(recent)
    encoder = ort.InferenceSession(str(export(model, tmp_path)[0]))
    for length in (1, 4, 6, 12, 30):
        history = torch.randint(1, 101, (3, length))
        history[0, : length // 2] = 0
        got = encoder.run(None, {"history": history.numpy()})[0]
        np.testing.assert_allclose(got, model.encode(history)[0].numpy(), atol=1e-5, err_msg=f"history length {length}")
