"""Score fusion: the generative retriever's beams joined with a dense ranker's top items, ranked by both.

Decoding coarse-to-fine semantic ids and scoring every item by a dense user state make different mistakes, so a
weighted sum of their log-probabilities ranks better than either (LIGER, arXiv 2411.18814; docs/model.md). The dense
ranker is one of two (`DENSE`): the GR's own item head (`GenerativeRetrieval.item_logits`, trained with
`GRConfig.item_loss`: one model, its encoder memory read by both heads) or a separate CE-SASRec. Final score of
candidate y:

    ρ · s_RSP(y) + γ · log π(y | x) + δ · log p_dense(y | x)

over the λ beams and the dense ranker's top-κ unseen items not already among them; log π of a joined item is
teacher-forced through the decoder steps of the runtime that ran the search, over the memory it computed
(`beam_search.step_log_prob`: κ more beams' decode per request, what fusion costs the service beside the dense
scores: one product with the item table for the item head, one CE-SASRec pass for CE-SASRec). The weights and κ
are chosen on validation (`choose_weights`), from a grid that holds the un-fused models too (δ = 0, κ = 0), so
fusion is kept only where validation says it helps.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from inference.generative import GenerativeRetrieval
from inference.metrics import ranking_metrics
from inference.sasrec import SASRec

DENSE = ("item-head", "CE-SASRec")
"""The dense rankers a fusion can weigh: the GR's own item head, or CE-SASRec."""
KAPPA = 10
"""The dense ranker's top items joined to the beams by default: on Beauty 10 rank as well as 50 (validation and
test alike, docs/model.md) at a fifth of the serving cost (each joined item's log π is one teacher-forced decode)."""


@dataclass(frozen=True)
class FusionWeights:
    refined: float = 0.0
    """ρ: the refined scorer's score (0 without one)."""
    gr: float = 1.0
    """γ: the GR's log π."""
    dense: float = 1.0
    """δ: the dense ranker's log-probability (log-softmax over every item)."""
    joined: int = KAPPA
    """κ: the dense ranker's top unseen items joined to the beams (0: the beams alone)."""

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Candidates:
    """A batch's candidates (B, λ + κ; item 0 in an empty or duplicate slot) and every score the fusion weighs."""

    items: Tensor
    beams: int
    """λ: the first `beams` columns are the GR's beams, the rest the dense ranker's joined items."""
    logp: Tensor
    dense: Tensor
    refined: Tensor | None

    def score(self, weights: FusionWeights) -> Tensor:
        """The final score; -inf for empty slots and for joined items beyond `weights.joined`."""
        score = weights.gr * self.logp
        if weights.dense:
            score = score + weights.dense * self.dense
        if weights.refined and self.refined is not None:
            score = score + weights.refined * self.refined
        dropped = self.items == 0
        dropped[:, self.beams + weights.joined :] = True
        return score.masked_fill(dropped | torch.isinf(self.logp), -torch.inf)

    def ranked(self, weights: FusionWeights) -> tuple[Tensor, Tensor]:
        """(items, final scores), best first; item 0 where the score is -inf."""
        score, order = self.score(weights).sort(dim=1, descending=True)
        return self.items.gather(1, order).masked_fill(torch.isinf(score), 0), score


class Fusion:
    """The dense ranker and the fusion weights, as a `Retriever` uses them after its beam search."""

    def __init__(self, weights: FusionWeights, sasrec: SASRec | None = None) -> None:
        """`sasrec` None: the dense ranker is the GR's own item head."""
        self.weights, self.sasrec = weights, sasrec

    @property
    def dense(self) -> str:
        """The dense ranker's name (`DENSE`)."""
        return DENSE[0] if self.sasrec is None else DENSE[1]

    @torch.no_grad()
    def log_probs(self, model: GenerativeRetrieval, memory: Tensor, history: Tensor, seen: Tensor) -> Tensor:
        """(B, num_items + 1) the dense ranker's log-probability of every item after `history` (left-padded,
        trimmed; `memory`: the GR encoder's over it); seen items and padding -inf (the softmax is over every item,
        as both rankers were trained)."""
        if self.sasrec is None:
            scores = model.item_logits(memory)
        else:
            scores = self.sasrec.scores(history[:, -self.sasrec.config.max_length :]).float()
        return scores.log_softmax(1).masked_fill(seen, -torch.inf)

    def joined(self, beams: Tensor, log_probs: Tensor, k: int) -> Tensor:
        """(B, k): the dense ranker's top-k items, 0 where one is already a beam or has no probability (seen)."""
        scores, top = log_probs.topk(k, dim=1)
        duplicate = (top[:, :, None] == beams[:, None, :]).any(2)
        return top.masked_fill(duplicate | torch.isinf(scores), 0)


REFINED = (0.0, 1.0)
GR = (0.0, 0.3, 1.0, 3.0)
DENSE_WEIGHTS = (0.0, 0.3, 1.0, 3.0)


def choose_weights(batches: list[Candidates], targets: np.ndarray, metric: str = "ndcg@10",
                   ) -> tuple[FusionWeights, list[dict[str, float]]]:  # fmt: skip
    """The weights that rank validation's `batches` (joined at their full κ) best by `metric`, and every tried
    setting with its metrics (the grid ρ x γ x δ x κ ∈ {0, full})."""
    joined = batches[0].items.shape[1] - batches[0].beams
    refined = REFINED if batches[0].refined is not None else (0.0,)
    tried = []
    for rho, gamma, delta, kappa in itertools.product(refined, GR, DENSE_WEIGHTS, sorted({0, joined})):
        if not (rho or gamma or delta):
            continue
        weights = FusionWeights(rho, gamma, delta, kappa)
        ranked = np.concatenate([batch.ranked(weights)[0][:, :10].numpy() for batch in batches])
        tried.append({**weights.to_dict(), **ranking_metrics(ranked, targets)})
    best = max(tried, key=lambda row: row[metric])
    return FusionWeights(best["refined"], best["gr"], best["dense"], int(best["joined"])), tried
