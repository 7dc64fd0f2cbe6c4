"""The snapshot writer's batches on their way to the offline log: gathered into parts of many batches.

Why: the writer's batches are small when it keeps up (a poll's worth: a few hundred snapshots every 20 ms), and a
parquet file costs a few milliseconds whatever its size, so a part per batch would spend most of the writer's time
on file overhead and leave tens of thousands of small files a day. The offsets the writer commits follow the parts:
a batch's offsets are committed once its rows are in a written part (`covered`), so a crash before that replays the
batch, and the part footers' offsets (`parquet_log.SOURCE_KEY`) keep a replay from appending a row twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

from feature_store.offline import parquet_log
from feature_store.views import ViewSpec

PART_ROWS = 10_000
"""A part is written once it holds this many rows: past a few thousand rows a larger part saves little per row."""
PART_S = 5.0
"""... or once its oldest batch is this old, so that a quiet stream still reaches the offline log (and the commits
advance) within seconds; a crash replays at most this much."""


class SnapshotParts:
    """Batches gathered into parts of the view's offline log under `offline_dir`, each part's footer holding, per
    partition of `topic`, the last offset its rows (or a batch before them) came from."""

    def __init__(self, offline_dir: Path, view: ViewSpec, topic: str, rows: int = PART_ROWS,
                 seconds: float = PART_S) -> None:  # fmt: skip
        self.offline_dir, self.view, self.topic = offline_dir, view, topic
        self.rows, self.seconds = rows, seconds
        self._tables: list[pa.Table] = []
        self._last: dict[int, int] = {}
        self._since = 0.0
        self._appended: dict[int, int] | None = None
        self._covered: dict[int, int] = {}

    def appended(self) -> dict[int, int]:
        """Per partition, the last offset whose snapshots a written part holds (read from the footers once)."""
        if self._appended is None:
            self._appended = parquet_log.appended_offsets(self.offline_dir / self.view.name, self.topic)
            self._covered = dict(self._appended)
        return self._appended

    def add(self, online: pa.Table, last: dict[int, int]) -> None:
        """A batch stored online (the rows a written part does not hold yet) and, per partition, its last offset."""
        self.appended()
        if online.num_rows == 0 and not self._tables:
            _advance(self._covered, last)  # nothing to write, nothing waiting before it
            return
        if not self._tables:
            self._since = time.monotonic()
        if online.num_rows:
            self._tables.append(parquet_log.snapshots_table(self.view, online, int(time.time() * 1000)))
        _advance(self._last, last)
        if sum(t.num_rows for t in self._tables) >= self.rows:
            self.flush()
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        if self._tables and time.monotonic() - self._since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        """The gathered batches written as one part (nothing when none waits)."""
        if not self._tables:
            return
        parquet_log.append_offline(self.offline_dir, self.view, pa.concat_tables(self._tables), (self.topic, self._last))
        _advance(self.appended(), self._last)
        _advance(self._covered, self._last)
        self._tables, self._last = [], {}

    def covered(self) -> dict[int, int]:
        """Per partition, the last offset up to which every batch's rows are in a written part (or had none)."""
        return self._covered

    def forget(self) -> None:
        """Partitions moved: another writer may have appended since; read the footers again. What was gathered and
        not written is dropped (a revoke writes it first; partitions lost to another writer replay there)."""
        self._tables, self._last = [], {}
        self._appended, self._covered = None, {}


def _advance(offsets: dict[int, int], last: dict[int, int]) -> None:
    for partition, offset in last.items():
        offsets[partition] = max(offsets.get(partition, -1), offset)
