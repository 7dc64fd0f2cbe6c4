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


def test_raw_ids_round_trip_through_a_renumbered_model(ranker: Ranker, tmp_path: Path) -> None:
    """The same weights and codes with the items renumbered in the events (as Taobao's or a subset's are): given
    raw ids, the model ranks exactly what the plain model ranks for the matching indices, answered in raw ids."""
    raw = 10**12 + np.random.default_rng(3).permutation(NUM_ITEMS) * 7  # index i is raw[i - 1]
    loaded = artifacts.load(tiny_model_dir(tmp_path / "renumbered", NUM_ITEMS, raw_ids=raw))
    unknown: list[int] = []
    renumbered = Ranker(loaded, make_runtime("torch", loaded), beam=15, on_unknown=unknown.append)
    histories = [np.array([5, 6, 7]), np.array([], dtype=np.int64), np.array([8, 9, 120])]
    excludes = [np.zeros(0, dtype=np.int64), np.array([300, 299]), np.array([42])]
    plain = ranker.rank([RankInput(h, x) for h, x in zip(histories, excludes)])
    as_raw = renumbered.rank([RankInput(np.append(raw[h - 1], 5), raw[x - 1]) for h, x in zip(histories, excludes)])
    for want, got in zip(plain, as_raw):
        assert got.source == want.source and got.items.tolist() == raw[want.items - 1].tolist()
        np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5)
    assert unknown == [1, 1, 1]  # raw id 5 is no item of the renumbered model
    assert not {int(raw[i - 1]) for i in (300, 299)} & set(as_raw[1].items.tolist())


def test_the_intent_channel_takes_each_tagged_category_in_turn(ranker: Ranker) -> None:
    """Tiny model: popularity = item id, category = id mod 10. Category 3 then 7, most popular first, unseen."""
    items, scores = ranker.intent([3, 7, 3], np.array([293, 297, 10**12]), 5)
    assert items.tolist() == [283, 287, 273, 277, 263] and scores.tolist() == [283, 287, 273, 277, 263]
    assert ranker.intent([42], np.zeros(0, dtype=np.int64), 5)[0].tolist() == []  # a category without items
    assert ranker.intent([], np.zeros(0, dtype=np.int64), 5)[0].tolist() == []
    assert len(ranker.intent([1], np.zeros(0, dtype=np.int64), 100)[0]) == 30  # all of category 1, then it stops


def test_a_hybrid_model_reads_the_stored_codes_written_under_its_own_table(tmp_path: Path) -> None:
    """The stored codes of other items than the raw ids (a writer's lookup never disagrees; here it must, to tell
    which one was read): under the model's table version the ranking follows the codes, under another the ids."""
    raw = 10**9 + np.arange(1, NUM_ITEMS + 1)  # index i is raw id 10^9 + i
    loaded = artifacts.load(tiny_model_dir(tmp_path / "hybrid", NUM_ITEMS, raw_ids=raw, hybrid=True))
    hybrid = Ranker(loaded, make_runtime("torch", loaded), beam=15)
    ids, other = np.array([5, 6, 7, 8, 9, 10, 11]), np.array([50, 60, 70, 80, 90, 100, 110])
    codes = loaded.items.codes[other].astype(np.uint8).tobytes()
    version = loaded.items.version
    by_codes, stale, by_other_ids = hybrid.rank([RankInput(raw[ids - 1], sid_codes=codes, sid_version=version),
                                                 RankInput(raw[ids - 1], sid_codes=codes, sid_version="0" * 16),
                                                 RankInput(raw[other - 1])])  # fmt: skip
    by_ids = hybrid.rank([RankInput(raw[ids - 1])])[0]
    assert by_codes.items.tolist() == by_other_ids.items.tolist() != by_ids.items.tolist()
    assert stale.items.tolist() == by_ids.items.tolist()
    unknown = b"\xff" * 4 + codes[4:]  # an item the writer's table did not hold: ignored, as an unknown raw id is
    assert hybrid.rank([RankInput(raw[ids - 1], sid_codes=unknown, sid_version=version)])[0].history_used == len(ids) - 1
