"""Interaction sequences for training and evaluation, read from the public datasets folder.

Leave-one-out (TIGER, SASRec, S3-Rec protocol): a user's last item is the test target, the one before it the
validation target, everything earlier trains. Item ids are the model's, contiguous from 1 (0 is padding); where
a dataset's own ids are not (Taobao, a dense subset), `raw_item_ids` maps back to them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feature_store.offline.event_log import chronological
from inference.item_vocabulary import NO_CATEGORY, ItemVocabulary
from sources.datasets import (
    AMAZON_PREFIX,
    TAOBAO_FILES,
    AmazonFiles,
    DatasetError,
    amazon_category,
    amazon_files,
    read_item_attributes,
    read_taobao,
    read_user_sequences,
    utc_ms,
)
from sources.movielens import GENRES, read_movielens

if TYPE_CHECKING:
    from torch import Tensor

DATASETS = ("beauty", "movielens", "taobao")
"""The named datasets; `amazon:<Category>` reads any Amazon category in the S3-Rec layout besides Beauty
(`sources.datasets.amazon_files`)."""
BEHAVIOR_STRENGTH = {"PV": 0, "CART": 1, "FAV": 1, "BUY": 2}
"""RankGR's preference order of logged behaviours: buy ≻ cart / fav ≻ click (pv)."""


class SequenceDataError(ValueError):
    """A dataset file is missing or malformed."""


@dataclass
class Sequences:
    name: str
    users: list[np.ndarray]
    """users[u] = item ids in time order (int64, ids >= 1)."""
    num_items: int
    fingerprint: str
    """sha256 of the files read: an artifact records what it was trained on."""
    item_attributes: list[list[int]] = field(default_factory=list)
    """item_attributes[i] = attribute ids of item i (index 0 unused); empty where the dataset has none."""
    item_texts: list[str] = field(default_factory=list)
    """item_texts[i] = a short description of item i (index 0 unused) for a text encoder; empty where there is none."""
    behaviors: list[np.ndarray] = field(default_factory=list)
    """behaviors[u][k] = `BEHAVIOR_STRENGTH` of users[u][k]; empty where the dataset logs one kind of interaction."""
    raw_item_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """raw_item_ids[i] = item i's id in click events (index 0 unused); left empty: the ids are the events' own."""

    def __post_init__(self) -> None:
        if not len(self.raw_item_ids):
            self.raw_item_ids = np.arange(self.num_items + 1, dtype=np.int64)

    @property
    def item_categories(self) -> np.ndarray:
        """item_categories[i] = item i's category: its first attribute, as the click events carry (`NO_CATEGORY`
        where it has none)."""
        return np.array([a[0] if a else NO_CATEGORY for a in self.item_attributes] if self.item_attributes
                        else [NO_CATEGORY] * (self.num_items + 1), dtype=np.int64)  # fmt: skip

    def vocabulary(self, codes: np.ndarray) -> ItemVocabulary:
        """The item table a model trained on these sequences carries."""
        titles = list(self.item_texts) if self.item_texts else [""] * (self.num_items + 1)
        return ItemVocabulary(self.raw_item_ids, codes, self.item_categories, titles)

    @property
    def num_interactions(self) -> int:
        return sum(len(s) for s in self.users)

    def dense_subset(self, max_items: int, max_users: int, min_length: int = 5) -> Sequences:
        """The `max_items` most interacted items only, re-numbered 1..n by popularity, and the first `max_users`
        users still holding `min_length` interactions: a small, dense dataset that trains in minutes (CI smoke)."""
        counts = np.bincount(np.concatenate(self.users), minlength=self.num_items + 1)
        counts[0] = -1
        keep = np.argsort(-counts, kind="stable")[:max_items]
        renumber = np.zeros(self.num_items + 1, dtype=np.int64)
        renumber[keep] = np.arange(1, len(keep) + 1)
        users, behaviors = [], []
        for u, seq in enumerate(self.users):
            mapped = renumber[seq]
            kept = mapped > 0
            if kept.sum() >= min_length:
                users.append(mapped[kept])
                if self.behaviors:  # each behaviour stays with its event
                    behaviors.append(self.behaviors[u][kept])
            if len(users) == max_users:
                break
        attributes = [[], *(self.item_attributes[i] for i in keep)] if self.item_attributes else []
        texts = ["", *(self.item_texts[i] for i in keep)] if self.item_texts else []
        raw = np.concatenate([[0], self.raw_item_ids[keep]])
        return Sequences(f"{self.name}-dense", users, len(keep), self.fingerprint, attributes, texts, behaviors, raw)


