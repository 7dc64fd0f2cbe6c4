"""Ranker: unknown items ignored, cold users get popularity, the user's history and exclusions never come back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference import artifacts
from inference.runtimes import make_runtime
from inference.serving.ranker import GENERATIVE, POPULAR, Ranker, RankInput
from inference.testing import tiny_model_dir

NUM_ITEMS = 300


@pytest.fixture(scope="module")
def ranker(tmp_path_factory: pytest.TempPathFactory) -> Ranker:
    loaded = artifacts.load(tiny_model_dir(Path(tmp_path_factory.mktemp("models")) / "tiny", NUM_ITEMS))
    return Ranker(loaded, make_runtime("torch", loaded), beam=15)


def test_a_batch_mixes_warm_and_cold_users(ranker: Ranker) -> None:
    inputs = [
        RankInput(np.array([5, 6, 7])),
        RankInput(np.array([], dtype=np.int64)),  # no history
        RankInput(np.array([10**12, -3, 0])),  # nothing the model knows
        RankInput(np.array([8, 10**12, 9]), np.array([300, 299, 42])),  # unknown item dropped; exclusions
    ]
    warm, empty, unknown, excluded = ranker.rank(inputs)
    assert (warm.source, warm.history_used, len(warm.items)) == (GENERATIVE, 3, 15)
    assert not {5, 6, 7} & set(warm.items.tolist()) and np.all(np.diff(warm.scores) <= 0)
    assert (empty.source, unknown.source) == (POPULAR, POPULAR)
    assert empty.items[:3].tolist() == [300, 299, 298]  # popularity = item id in the tiny model
    assert (excluded.source, excluded.history_used) == (GENERATIVE, 2)
    assert not {8, 9, 300, 299, 42} & set(excluded.items.tolist())


def test_cold_fallback_skips_exclusions_and_stays_full(ranker: Ranker) -> None:
    cold = ranker.rank([RankInput(np.array([], dtype=np.int64), np.arange(290, 301))])[0]
    assert cold.source == POPULAR and cold.items.tolist() == list(range(289, 274, -1))
