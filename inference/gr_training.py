"""The stages of the generative retriever: NTP, then NTP + listwise DPO against the frozen NTP model, then the
refined scorer on the final model's own top-λ beams (MODEL_SPEC.md §2.3-2.4)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from inference.beam_search import beam_search
from inference.evaluation import EVAL_BATCH, seen_mask
from inference.fusion import Candidates, Fusion, FusionWeights, choose_weights
from inference.generative import GenerativeRetrieval
from inference.preference import listwise_dpo_loss
from inference.refined_scorer import RefinedScorer, listwise_loss
from inference.retriever import Retriever
from inference.sasrec import SASRec
from inference.sequences import pad_left, trim_left
from inference.training import Curve, TrainConfig, fit
from inference.trie import SemanticIdTrie


@dataclass
class PreferenceConfig:
    alpha: float = 0.1
    beta: float = 0.5
    beam_negatives: int = 4
    random_negatives: int = 4
    examples: int = 40_000
    """training pairs used (a random subset: the reference beams over all of them cost more than they add)."""
    window: int = 1
    """next interactions per context that enter its list as positives, tiered by their logged behaviour (buy ≻
    cart / fav ≻ pv) where the dataset logs one (`sequences.next_interactions`); 1: the target alone."""


@dataclass
class ScorerConfig:
    candidates: int = 50
    """λ: how many top beams the scorer re-ranks (the beam width at serving)."""
    examples: int = 60_000
    """training contexts the scorer learns from (on Beauty it was still data-limited at 30,000: validation NDCG@10
    of the scorer alone 0.035 at 30,000, 0.039 at 60,000)."""
    heads: int = 2
    hidden: int = 64


@dataclass
class Pairs:
    """Training examples: histories (padded), targets, each example's seen items (its history), and its positives
    for listwise DPO with their tiers (the target first; `sequences.next_interactions`)."""

    histories: Tensor
    targets: Tensor
    lengths: np.ndarray
    raw: list[np.ndarray]
    positives: Tensor
    positive_tiers: Tensor


def make_pairs(histories: np.ndarray, targets: np.ndarray, positives: np.ndarray | None = None,
               positive_tiers: np.ndarray | None = None) -> Pairs:  # fmt: skip
    """Without `positives`, the target alone is each example's positive, tier 2."""
    raw = [h[h != 0] for h in histories]
    if positives is None or positive_tiers is None:
        positives, positive_tiers = targets[:, None], np.full((len(targets), 1), 2, dtype=np.int64)
    return Pairs(torch.from_numpy(histories), torch.from_numpy(targets), (histories != 0).sum(1), raw,
                 torch.from_numpy(positives), torch.from_numpy(positive_tiers))  # fmt: skip


class FrozenBeams:
    """The beams of a GR model that no longer changes, searched once per batch of users and re-ranked by every
    scorer and γ asked for: the refined-scorer stage validates after each epoch and for each γ, and scores the test
    split on the beams the GR model's own test already searched. Same results as searching again, minutes less."""

    def __init__(self, model: GenerativeRetrieval, trie: SemanticIdTrie, beam: int) -> None:
        self.model, self.trie, self.beam = model, trie, beam
        self._searched: dict[bytes, tuple[Tensor, ...]] = {}

    def recommender(self, scorer: RefinedScorer | None = None, gamma: Tensor | None = None,
                    fusion: Fusion | None = None) -> Callable[..., Tensor]:  # fmt: skip
        """An `evaluation.Recommender` ranking the cached beams with `scorer` and `gamma` (None: by log π), or with
        `fusion`."""
        retriever = Retriever(self.model, self.trie, self.beam, scorer, gamma, fusion=fusion)

        def recommend(history: Tensor, seen: Tensor, k: int = 10) -> Tensor:
            return retriever.rerank(*self._beams(retriever, history, seen))[0][:, :k].cpu()

        return recommend

    def candidates(self, scorer: RefinedScorer | None, fusion: Fusion, histories: list[np.ndarray], num_items: int,
                   max_length: int) -> list[Candidates]:  # fmt: skip
        """`Retriever.fused` of each batch of `histories` as `evaluation.evaluate` batches them (so their cached
        beams are reused): what `fusion.choose_weights` chooses from."""
        retriever = Retriever(self.model, self.trie, self.beam, scorer, fusion=fusion)
        out = []
        for start in range(0, len(histories), EVAL_BATCH):
            chunk = histories[start : start + EVAL_BATCH]
            history, seen = torch.from_numpy(pad_left(chunk, max_length)), seen_mask(chunk, num_items)
            batch = retriever.fused(*self._beams(retriever, history, seen))
            out.append(Candidates(batch.items.cpu(), batch.beams, batch.logp.cpu(), batch.dense.cpu(),
                                  None if batch.refined is None else batch.refined.cpu()))  # fmt: skip
        return out

    def _beams(self, retriever: Retriever, history: Tensor, seen: Tensor) -> tuple[Tensor, ...]:
        key = hashlib.blake2b(history.numpy().tobytes() + np.packbits(seen.numpy()).tobytes()).digest()
        if key not in self._searched:
            device = self.model.codes.device
            self._searched[key] = retriever.beams(history.to(device), seen.to(device))
        return self._searched[key]


