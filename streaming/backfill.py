"""Build the user_realtime features of a whole click history, offline, with the reference state.

Bootstraps a fresh store (and rebuilds one after a change of representation): every event is folded in event-time
order, then each batch's touched users are written to Redis through the online writer and appended to the offline
snapshots, and the events themselves to the offline event log. The streaming job computes the same rows event by event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feature_store.offline import event_log, parquet_log
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from sources.datasets import ClickSource
from streaming.state.user_state import BehaviorState


@dataclass(frozen=True)
class BackfillStats:
    events: int
    late: int
    duplicates: int
    users: int
    snapshots: int


def backfill(
    source: ClickSource,
    writer: OnlineWriter,
    offline_dir: Path,
    *,
    batch_size: int = 20_000,
    on_progress: Callable[[int], None] | None = None,
) -> BackfillStats:
    """Fold `source` into a fresh state; write one snapshot per touched user per batch, online and offline."""
    state = BehaviorState(out_of_orderness_ms=10**13)  # a recorded history arrives in order: nothing is late
    late = duplicates = snapshots = 0
    for batch in source.batches(batch_size):
        outcome, touched = state.apply(batch.to_pylist())
        late += len(outcome.late)
        duplicates += outcome.duplicates
        if touched:
            table = rows_to_table(USER_REALTIME, [state.snapshot(user) for user in sorted(touched)])
            writer.write_table(table)
            parquet_log.append_snapshots(offline_dir, USER_REALTIME, table)
            snapshots += table.num_rows
        event_log.append(offline_dir, batch)
        if on_progress:
            on_progress(batch.num_rows)
    return BackfillStats(source.num_events, late, duplicates, len(state.users), snapshots)
