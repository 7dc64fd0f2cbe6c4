"""Every runtime against the PyTorch reference: the same top-K items and scores within tolerance, end to end
(trie-constrained beam search + refined scorer), on a saved model directory."""

from __future__ import annotations

import json

import pytest
import torch

from inference import artifacts
from inference.evaluation import seen_mask
from inference.onnx_export import EXPORT_VERSION, STAMP
from inference.retriever import Retriever
from inference.runtimes import make_runtime
from inference.testing import tiny_model_dir

NUM_ITEMS = 300


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> artifacts.LoadedModel:
    return artifacts.load(tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny", NUM_ITEMS))


def candidates(loaded: artifacts.LoadedModel, name: str) -> tuple[torch.Tensor, ...]:
    """(seen, reference items, reference scores, runtime items, runtime scores) for nine histories."""
    generator = torch.Generator().manual_seed(1)
    history = torch.randint(1, NUM_ITEMS + 1, (9, 12), generator=generator)
    history[:3, :8] = 0  # short histories
    seen = seen_mask([h[h > 0].numpy() for h in history], NUM_ITEMS)
    reference = Retriever(loaded.model, loaded.trie, 20, loaded.scorer, loaded.gamma)
    runtime = Retriever(loaded.model, loaded.trie, 20, loaded.scorer, loaded.gamma, make_runtime(name, loaded))
    return seen, *reference.candidates(history, seen), *runtime.candidates(history, seen)


def test_onnx_runtime_matches_the_reference(loaded: artifacts.LoadedModel) -> None:
    seen, want_items, want_scores, got_items, got_scores = candidates(loaded, "onnx")
    assert torch.equal(got_items[:, :10], want_items[:, :10])
    torch.testing.assert_close(got_scores, want_scores, atol=1e-4, rtol=1e-4)
    assert not seen.gather(1, got_items).any()  # the filters hold in every runtime


def test_quantized_runtime_stays_close_to_the_reference(loaded: artifacts.LoadedModel) -> None:
    """int8 moves scores by the quantization error: most of the reference top-10 stays in its top-20."""
    seen, want_items, want_scores, got_items, got_scores = candidates(loaded, "onnx-int8")
    kept = [len(set(w[:10].tolist()) & set(g[:20].tolist())) / 10 for w, g in zip(want_items, got_items)]
    assert sum(kept) / len(kept) >= 0.7, kept
    assert (got_scores[:, 0] - want_scores[:, 0]).abs().max() < 0.5
    assert not seen.gather(1, got_items).any()


def test_an_out_of_date_export_is_rebuilt(tmp_path_factory: pytest.TempPathFactory) -> None:
    loaded = artifacts.load(tiny_model_dir(tmp_path_factory.mktemp("models") / "stale", NUM_ITEMS))
    make_runtime("onnx", loaded)
    stamp = loaded.directory / "onnx" / STAMP
    stamp.write_text(json.dumps({"version": EXPORT_VERSION - 1}))
    (loaded.directory / "onnx" / "next_step.onnx").write_bytes(b"an older graph")
    runtime = Retriever(loaded.model, loaded.trie, 10, runtime=make_runtime("onnx", loaded))
    assert json.loads(stamp.read_text())["version"] == EXPORT_VERSION
    history = torch.randint(1, NUM_ITEMS + 1, (2, 12))
    runtime.candidates(history, seen_mask([h.numpy() for h in history], NUM_ITEMS))
