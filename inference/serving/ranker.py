"""From a user's recent items to ranked items, for a batch of users at once: generative retrieval (trie-constrained
beam search + refined scorer) for users with known items, popularity for cold ones.

Item ids in and out are the click events' own (raw); the model's item table maps them to its indices and back. Ids
the model does not know are ignored and counted (an item newer than the model), and a user left with none is cold:
flagged, served the most popular unseen items, never an error. A hybrid-input model reads items as their semantic ids
alone, so it takes the history from the stored `sid_codes` when the writer looked them up in this model's own item
table (same `sid_version`), and maps the raw ids otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from feature_store.views import SID_LEVELS
from inference.artifacts import LoadedModel
from inference.beam_search import StepModel
from inference.evaluation import seen_mask
from inference.item_vocabulary import NO_CATEGORY
from inference.sequences import pad_left

GENERATIVE, POPULAR, INTENT = "generative", "popular", "intent"


@dataclass
class RankInput:
    history: np.ndarray
    """the user's recent item ids, oldest first (as the online store keeps them)."""
    exclude: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """further item ids never to return (the user's history is always excluded)."""
    sid_codes: bytes = b""
    """the history's semantic ids as the online store keeps them (`user_realtime.sid_codes`), if any."""
    sid_version: str = ""
    """the item table version they were written under."""


@dataclass
class Ranked:
    items: np.ndarray
    scores: np.ndarray
    source: str
    """generative, or popular (cold user: no item the model knows)."""
    history_used: int
    """how many of the user's items the model read."""
    model: str
    """the id of the model that ranked them."""


class Ranker:
    def __init__(self, loaded: LoadedModel, runtime: StepModel, beam: int,
                 on_unknown: Callable[[int], None] = lambda n: None) -> None:  # fmt: skip
        """`on_unknown(n)`: n history or exclusion ids were not in the model's item table (a metric counts them)."""
        self.loaded, self.beam, self.on_unknown = loaded, beam, on_unknown
        self.items = loaded.items
        self.reads_codes = loaded.model.config.hybrid and self.items.reads_codes
        self.retriever = loaded.retriever(beam, runtime)
        self.max_length = loaded.model.config.max_length
        popularity = loaded.popularity.copy()
        popularity[0] = -np.inf
        self._popular = np.argsort(-popularity, kind="stable")[: loaded.num_items]
        self._popular_scores = popularity[self._popular].astype(np.float32)
        categories = self.items.categories[self._popular]
        known = categories != NO_CATEGORY
        by_category = np.argsort(categories[known], kind="stable")  # each category's items stay most popular first
        grouped, members = categories[known][by_category], self._popular[known][by_category]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(grouped) else np.zeros(0, np.int64)
        self._in_category = {int(grouped[s]): items for s, items in zip(starts, np.split(members, starts[1:]))}

    @property
    def model_id(self) -> str:
        return self.loaded.model_id

    def known(self, raw: np.ndarray) -> np.ndarray:
        """The model's indices of the raw ids it knows, in order."""
        index = self.items.to_index(raw)
        return index[index > 0]

    def _indices(self, raw: np.ndarray) -> np.ndarray:
        index = self.known(raw)
        if unknown := len(raw) - len(index):
            self.on_unknown(unknown)
        return index

    def _history(self, x: RankInput) -> np.ndarray:
        """The model's indices of the user's history: from the stored codes when they are this model's own."""
        if self.reads_codes and x.sid_version == self.items.version and len(x.sid_codes) == SID_LEVELS * len(x.history):
            index = self.items.from_codes(x.sid_codes)
            if unknown := int((index == 0).sum()):
                self.on_unknown(unknown)
            return index[index > 0]
        return self._indices(x.history)

    def rank(self, inputs: list[RankInput]) -> list[Ranked]:
        """Up to `beam` items per input (raw ids), best first; one beam search for all warm users of the batch."""
        histories = [self._history(x) for x in inputs]
        excluded = [np.concatenate([h, self._indices(x.exclude)]) for h, x in zip(histories, inputs)]
        warm = [i for i, h in enumerate(histories) if len(h)]
        out: list[Ranked | None] = [None] * len(inputs)
        if warm:
            recent = [histories[i][-self.max_length :] for i in warm]
            padded = torch.from_numpy(pad_left(recent, self.max_length))
            items, scores = self.retriever.candidates(padded, seen_mask([excluded[i] for i in warm], self.loaded.num_items))
            items, scores = items.cpu().numpy(), scores.float().cpu().numpy()
            for row, i in enumerate(warm):
                valid = np.isfinite(scores[row])
                out[i] = Ranked(self.items.to_raw(items[row][valid]), scores[row][valid], GENERATIVE, len(recent[row]),
                                self.model_id)  # fmt: skip
        for i, result in enumerate(out):
            if result is None:
                out[i] = self.popular(excluded[i])
        return out  # type: ignore[return-value]

    def intent(self, categories: list[int], excluded: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The intent channel (RecGPT's tag → category → items): up to `n` items (raw ids) of the categories the
        user's intent tags name, taken in turn from each category in tag order, most popular first, none of the
        `excluded` raw ids; with their popularity as the score."""
        skip = set(self.items.to_index(excluded).tolist())
        queues = [iter(self._in_category.get(int(c), ())) for c in dict.fromkeys(categories)]
        chosen: list[int] = []
        while queues and len(chosen) < n:
            for queue in list(queues):
                item = next((int(i) for i in queue if int(i) not in skip), None)
                if item is None:
                    queues.remove(queue)
                    continue
                skip.add(item)
                chosen.append(item)
                if len(chosen) == n:
                    break
        index = np.asarray(chosen, dtype=np.int64)
        return self.items.to_raw(index), self.loaded.popularity[index].astype(np.float32)

    def with_intent(self, items: list[int], scores: list[float], source: str, categories: list[int],
                    seen: np.ndarray, k: int, slots: int) -> tuple[list[int], list[float], list[str]]:  # fmt: skip
        """The answer of k: `items` (raw ids, best first, from `source`) with the last `slots` places given to the
        intent channel's items of `categories` when it has any, none of `seen` (raw ids) or of `items`; with each
        item's score and source."""
        sources = [source] * len(items)
        if slots and categories:
            extra, extra_scores = self.intent(categories, np.concatenate([seen, np.asarray(items, np.int64)]), slots)
            keep = min(len(items), k - len(extra))
            items, scores = items[:keep] + extra.tolist(), scores[:keep] + extra_scores.tolist()
            sources = sources[:keep] + [INTENT] * len(extra)
        return items, scores, sources

    def popular(self, excluded: np.ndarray) -> Ranked:
        """The most popular items (raw ids) but the `excluded` model indices."""
        take = self.beam + len(excluded)
        items, scores = self._popular[:take], self._popular_scores[:take]
        keep = ~np.isin(items, excluded)
        return Ranked(self.items.to_raw(items[keep][: self.beam]), scores[keep][: self.beam], POPULAR, 0, self.model_id)
