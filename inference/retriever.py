"""Generative retrieval as a recommender, for evaluation and serving alike: the trie-constrained beam search on any
runtime, then the final score (log π, RankGR's refined score + γ · log π, or the fusion with a dense ranker's scores
over the beams joined with its top items: `inference.fusion`)."""

from __future__ import annotations

import torch
from torch import Tensor

from inference.beam_search import StepModel, beam_search, step_log_prob
from inference.fusion import Candidates, Fusion
from inference.generative import GenerativeRetrieval
from inference.refined_scorer import RefinedScorer
from inference.sequences import trim_left
from inference.trie import SemanticIdTrie


class Retriever:
    """GR (+ optional refined scorer, + optional fusion) as a recommender: beam λ, then the final score.

    `runtime` runs the beam search and the log π of joined items (default: the PyTorch model itself; serving passes an
    exported one); the refined scorer and the fusion's dense ranker run in PyTorch, on the runtime's encoder memory
    (O(λ·L·d), and one product with the item table or one CE-SASRec pass: small next to the search). With `fusion`,
    its weights replace γ."""

    def __init__(self, model: GenerativeRetrieval, trie: SemanticIdTrie, beam: int, scorer: RefinedScorer | None = None,
                 gamma: Tensor | None = None, runtime: StepModel | None = None, fusion: Fusion | None = None) -> None:  # fmt: skip
        self.model, self.trie, self.beam, self.scorer, self.gamma = model, trie, beam, scorer, gamma
        self.runtime, self.fusion = runtime or model, fusion

    @torch.no_grad()
    def candidates(self, history: Tensor, seen: Tensor) -> tuple[Tensor, Tensor]:
        """(items, final scores) of the top-`beam`, best first by the model's final score."""
        return self.rerank(*self.beams(history, seen))

    @torch.no_grad()
    def beams(self, history: Tensor, seen: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """The beam search alone: (history trimmed, seen, items, log π, encoder memory)."""
        history = trim_left(history)
        return history, seen, *beam_search(self.runtime, self.trie, history, seen, self.beam)

    @torch.no_grad()
    def rerank(self, history: Tensor, seen: Tensor, items: Tensor, logp: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        """`beams`' output ranked by the final score: log π, the refined score + γ · log π, or the fusion's."""
        if self.fusion is not None:
            items, score = self.fused(history, seen, items, logp, memory).ranked(self.fusion.weights)
            return items[:, : self.beam], score[:, : self.beam]
        if self.scorer is None:
            return items, logp
        score = self.scorer(self.model, memory, self.model.memory_mask(history), items) + self.gamma * logp
        score = score.masked_fill(torch.isinf(logp), -torch.inf)
        order = score.argsort(dim=1, descending=True)
        return items.gather(1, order), score.gather(1, order)

    @torch.no_grad()
    def fused(self, history: Tensor, seen: Tensor, items: Tensor, logp: Tensor, memory: Tensor) -> Candidates:
        """The beams joined with the dense ranker's top-κ (κ: the fusion's weights) and every score the fusion
        weighs."""
        assert self.fusion is not None
        log_probs = self.fusion.log_probs(self.model, memory, history, seen)
        extra = self.fusion.joined(items, log_probs, self.fusion.weights.joined)
        extra_logp = logp.new_empty(len(items), 0)
        if extra.shape[1]:
            codes = self.model.codes[extra]  # an empty slot (item 0) decodes the padding row's codes, then drops
            extra_logp = step_log_prob(self.runtime, memory, history, codes).masked_fill(extra == 0, -torch.inf)
        joined = torch.cat([items, extra], dim=1)
        refined = None
        if self.scorer is not None:
            refined = self.scorer(self.model, memory, self.model.memory_mask(history), joined).float()
        return Candidates(joined, items.shape[1], torch.cat([logp, extra_logp], dim=1).float(), log_probs.gather(1, joined),
                          refined)  # fmt: skip

    def recommend(self, history: Tensor, seen: Tensor, k: int = 10) -> Tensor:
        """The `evaluation.Recommender` contract: CPU tensors in and out, whatever device the model is on."""
        device = self.model.codes.device
        return self.candidates(history.to(device), seen.to(device))[0][:, :k].cpu()
