"""Training data from the feature store: sequences and behaviour tiers from the offline event log, point in time
(nothing at or after the cut-off date), and the catalogue from the `item` view's offline rows (`freshrec items load`).

The event log holds what streamed in (or was backfilled): the same events the served features were built from, so a
model trained here knows the ids the stream carries. Item ids already dense (1..n, as MovieLens's) stay the model's
indices; sparse ones (Taobao's, a live shop's) are renumbered 1..n by first appearance, and the model's item table
maps back (`Sequences.raw_item_ids`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feature_store.offline import event_log
from feature_store.rebuild import newest_offline
from feature_store.views import ITEM
from inference.item_vocabulary import RawIdIndex
from inference.sequences import SequenceDataError, Sequences, user_sequences
from sources.datasets import utc_ms


def load_store(offline_dir: Path, before: str | None = None) -> Sequences:
    """The event log's clicks before the UTC date `before` (all when None) as sequences, with the catalogue's
    attributes and titles; SequenceDataError when the log or the catalogue is missing."""
    try:
        events = event_log.read(offline_dir)
    except FileNotFoundError:
        raise SequenceDataError(f"no event log under {offline_dir}: stream clicks (freshrec stream run) or "
                                "backfill a dataset (freshrec features backfill) first") from None  # fmt: skip
    if before:
        cutoff = utc_ms(before)
        events = events.filter(pc.less(events["event_time"], cutoff))
    if events.num_rows == 0:
        raise SequenceDataError(f"the event log under {offline_dir} holds no event before {before}")
    catalogue = latest_catalogue(offline_dir)
    raw_items = events["item_id"].to_numpy()
    known = np.union1d(np.unique(raw_items), catalogue["item_id"].to_numpy())
    if known[0] >= 1 and known[-1] <= 2 * len(known):  # dense already: the ids are the indices
        raw_ids, items = np.arange(known[-1] + 1, dtype=np.int64), raw_items
    else:
        ordered = events.sort_by([("event_time", "ascending")])["item_id"].to_numpy()
        uniques, first = np.unique(ordered, return_index=True)
        raw_ids = np.concatenate([[0], uniques[np.argsort(first, kind="stable")]])
        items = RawIdIndex(raw_ids)(raw_items)
    users, behaviors = user_sequences(events, items)
    rows = RawIdIndex(raw_ids)(catalogue["item_id"].to_numpy())
    attributes: list[list[int]] = [[] for _ in raw_ids]
    texts = [""] * len(raw_ids)
    for row, attribute_ids, title in zip(rows.tolist(), catalogue["attribute_ids"].to_pylist(), catalogue["title"].to_pylist()):
        if row:
            attributes[row], texts[row] = list(attribute_ids), title
    digest = hashlib.sha256("\0".join(texts).encode() + repr(attributes).encode() + raw_ids.tobytes())
    for user, strengths in zip(users, behaviors):  # what was read, whatever the order of the log's parts
        digest.update(np.int64(len(user)).tobytes() + user.tobytes() + strengths.tobytes())
    name = f"store-before-{before}" if before else "store"
    has_behaviors = len(pc.unique(events["behavior"])) > 1
    return Sequences(name, users, len(raw_ids) - 1, digest.hexdigest(), attributes if any(attributes) else [],
                     texts if any(texts) else [], behaviors if has_behaviors else [], raw_ids)  # fmt: skip


def latest_catalogue(offline_dir: Path) -> pa.Table:
    """The `item` view's newest row per item (item_id, category_id, attribute_ids, title)."""
    parts = sorted((offline_dir / ITEM.name).glob("part-*.parquet"))
    if not parts:
        raise SequenceDataError(f"no item catalogue under {offline_dir / ITEM.name}: run `freshrec items load DATASET`")
    return newest_offline(ITEM, parts).select(["item_id", *ITEM.field_names])