def choose_fusion(beams: FrozenBeams, scorer: RefinedScorer | None, sasrec: SASRec | None, item_head: bool, kappa: int,
                  histories: list[np.ndarray], targets: np.ndarray, num_items: int, max_length: int,
                  ) -> tuple[Fusion, dict[str, Any]]:  # fmt: skip
    """The fusion that ranks validation's `histories` best by NDCG@10: each dense ranker there is (the GR's own item
    head where `item_head`, i.e. it was trained; CE-SASRec where given) with the weights `choose_weights` picks for
    it. Also the report: the chosen ranker and weights, and per ranker its weights, best NDCG@10 and every tried
    setting."""
    rankers = [Fusion(FusionWeights(joined=kappa))] if item_head else []
    if sasrec is not None:
        rankers.append(Fusion(FusionWeights(joined=kappa), sasrec))
    if not rankers:
        raise ValueError("no dense ranker to fuse: neither an item head nor a CE-SASRec")
    chosen, report = {}, {}
    for ranker in rankers:
        weights, tried = choose_weights(beams.candidates(scorer, ranker, histories, num_items, max_length), targets)
        chosen[ranker.dense] = Fusion(weights, ranker.sasrec)
        report[ranker.dense] = {"weights": weights.to_dict(), "ndcg@10": max(row["ndcg@10"] for row in tried),
                                "tried": tried}  # fmt: skip
    fusion = chosen[max(report, key=lambda name: report[name]["ndcg@10"])]  # a tie keeps the item head: one model
    return fusion, {"dense": fusion.dense, "weights": fusion.weights.to_dict(), "rankers": report}


def train_ntp(model: GenerativeRetrieval, pairs: Pairs, validate, config: TrainConfig, device: torch.device) -> Curve:  # noqa: ANN001
    def loss_of(indices: np.ndarray) -> Tensor:
        index = torch.from_numpy(indices)
        return model.ntp_loss(trim_left(pairs.histories[index]).to(device), pairs.targets[index].to(device))

    return fit(model, loss_of, pairs.lengths, validate, config, "GR next-token", device)


