"""Every runtime against the PyTorch reference: the same top-K items and scores within tolerance, end to end
(trie-constrained beam search + refined scorer), on a saved model directory."""

from __future__ import annotations

import pytest
import torch

from inference import artifacts
from inference.evaluation import seen_mask
from inference.gr_training import Retriever
from inference.runtimes import RUNTIMES, make_runtime
from inference.testing import tiny_model_dir

NUM_ITEMS = 300


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> artifacts.LoadedModel:
    return artifacts.load(tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny", NUM_ITEMS))


@pytest.mark.parametrize("name", [r for r in RUNTIMES if r != "torch"])
def test_runtime_matches_the_reference(loaded: artifacts.LoadedModel, name: str) -> None:
    generator = torch.Generator().manual_seed(1)
    history = torch.randint(1, NUM_ITEMS + 1, (9, 12), generator=generator)
    history[:3, :8] = 0  # short histories
    seen = seen_mask([h[h > 0].numpy() for h in history], NUM_ITEMS)
    reference = Retriever(loaded.model, loaded.trie, 20, loaded.scorer, loaded.gamma)
    runtime = Retriever(loaded.model, loaded.trie, 20, loaded.scorer, loaded.gamma, make_runtime(name, loaded))
    want_items, want_scores = reference.candidates(history, seen)
    got_items, got_scores = runtime.candidates(history, seen)
    assert torch.equal(got_items[:, :10], want_items[:, :10])
    torch.testing.assert_close(got_scores, want_scores, atol=1e-4, rtol=1e-4)
    assert not seen.gather(1, got_items).any()  # the filters hold in every runtime
