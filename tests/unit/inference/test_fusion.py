"""The fusion of the GR with a dense ranker (CE-SASRec, or the GR's own item head): with the dense weight 0 and
nothing joined it ranks exactly as the GR (by log π, or refined score + γ · log π); with the GR's weight 0 its top-10
is the dense ranker's own; joined items are unseen and not beams, their log π is the search's; validation chooses
the weights that rank best."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.beam_search import beam_search
from inference.evaluation import seen_mask, top_k_unseen
from inference.fusion import DENSE, Candidates, Fusion, FusionWeights, choose_weights
from inference.refined_scorer import RefinedScorer
from inference.retriever import Retriever
from inference.sasrec import SASRec, SASRecConfig
from inference.sequences import pad_left, trim_left
from tests.unit.inference.test_beam_search import NUM_ITEMS, setup


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(3)
    histories = [rng.integers(1, NUM_ITEMS + 1, rng.integers(1, 10)) for _ in range(24)]
    return torch.from_numpy(pad_left(histories, 10)), seen_mask(histories, NUM_ITEMS)


def sasrec() -> SASRec:
    torch.manual_seed(5)
    return SASRec(NUM_ITEMS, SASRecConfig(dim=16, max_length=10)).eval()


def ranker(dense: str) -> SASRec | None:
    """The `Fusion` argument for a dense ranker's name: CE-SASRec, or None for the GR's own item head."""
    return sasrec() if dense == "CE-SASRec" else None


@pytest.mark.parametrize("dense", DENSE)
def test_without_dense_weight_it_ranks_as_the_gr(batch: tuple[torch.Tensor, torch.Tensor], dense: str) -> None:
    model, trie = setup()
    scorer = RefinedScorer(32, heads=2, hidden=16).eval()
    for plain, weights in ((Retriever(model, trie, 15), FusionWeights(0.0, 1.0, 0.0, 0)),
                           (Retriever(model, trie, 15, scorer, torch.tensor(0.7)), FusionWeights(1.0, 0.7, 0.0, 0))):  # fmt: skip
        fused = Retriever(model, trie, 15, plain.scorer, fusion=Fusion(weights, ranker(dense)))
        expected, got = plain.candidates(*batch), fused.candidates(*batch)
        assert torch.equal(expected[0], got[0])
        assert torch.allclose(expected[1], got[1], atol=1e-5)


def test_without_gr_weight_its_top_items_are_sasrec_s(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model, trie = setup()
    cf = sasrec()
    fused = Retriever(model, trie, 15, fusion=Fusion(FusionWeights(0.0, 0.0, 1.0, 10), cf))
    history, seen = batch
    assert torch.equal(fused.candidates(history, seen)[0][:, :10], top_k_unseen(cf.scores(history), seen, 10))


def test_without_gr_weight_its_top_items_are_the_item_head_s(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """The item head scores every item by the user state against the item's input vector, computed here from the
    definition (the newest item's encoder state, no reasoning in this model)."""
    model, trie = setup()
    fused = Retriever(model, trie, 15, fusion=Fusion(FusionWeights(0.0, 0.0, 1.0, 10)))
    history, seen = batch
    with torch.no_grad():
        user = model.encode(trim_left(history))[0][:, -1]
        items = torch.arange(NUM_ITEMS + 1)
        vectors = model.code_embeddings(model.codes[items] + model.offsets).sum(1) + model.item_embeddings(items)
        scores = (user @ vectors.T).index_fill(1, torch.tensor([0]), -torch.inf)
    assert torch.equal(fused.candidates(history, seen)[0][:, :10], top_k_unseen(scores, seen, 10))


@pytest.mark.parametrize("dense", DENSE)
def test_joined_items_are_unseen_new_and_scored_as_the_search_scores_them(batch: tuple[torch.Tensor, torch.Tensor],
                                                                           dense: str) -> None:  # fmt: skip
    model, trie = setup()
    history, seen = batch
    retriever = Retriever(model, trie, 15, fusion=Fusion(FusionWeights(joined=20), ranker(dense)))
    candidates = retriever.fused(*retriever.beams(history, seen))
    beams, joined = candidates.items[:, :15], candidates.items[:, 15:]
    assert joined.shape == (24, 20) and (joined > 0).sum() > 24 * 10
    assert not seen.gather(1, joined).masked_fill(joined == 0, False).any()
    assert not ((joined[:, :, None] == beams[:, None, :]) & (joined[:, :, None] > 0)).any()
    everything, logp, _ = beam_search(model, trie, history, seen, NUM_ITEMS)  # every unseen item with its log π
    for row in range(len(history)):
        by_item = dict(zip(everything[row].tolist(), logp[row].tolist()))
        for item, value in zip(candidates.items[row].tolist(), candidates.logp[row].tolist()):
            if item:
                assert value == pytest.approx(by_item[item], abs=1e-4)


def test_validation_chooses_the_model_that_ranks_the_target_first() -> None:
    items = torch.arange(1, 13).repeat(4, 1)  # 8 beams + 4 joined; the target is item 12, a joined one
    order = torch.linspace(0, -5, 12).repeat(4, 1)
    targets = np.full(4, 12)
    for right, wrong in (("dense", "logp"), ("logp", "dense")):
        scores = {right: order.flip(1), wrong: order}
        candidates = Candidates(items, 8, scores["logp"], scores["dense"], None)
        weights, tried = choose_weights([candidates], targets)
        assert tried[0].keys() >= {"refined", "gr", "dense", "joined", "ndcg@10"}
        if right == "dense":  # only the dense ranker ranks it first, and only when its items are joined
            assert weights.dense > 0 and weights.gr == 0 and weights.joined == 4
            assert max(row["ndcg@10"] for row in tried if row["joined"] == 0) == 0
        else:
            assert weights.gr > 0 and weights.dense == 0
        assert candidates.ranked(weights)[0][0, 0] == 12