@torch.no_grad()
def preference_lists(reference: GenerativeRetrieval, trie: SemanticIdTrie, pairs: Pairs, indices: np.ndarray,
                     config: PreferenceConfig, num_items: int, rng: np.random.Generator, device: torch.device,
                     ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """Per example: [its positives (target first; tier 2 + behaviour strength), reference beam negatives (tier 1),
    random items (tier 0)], their tiers (-1: an empty slot), and their log π_ref (from the encoder memory the beam
    search already computed)."""
    lists, tiers, ref_logps = [], [], []
    for start in range(0, len(indices), 1024):
        chunk = indices[start : start + 1024]
        index = torch.from_numpy(chunk)
        seen = seen_mask([pairs.raw[i] for i in chunk], num_items)
        positives, positive_tiers = pairs.positives[index], pairs.positive_tiers[index]
        seen.scatter_(1, positives, True)  # a negative is never a positive
        history = trim_left(pairs.histories[index]).to(device)
        beams, _, memory = beam_search(reference, trie, history, seen.to(device), config.beam_negatives)
        randoms = torch.from_numpy(rng.integers(1, num_items + 1, (len(chunk), config.random_negatives)))
        lists.append(torch.cat([positives, beams.cpu(), randoms], dim=1))
        ref_logps.append(reference.sequence_log_prob(memory, reference.memory_mask(history), lists[-1].to(device)).cpu())
        tier = torch.cat([positive_tiers, torch.ones_like(beams.cpu()), torch.zeros_like(randoms)], 1)
        width = positives.shape[1]
        tier[:, width : width + config.beam_negatives][beams.cpu() == 0] = -1  # empty beam slots
        tiers.append(tier)
    return torch.cat(lists), torch.cat(tiers), torch.cat(ref_logps)


def train_preference(model: GenerativeRetrieval, trie: SemanticIdTrie, pairs: Pairs, validate,  # noqa: ANN001
                     config: PreferenceConfig, train: TrainConfig, num_items: int, device: torch.device) -> Curve:  # fmt: skip
    """NTP + α · listwise DPO, π_ref = a frozen copy of the model as it enters this stage."""
    reference = copy.deepcopy(model).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(train.seed)
    chosen = rng.choice(len(pairs.targets), min(config.examples, len(pairs.targets)), replace=False)
    candidates, tiers, ref_logp = preference_lists(reference, trie, pairs, chosen, config, num_items, rng, device)

    def loss_of(indices: np.ndarray) -> Tensor:
        index = torch.from_numpy(indices)
        examples = torch.from_numpy(chosen[indices])
        memory, mask, aux = model.encode_with_loss(trim_left(pairs.histories[examples]).to(device))
        logp = model.sequence_log_prob(memory, mask, candidates[index].to(device))
        ntp = -logp[:, 0].mean() / len(model.vocab_sizes)
        dpo = listwise_dpo_loss(logp.float(), ref_logp[index].to(device), tiers[index].to(device), config.beta)
        return ntp + config.alpha * dpo + aux

    return fit(model, loss_of, pairs.lengths[chosen], validate, train, "GR + listwise DPO", device)


def train_scorer(model: GenerativeRetrieval, trie: SemanticIdTrie, pairs: Pairs, validate_with,  # noqa: ANN001
                 config: ScorerConfig, train: TrainConfig, num_items: int, device: torch.device,
                 ) -> tuple[RefinedScorer, Tensor, Curve]:  # fmt: skip
    """The refined scorer on the frozen GR model's top-λ beams of training examples, the target injected where
    the beam missed it (last slot). It learns from the candidates alone (γ = 0): on examples the GR model trained
    on, log π flatters the target, and a scorer that leans on it re-ranks test beams worse (measured on Beauty:
    Recall@10 0.050 against 0.060 without the scorer). γ, the weight of log π in the final score, is then chosen
    on the validation users."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(train.seed)
    chosen = rng.choice(len(pairs.targets), min(config.examples, len(pairs.targets)), replace=False)
    retriever = Retriever(model, trie, config.candidates)
    items = []
    for start in range(0, len(chosen), 1024):
        chunk = chosen[start : start + 1024]
        index = torch.from_numpy(chunk)
        seen = seen_mask([pairs.raw[i] for i in chunk], num_items).to(device)
        cand, _ = retriever.candidates(pairs.histories[index].to(device), seen)
        targets = pairs.targets[index].to(device)
        missed = ~(cand == targets[:, None]).any(1)
        cand[missed, -1] = targets[missed]
        items.append(cand.cpu())
    items_t = torch.cat(items)
    labels = (items_t == pairs.targets[torch.from_numpy(chosen)][:, None]).float().argmax(1)
    scorer = RefinedScorer(model.config.dim, config.heads, config.hidden).to(device)
    zero = torch.zeros((), device=device)

    def loss_of(indices: np.ndarray) -> Tensor:
        index = torch.from_numpy(indices)
        with torch.no_grad():
            memory, mask = model.encode(trim_left(pairs.histories[torch.from_numpy(chosen[indices])]).to(device))
        candidates = items_t[index].to(device)
        score = scorer(model, memory, mask, candidates).float().masked_fill(candidates == 0, -1e4)
        return listwise_loss(score, labels[index].to(device))

    curve = fit(scorer, loss_of, pairs.lengths[chosen], lambda: validate_with(scorer, zero), train, "refined scorer",
                device)  # fmt: skip
    gammas = {gamma: validate_with(scorer, torch.tensor(gamma, device=device))[train.metric] for gamma in GAMMAS}
    best = max(gammas, key=gammas.get)
    return scorer, torch.tensor(best, device=device), curve


GAMMAS = (0.0, 0.1, 0.3, 1.0, 3.0)
"""Weights of log π tried on validation (the scorer's own scale is learned, log π's is the model's)."""