@dataclass
class Split:
    """Leave-one-out: each example is (history, target) with the history in time order."""

    train: list[np.ndarray]
    """every user's sequence without its last two items (training targets are taken from inside it)."""
    valid_history: list[np.ndarray]
    valid_target: np.ndarray
    test_history: list[np.ndarray]
    test_target: np.ndarray
    train_behaviors: list[np.ndarray] = field(default_factory=list)
    """aligned with `train` where the dataset logs behaviour types."""


def load_amazon(files: AmazonFiles) -> Sequences:
    """An Amazon category's sequences (users in file order) and, where the category has them, its items' attribute
    ids (brand and category tokens)."""
    users = read_user_sequences(files.sequences)[1]
    num_items = int(max(int(s.max()) for s in users))
    attributes: list[list[int]] = [[] for _ in range(num_items + 1)]
    digest = hashlib.sha256(files.sequences.read_bytes())
    if files.attributes:
        digest.update(files.attributes.read_bytes())
        for item, values in read_item_attributes(files.attributes).items():
            if 0 < item <= num_items:
                attributes[item] = values
    return Sequences(files.dataset, users, num_items, digest.hexdigest(), attributes)


def load_movielens(archive: Path, before: str | None = None) -> Sequences:
    """MovieLens-100K ratings as sequences (users by id, items in time order; a movie's attributes are its genres,
    its text "Title (year). Genre, Genre"), only those rated before the UTC date `before` when given: a time
    split, so days after it can be scored without the model having trained on them."""
    if not archive.is_file():
        raise SequenceDataError(f"{archive} not found: run `freshrec datasets fetch movielens`")
    data = read_movielens(archive)
    events = data.events
    if before:
        cutoff = utc_ms(before)
        events = events.filter(pc.less(events["event_time"], cutoff))
    users, behaviors = user_sequences(events, events["item_id"].to_numpy())
    num_items = int(max(data.movies["item_id"].to_pylist()))
    attributes: list[list[int]] = [[] for _ in range(num_items + 1)]
    texts = [""] * (num_items + 1)
    movies = data.movies.to_pydict()
    for item, title, year, genres in zip(movies["item_id"], movies["title"], movies["year"], movies["genre_ids"]):
        attributes[item] = list(genres)
        texts[item] = f"{title}{f' ({year})' if year else ''}. {', '.join(GENRES[g] for g in genres)}"
    digest = hashlib.sha256(archive.read_bytes() + (before or "").encode()).hexdigest()
    name = f"movielens-before-{before}" if before else "movielens"
    return Sequences(name, users, num_items, digest, attributes, texts, behaviors)


