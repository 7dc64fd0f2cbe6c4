"""The `item` view's rows from a dataset's catalogue (`freshrec items load`): what training from the store reads
(`inference.store_sequences`) besides the event log."""

from __future__ import annotations

import pyarrow as pa

from feature_store.online.validation import rows_to_table
from feature_store.views import ITEM
from inference.item_vocabulary import NO_CATEGORY
from inference.sequences import Sequences


def catalogue_table(data: Sequences, event_time_ms: int) -> pa.Table:
    """One `item` row per item of `data` (raw id as in click events; category: its first attribute, as the click
    events carry), stamped `event_time_ms`."""
    attributes = data.item_attributes or [[] for _ in range(data.num_items + 1)]
    texts = data.item_texts or [""] * (data.num_items + 1)
    rows = [{"item_id": int(data.raw_item_ids[i]), "event_time": event_time_ms,
             "category_id": attributes[i][0] if attributes[i] else NO_CATEGORY,
             "attribute_ids": list(attributes[i]), "title": texts[i]} for i in range(1, data.num_items + 1)]  # fmt: skip
    return rows_to_table(ITEM, rows)
