"""Append-only parquet folders: the click event log and feature-view snapshots, in the layout Feast's file source reads.

Each append is one new immutable file (`part-<first event date>-<uuid>.parquet`), written to a temporary name and
renamed, so readers never see half a file and concurrent writers never collide.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feature_store.online.validation import ARROW_TYPES
from feature_store.views import ViewSpec

TIMESTAMP = pa.timestamp("ms", tz="UTC")


def snapshot_schema(view: ViewSpec) -> pa.Schema:
    """Columns of a view's offline snapshots: join key, event_timestamp, created, then the features."""
    return pa.schema(
        [pa.field(view.join_key, pa.int64()), pa.field("event_timestamp", TIMESTAMP), pa.field("created", TIMESTAMP)]
        + [pa.field(f.name, ARROW_TYPES[f.dtype]) for f in view.fields]
    )


def append(directory: Path, table: pa.Table, time_column: str = "event_timestamp") -> Path | None:
    """Write `table` as one new part file in `directory`; returns its path (None for an empty table)."""
    if table.num_rows == 0:
        return None
    first = pc.min(table[time_column]).as_py()
    return write(directory, f"part-{first:%Y-%m-%d}-{uuid.uuid4().hex[:12]}.parquet", table)


def write(directory: Path, name: str, table: pa.Table) -> Path:
    """Write `table` as `directory/name` atomically (temporary hidden name, then rename): an existing file of that
    name is replaced whole, never seen half-written."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, directory / name)
    return directory / name


def read(directory: Path) -> pa.Table:
    """Every part file of `directory`, concatenated (hidden in-progress files excluded)."""
    parts = sorted(p for p in directory.glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no parquet parts in {directory}")
    return pa.concat_tables(pq.read_table(p) for p in parts)


def append_snapshots(offline_dir: Path, view: ViewSpec, online: pa.Table) -> Path | None:
    """Append a batch just written online to the view's offline snapshots, stamped `created` = now."""
    created = int(time.time() * 1000)
    return append(offline_dir / view.name, snapshots_table(view, online, created))


def snapshots_table(view: ViewSpec, online: pa.Table, created_ms: int) -> pa.Table:
    """The offline form of a batch given to the online writer (`validation.online_schema`): same rows and values,
    `event_time` as Feast's `event_timestamp`, plus the `created` time that breaks ties in point-in-time joins."""
    schema = snapshot_schema(view)
    columns = {
        view.join_key: online[view.join_key],
        "event_timestamp": online["event_time"].cast(TIMESTAMP),
        "created": pa.array([created_ms] * online.num_rows, pa.int64()).cast(TIMESTAMP),
    }
    columns |= {f.name: online[f.name] for f in view.fields}
    return pa.table(columns, schema=schema)