def user_sequences(events: pa.Table, items: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per user (by id), `items` (one model index per event row) and each event's `BEHAVIOR_STRENGTH`, in the event
    log's chronological order (`event_log.chronological`), so the files and the log they were replayed into give the
    same sequences."""
    if events.num_rows == 0:
        return [], []
    order = chronological(events)
    codes = pc.index_in(events["behavior"], value_set=pa.array(list(BEHAVIOR_STRENGTH))).to_numpy(zero_copy_only=False)
    strength = np.array(list(BEHAVIOR_STRENGTH.values()), dtype=np.int64)[codes]
    bounds = np.flatnonzero(np.diff(events["user_id"].to_numpy()[order])) + 1
    return np.split(items[order].astype(np.int64), bounds), np.split(strength[order], bounds)


def load_taobao(datasets_dir: Path) -> Sequences:
    """The Taobao UserBehavior head sample (43 users with complete histories, 4,321 behaviours) as sequences: every
    behaviour in time order, items renumbered 1..n by first appearance, each item's category as its attribute, and
    each event's behaviour strength (the preference tiers of listwise DPO)."""
    path = datasets_dir / TAOBAO_FILES["taobao-head"]
    if not path.is_file():
        raise SequenceDataError(f"{path} not found: set datasets_dir to the shared datasets folder")
    events = read_taobao(path, "taobao-head")  # time-ordered, ties in file order
    order = np.argsort(events["user_id"].to_numpy(), kind="stable")
    users_col = events["user_id"].to_numpy()[order]
    raw_items, first, renumbered = np.unique(events["item_id"].to_numpy(), return_index=True, return_inverse=True)
    by_appearance = np.argsort(first)
    rank = np.empty(len(raw_items), dtype=np.int64)
    rank[by_appearance] = np.arange(1, len(raw_items) + 1)
    items = rank[renumbered]
    categories = events["category_id"].to_numpy()[first[by_appearance]]  # an item's category never changes here
    attributes = [[], *([int(c)] for c in categories)]
    strength = np.array([BEHAVIOR_STRENGTH[b] for b in events["behavior"].to_pylist()], dtype=np.int64)
    bounds = np.flatnonzero(np.diff(users_col)) + 1
    users = np.split(items[order], bounds)
    behaviors = np.split(strength[order], bounds)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    raw_ids = np.concatenate([[0], raw_items[by_appearance]])
    return Sequences("taobao", users, len(raw_items), digest, attributes, behaviors=behaviors, raw_item_ids=raw_ids)


def load_sequences(name: str, datasets_dir: Path, archives_dir: Path | None = None, before: str | None = None) -> Sequences:
    """A dataset of `DATASETS` or an `amazon:<Category>` by name (MovieLens from its fetched archive in
    `archives_dir`)."""
    if (category := amazon_category(name)) is not None:
        if before:
            raise SequenceDataError(f"Amazon {category} has no timestamps: it cannot be split in time")
        try:
            return load_amazon(amazon_files(datasets_dir, category))
        except DatasetError as exc:
            raise SequenceDataError(str(exc)) from exc
    if name == "taobao":
        if before:
            raise SequenceDataError("the Taobao sample is split leave-one-out, not in time")
        return load_taobao(datasets_dir)
    if name == "movielens":
        from sources.movielens import ARCHIVE

        if archives_dir is None:
            raise SequenceDataError("movielens is read from its fetched archive: archives_dir is needed")
        return load_movielens(archives_dir / ARCHIVE, before)
    raise SequenceDataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or {AMAZON_PREFIX}<Category>")


def leave_one_out(data: Sequences, min_length: int = 3) -> Split:
    kept = [u for u, s in enumerate(data.users) if len(s) >= min_length]
    users = [data.users[u] for u in kept]
    return Split(
        train=[s[:-2] for s in users],
        valid_history=[s[:-2] for s in users],
        valid_target=np.array([s[-2] for s in users], dtype=np.int64),
        test_history=[s[:-1] for s in users],
        test_target=np.array([s[-1] for s in users], dtype=np.int64),
        train_behaviors=[data.behaviors[u][:-2] for u in kept] if data.behaviors else [],
    )


def next_interactions(train: list[np.ndarray], behaviors: list[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray]:
    """For every pair of `training_pairs` (same order): the distinct items of the next `window` interactions, the
    target first, (N, window) padded with 0, and each one's preference tier, 2 + its strongest logged behaviour
    (pv 2, cart / fav 3, buy 4; 2 where no behaviour is logged; -1 padding): the logged tiers of listwise DPO."""
    items, tiers = [], []
    for u, seq in enumerate(train):
        strength = behaviors[u] if behaviors else np.zeros(len(seq), dtype=np.int64)
        for t in range(1, len(seq)):
            best: dict[int, int] = {}
            for item, level in zip(seq[t : t + window].tolist(), strength[t : t + window].tolist()):
                best[item] = max(best.get(item, 0), level)
            row = list(best.items())
            items.append([i for i, _ in row] + [0] * (window - len(row)))
            tiers.append([2 + level for _, level in row] + [-1] * (window - len(row)))
    return np.array(items, dtype=np.int64).reshape(-1, window), np.array(tiers, dtype=np.int64).reshape(-1, window)


def training_pairs(train: list[np.ndarray], max_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (history, next item) pair inside the training sequences: (user index, padded history, target).

    Histories are the last `max_length` items before the target, left-padded with 0 (the newest item last).
    """
    users, histories, targets = [], [], []
    for u, seq in enumerate(train):
        for t in range(1, len(seq)):
            users.append(u)
            histories.append(seq[max(0, t - max_length) : t])
            targets.append(seq[t])
    return np.array(users, dtype=np.int64), pad_left(histories, max_length), np.array(targets, dtype=np.int64)


def pad_left(histories: list[np.ndarray], max_length: int) -> np.ndarray:
    out = np.zeros((len(histories), max_length), dtype=np.int64)
    for i, h in enumerate(histories):
        h = h[-max_length:]
        if len(h):
            out[i, max_length - len(h) :] = h
    return out


def trim_left(padded: Tensor) -> Tensor:
    """Drop the leading columns that are padding in every row."""
    used = (padded != 0).any(dim=0).nonzero()
    return padded[:, int(used[0]) :] if len(used) else padded[:, -1:]
