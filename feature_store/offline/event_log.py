"""The offline click event log: every applied click once, as parquet parts of one event date each (`events/`).

Two producers fill it. `features backfill` appends a history's batches directly. The live behavior job writes the
clicks its users' state applied as JSON-lines part files under `events-streamed/<event date>/` through Flink's
FileSink, which makes a part visible only once a checkpoint covering it has completed and drops, on a restore, what
was written after that checkpoint: the visible parts hold every applied click exactly once, across kill -9s and
restarts. `compact` turns each visible part into one parquet part named after it, then deletes it: a compaction
that dies between the two rewrites the same name the next time, so it is idempotent and never duplicates a row.
The snapshot writer compacts in a process of its own as it runs (`Compaction`); `read` compacts what is left first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import json as pa_json

from feature_store.offline import parquet_log

EVENTS = "events"
STREAMED = "events-streamed"
STREAMED_PARTS = "*/clicks-*.jsonl"
"""The visible part files of the job's FileSink (`io.freshrec.flink.EventLog`): event-date folders; in-progress
and pending parts start with a dot."""
CLICK_COLUMNS = pa.schema(
    [("event_id", pa.string()), ("user_id", pa.int64()), ("item_id", pa.int64()), ("category_id", pa.int64()),
     ("behavior", pa.string()), ("event_time", pa.int64())]
)  # fmt: skip
SCHEMA = CLICK_COLUMNS.append(pa.field("event_timestamp", parquet_log.TIMESTAMP))
COMPACT_EVERY_S = 5.0
"""How often a running writer turns the committed parts into parquet (a directory listing when there is none)."""
LOWEST_PRIORITY = 19
"""The nice value of the writer's compaction process."""

log = logging.getLogger(__name__)


def log_table(clicks: pa.Table) -> pa.Table:
    """Click columns (`sources.datasets` batches, decoded streamed parts) as event-log rows: one schema whatever the
    source (a behaviour dictionary becomes its names), plus Feast's `event_timestamp`."""
    columns = [clicks[f.name].cast(f.type) for f in CLICK_COLUMNS]
    return pa.Table.from_arrays([*columns, columns[-1].cast(parquet_log.TIMESTAMP)], schema=SCHEMA)


def append(offline_dir: Path, clicks: pa.Table) -> list[Path]:
    """Append clicks to the log, one part per event date (UTC) they span."""
    table = log_table(clicks)
    days = pc.divide(table["event_time"], 86_400_000)
    parts = (parquet_log.append(offline_dir / EVENTS, table.filter(pc.equal(days, day))) for day in pc.unique(days).to_pylist())
    return [part for part in parts if part is not None]


def chronological(events: pa.Table) -> np.ndarray:
    """Row order by user, then event time, ties in event-id order with shorter ids first (`<tag>-9` before
    `<tag>-10`: the recorded order of the datasets' replays). The log's rows come in no particular order (parts
    from several writers); every reader that needs a user's history in order takes this one."""
    ids = events["event_id"]
    return np.lexsort((np.array(ids.to_pylist(), dtype=object), pc.utf8_length(ids).to_numpy(zero_copy_only=False),
                       events["event_time"].to_numpy(), events["user_id"].to_numpy()))  # fmt: skip


def compact(offline_dir: Path, use_threads: bool = True) -> int:
    """Turn every visible streamed part into a parquet part of the log; returns the rows moved. `use_threads`: parse
    with Arrow's thread pool (off in the background, where the work must stay in the calling thread)."""
    rows = 0
    for part in sorted((offline_dir / STREAMED).glob(STREAMED_PARTS)):
        try:
            table = _read_streamed(part, use_threads)
        except FileNotFoundError:  # another compactor took it
            continue
        if table.num_rows:
            parquet_log.write(offline_dir / EVENTS, f"part-{part.parent.name}-{part.stem}.parquet", log_table(table))
            rows += table.num_rows
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return rows


def compact_until(offline_dir: Path, stop: threading.Event, every_s: float = COMPACT_EVERY_S) -> None:
    """Compact every `every_s` until `stop` is set, then once more (`Compaction`'s process runs it).

    A part holds a whole roll interval of clicks (a minute: hundreds of thousands at live rates), and converting one
    takes most of a second of CPU. On Arrow's thread pool it took every core at once and the writer's batches waited
    (docs/benchmarks.md); here it stays in the calling thread, which runs at the lowest CPU priority (Linux: per
    thread), so it takes only what the writer, the job and the store leave idle: under load the log lags a little
    more, the online store does not.
    """
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)
    while not stop.wait(every_s):
        compact(offline_dir, use_threads=False)
    compact(offline_dir, use_threads=False)


class Compaction:
    """`compact_until` in a process of its own, beside a writer's loop, until `stop` (then once more).

    Not a thread of the writer: at the lowest priority, a thread that is descheduled while it holds the GIL (between
    Arrow calls) holds the writer's loop with it, for as long as the busy cores keep it waiting. The process reads
    its stdin until end of file: `stop` closes it, and so does the writer's death, kill -9 included, so it never
    outlives the writer (it compacts once more, which is harmless: a compaction is idempotent).
    """

    def __init__(self, offline_dir: Path, every_s: float = COMPACT_EVERY_S) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", __name__, str(offline_dir), str(every_s)],
                                        stdin=subprocess.PIPE)  # fmt: skip

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        if self.process.wait() != 0:
            log.warning("the event log's compaction process ended with %d: parts wait for the next compaction "
                        "(another writer's, a restart's, or a read)", self.process.returncode)  # fmt: skip


def read(offline_dir: Path) -> pa.Table:
    """The whole log (streamed parts compacted first); FileNotFoundError when it holds nothing."""
    compact(offline_dir)
    return parquet_log.read(offline_dir / EVENTS)


def _read_streamed(part: Path, use_threads: bool) -> pa.Table:
    if part.stat().st_size == 0:
        return CLICK_COLUMNS.empty_table()
    options = pa_json.ParseOptions(explicit_schema=CLICK_COLUMNS, unexpected_field_behavior="error")
    read = pa_json.ReadOptions(use_threads=use_threads)
    return pa_json.read_json(part, read_options=read, parse_options=options).select(CLICK_COLUMNS.names)


def _compact_until_stdin_closes(offline_dir: Path, every_s: float) -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()
    compact_until(offline_dir, stop, every_s)


if __name__ == "__main__":
    _compact_until_stdin_closes(Path(sys.argv[1]), float(sys.argv[2]))
