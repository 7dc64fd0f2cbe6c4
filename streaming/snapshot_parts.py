"""The snapshot writer's batches on their way to the offline log: gathered into parts of many batches.

Why: the writer's batches are small when it keeps up (a poll's worth: a few hundred snapshots every 20 ms), and a
parquet file costs a few milliseconds whatever its size, so a part per batch would spend most of the writer's time
on file overhead and leave tens of thousands of small files a day. A part is written in a thread of its own (Arrow
encodes and compresses it without the GIL), so the write loop does not stop for it: a part of 10,000 rows takes
about as long as a hundred batches' worth of clicks wait for their snapshot. The offsets the writer commits follow
the parts: a batch's offsets are committed once its rows are in a written part (`covered`), so a crash before that
replays the batch, and the part footers' offsets (`parquet_log.SOURCE_KEY`) keep a replay from appending a row twice.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
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
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="snapshot-parts")
        self._writing: tuple[Future, dict[int, int]] | None = None
        """the part being written, and the offsets it covers"""

    def appended(self) -> dict[int, int]:
        """Per partition, the last offset whose snapshots a written part holds (read from the footers once)."""
        if self._appended is None:
            self._appended = parquet_log.appended_offsets(self.offline_dir / self.view.name, self.topic)
            self._covered = dict(self._appended)
        return self._appended

    def add(self, online: pa.Table, last: dict[int, int]) -> None:
        """A batch stored online (the rows a written part does not hold yet) and, per partition, its last offset."""
        self.appended()
        if online.num_rows == 0 and not self._tables and self._writing is None:
            _advance(self._covered, last)  # nothing to write, nothing waiting before it
            return
        if not self._tables:
            self._since = time.monotonic()
        if online.num_rows:
            self._tables.append(parquet_log.snapshots_table(self.view, online, int(time.time() * 1000)))
        _advance(self._last, last)
        if sum(t.num_rows for t in self._tables) >= self.rows:
            self.flush(wait=False)
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        if self._tables and time.monotonic() - self._since >= self.seconds:
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        """The gathered batches written as one part (none when nothing was gathered), after the part before it;
        `wait`: until it is written (a stop, a revoke, a refill that reads the log), else in the background."""
        self._collect(wait=True)  # one part at a time, in order: the previous one is long done by now
        if self._tables:
            table, source = pa.concat_tables(self._tables), (self.topic, self._last)
            written = self._pool.submit(parquet_log.append_offline, self.offline_dir, self.view, table, source)
            self._writing = written, self._last
            self._tables, self._last = [], {}
        self._collect(wait=wait)

    def covered(self) -> dict[int, int]:
        """Per partition, the last offset up to which every batch's rows are in a written part (or had none)."""
        self._collect(wait=False)
        return self._covered

    def forget(self) -> None:
        """Partitions moved: another writer may have appended since; read the footers again. What was gathered and
        not written is dropped (a revoke writes it first; partitions lost to another writer replay there)."""
        self._collect(wait=True)
        self._tables, self._last = [], {}
        self._appended, self._covered = None, {}

    def _collect(self, wait: bool) -> None:
        """The part being written, once written: its offsets covered (a failed write raises here)."""
        if self._writing is None or not (wait or self._writing[0].done()):
            return
        (future, last), self._writing = self._writing, None
        future.result()
        _advance(self.appended(), last)
        _advance(self._covered, last)
        if not self._tables:  # batches without rows that came while it was written
            _advance(self._covered, self._last)
            self._last = {}


def _advance(offsets: dict[int, int], last: dict[int, int]) -> None:
    for partition, offset in last.items():
        offsets[partition] = max(offsets.get(partition, -1), offset)
