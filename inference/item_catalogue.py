"""The `item` view's rows from a dataset's catalogue (`freshrec items load`): what training from the store reads
(`inference.store_sequences`) besides the event log."""

from __future__ import annotations

import pyarrow as pa

from feature_store.online.validation import rows_to_table
from feature_store.views import ITEM
from inference.sequences import Sequences


def catalogue_table(data: Sequences, event_time_ms: int) -> pa.Table:
    """One `item` row per item of `data` (raw id as in click events, `Sequences.item_categories`), stamped
    `event_time_ms`."""
    attributes = data.item_attributes or [[] for _ in range(data.num_items + 1)]
    texts = data.item_texts or [""] * (data.num_items + 1)
    categories = data.item_categories.tolist()
    rows = [{"item_id": int(data.raw_item_ids[i]), "event_time": event_time_ms, "category_id": categories[i],
             "attribute_ids": list(attributes[i]), "title": texts[i]} for i in range(1, data.num_items + 1)]  # fmt: skip
    return rows_to_table(ITEM, rows)
