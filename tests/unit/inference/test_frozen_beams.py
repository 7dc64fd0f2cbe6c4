"""Re-ranking the cached beams of a frozen GR model gives exactly what a fresh search + re-rank gives, and searches
each batch of users once however many scorers and γs are evaluated on it; the fusion stage picks the dense ranker
that ranks validation's targets best."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference import retriever
from inference.evaluation import evaluate, seen_mask, top_k_unseen
from inference.fusion import Fusion, FusionWeights
from inference.gr_training import FrozenBeams, choose_fusion
from inference.refined_scorer import RefinedScorer
from inference.retriever import Retriever
from inference.sequences import pad_left
from tests.unit.inference.test_beam_search import NUM_ITEMS, setup
from tests.unit.inference.test_fusion import sasrec


def test_same_rankings_one_search_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    model, trie = setup()
    torch.manual_seed(1)
    scorer = RefinedScorer(32, heads=2, hidden=16).eval()
    rng = np.random.default_rng(0)
    histories = [rng.integers(1, NUM_ITEMS + 1, rng.integers(1, 12)) for _ in range(40)]
    targets = rng.integers(1, NUM_ITEMS + 1, 40)
    searches = []
    real = retriever.beam_search
    monkeypatch.setattr(retriever, "beam_search", lambda *a: searches.append(1) or real(*a))
    beams = FrozenBeams(model, trie, beam=15)
    for gamma in (None, 0.0, 1.0, 3.0):
        chosen = None if gamma is None else scorer
        weight = None if gamma is None else torch.tensor(gamma)
        cached = beams.recommender(chosen, weight)
        fresh = Retriever(model, trie, 15, chosen, weight).recommend
        for start in range(0, 40, 16):
            chunk = histories[start : start + 16]
            padded, seen = torch.from_numpy(pad_left(chunk, 10)), seen_mask(chunk, NUM_ITEMS)
            assert torch.equal(cached(padded, seen), fresh(padded, seen))
        assert evaluate(cached, histories, targets, NUM_ITEMS, 10, 16) == evaluate(fresh, histories, targets, NUM_ITEMS, 10, 16)
    fresh_searches = 4 * (3 + 3)  # per gamma: the chunk loop and evaluate, 3 batches each
    assert len(searches) == fresh_searches + 3  # the cached recommenders searched the 3 batches once, in all


def test_the_fusion_stage_picks_the_dense_ranker_whose_top_item_is_the_target() -> None:
    model, trie = setup()
    cf = sasrec()
    rng = np.random.default_rng(2)
    histories = [rng.integers(1, NUM_ITEMS + 1, rng.integers(1, 10)) for _ in range(40)]
    padded, seen = torch.from_numpy(pad_left(histories, 10)), seen_mask(histories, NUM_ITEMS)
    for dense, ranker in (("item-head", None), ("CE-SASRec", cf)):
        log_probs = Fusion(FusionWeights(), ranker).log_probs(model, model.encode(padded)[0], padded, seen)
        targets = top_k_unseen(log_probs, seen, 1)[:, 0].numpy()
        fusion, report = choose_fusion(FrozenBeams(model, trie, 15), None, cf, True, 10, histories, targets, NUM_ITEMS, 10)
        assert (fusion.dense, report["dense"], set(report["rankers"])) == (dense, dense, {"item-head", "CE-SASRec"})
        ndcg = {name: row["ndcg@10"] for name, row in report["rankers"].items()}
        assert ndcg[dense] == 1.0 > min(ndcg.values())
        assert fusion.sasrec is ranker and fusion.weights.dense > 0
    without_head = choose_fusion(FrozenBeams(model, trie, 15), None, cf, False, 10, histories, targets, NUM_ITEMS, 10)[1]
    assert set(without_head["rankers"]) == {"CE-SASRec"}
    with pytest.raises(ValueError, match="no dense ranker"):
        choose_fusion(FrozenBeams(model, trie, 15), None, None, False, 10, histories, targets, NUM_ITEMS, 10)
