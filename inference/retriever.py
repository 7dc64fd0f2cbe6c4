"""Generative retrieval as a recommender, for evaluation and serving alike: the trie-constrained beam search on any
runtime, then the final score (log π, or RankGR's refined score + γ · log π)."""

from __future__ import annotations

import torch
from torch import Tensor

from inference.beam_search import StepModel, beam_search
from inference.generative import GenerativeRetrieval
from inference.refined_scorer import RefinedScorer
from inference.sequences import trim_left
from inference.trie import SemanticIdTrie


class Retriever:
    """GR (+ optional refined scorer) as a recommender: beam λ, then either log π or the refined score.

    `runtime` runs the beam search (default: the PyTorch model itself; serving passes an exported one); the refined
    scorer always runs in PyTorch on the runtime's encoder memory (O(λ·L·d), small next to the search)."""

    def __init__(self, model: GenerativeRetrieval, trie: SemanticIdTrie, beam: int, scorer: RefinedScorer | None = None,
                 gamma: Tensor | None = None, runtime: StepModel | None = None) -> None:  # fmt: skip
        self.model, self.trie, self.beam, self.scorer, self.gamma = model, trie, beam, scorer, gamma
        self.runtime = runtime or model

    @torch.no_grad()
    def candidates(self, history: Tensor, seen: Tensor) -> tuple[Tensor, Tensor]:
        """(items, final scores) of the top-`beam`, best first by the model's final score."""
        return self.rerank(*self.beams(history, seen))

    @torch.no_grad()
    def beams(self, history: Tensor, seen: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The beam search alone: (history trimmed, items, log π, encoder memory)."""
        history = trim_left(history)
        return history, *beam_search(self.runtime, self.trie, history, seen, self.beam)

    @torch.no_grad()
    def rerank(self, history: Tensor, items: Tensor, logp: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        """`beams`' output ranked by the final score: log π, or the refined score + γ · log π."""
        if self.scorer is None:
            return items, logp
        score = self.scorer(self.model, memory, self.model.memory_mask(history), items) + self.gamma * logp
        score = score.masked_fill(torch.isinf(logp), -torch.inf)
        order = score.argsort(dim=1, descending=True)
        return items.gather(1, order), score.gather(1, order)

    def recommend(self, history: Tensor, seen: Tensor, k: int = 10) -> Tensor:
        """The `evaluation.Recommender` contract: CPU tensors in and out, whatever device the model is on."""
        device = self.model.codes.device
        return self.candidates(history.to(device), seen.to(device))[0][:, :k].cpu()
