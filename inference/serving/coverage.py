"""Does the model know the items users are clicking? Sampled at start from the online store's recent histories
(what the stream wrote), so a model trained on another catalogue, or with another numbering, refuses to serve
instead of quietly answering everyone with the popular fallback."""

from __future__ import annotations

import numpy as np

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from inference.item_vocabulary import ItemVocabulary

SAMPLE_USERS = 1_000


class CoverageError(RuntimeError):
    """The model knows too few of the streamed items."""


def streamed_items(reader: OnlineReader, users: int, scan_count: int = 1_000) -> np.ndarray:
    """The recent item ids of up to `users` users the online store holds (whichever SCAN meets first)."""
    layout = next(lay for lay in reader.layouts if lay.view.name == USER_REALTIME.name)
    ids: list[int] = []
    for key in reader.client.scan_iter(count=scan_count):
        if (entity := layout.entity_id(key)) is not None:
            ids.append(entity)
            if len(ids) == users:
                break
    if not ids:
        return np.zeros(0, dtype=np.int64)
    realtime = reader.read_batch(ids)[USER_REALTIME.name]
    present = [realtime.row(i).values.get("item_ids") for i in range(len(ids)) if realtime.status[i] == "present"]
    return np.concatenate([np.asarray(h, dtype=np.int64) for h in present if h is not None] or [np.zeros(0, np.int64)])


def check_coverage(items: ItemVocabulary, streamed: np.ndarray, minimum: float) -> float:
    """The share of `streamed` ids the model knows; raises `CoverageError` below `minimum`."""
    coverage = items.coverage(streamed)
    if coverage < minimum:
        raise CoverageError(
            f"the model knows {coverage:.1%} of {len(streamed):,} item ids sampled from the online store's recent "
            f"histories (at least {minimum:.0%} required): it was trained on other items or another numbering. Train "
            f"on what streams (freshrec train), or start anyway with --force")  # fmt: skip
    return coverage
