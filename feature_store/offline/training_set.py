"""Point-in-time training sets: each label joined with the newest feature snapshot taken strictly before it.

Feast's point-in-time join matches snapshots with `event_timestamp <= entity timestamp`. A snapshot stamped with the
label event's own time already contains that event, so labels are joined at `label_time - 1 ms`: a training example
never sees its label or anything after it. `leaked_rows` re-checks the result against the sequences themselves.
Labels with no snapshot within the view's ttl before them get no features and are left out (Feast's semantics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from feature_store.views import USER_REALTIME, ViewSpec

if TYPE_CHECKING:
    from feast import FeatureStore


def build(store: FeatureStore, labels: pd.DataFrame, view: ViewSpec = USER_REALTIME, features: list[str] | None = None) -> pd.DataFrame:
    """`labels` has the join key, `label_time` (epoch ms) and any label columns; returns them with the features."""
    names = features or view.field_names
    keys = [view.join_key, "label_time"]
    # Feast keeps one row per (entity, timestamp): join the distinct pairs, then bring every label back.
    entity_df = labels[keys].drop_duplicates()
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["label_time"] - 1, unit="ms", utc=True)
    joined = store.get_historical_features(entity_df=entity_df, features=[f"{view.name}:{n}" for n in names]).to_df()
    result = labels.merge(joined.drop(columns="event_timestamp"), on=keys, how="inner")
    return result.sort_values(keys, kind="stable").reset_index(drop=True)


def leaked_rows(training_set: pd.DataFrame) -> pd.DataFrame:
    """Rows whose feature sequence holds an event at or after the label time (must be empty)."""
    def leaks(row: pd.Series) -> bool:
        times = row.get("event_times")
        return times is not None and not (isinstance(times, float) and np.isnan(times)) and len(times) > 0 and max(times) >= row["label_time"]

    return training_set[training_set.apply(leaks, axis=1)]
