"""Append-only parquet folders: the click event log and feature-view snapshots, in the layout Feast's file source reads.

Each append is one new immutable file (`part-<first event date>-<uuid>.parquet`), written to a temporary name and
renamed, so readers never see half a file and concurrent writers never collide.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from feature_store.views import ViewSpec

_ARROW = {
    "int64": pa.int64(), "int32": pa.int32(), "float32": pa.float32(), "string": pa.string(),
    "int64[]": pa.list_(pa.int64()), "int32[]": pa.list_(pa.int32()), "float32[]": pa.list_(pa.float32()),
    "string[]": pa.list_(pa.string()),
}  # fmt: skip
TIMESTAMP = pa.timestamp("ms", tz="UTC")


def snapshot_schema(view: ViewSpec) -> pa.Schema:
    """Columns of a view's offline snapshots: join key, event_timestamp, created, then the features."""
    return pa.schema(
        [pa.field(view.join_key, pa.int64()), pa.field("event_timestamp", TIMESTAMP), pa.field("created", TIMESTAMP)]
        + [pa.field(f.name, _ARROW[f.dtype]) for f in view.fields]
    )


def append(directory: Path, table: pa.Table, time_column: str = "event_timestamp") -> Path | None:
    """Write `table` as one new part file in `directory`; returns its path (None for an empty table)."""
    if table.num_rows == 0:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    first = pc.min(table[time_column]).as_py()
    name = f"part-{first:%Y-%m-%d}-{uuid.uuid4().hex[:12]}.parquet"
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


def snapshots_table(view: ViewSpec, rows: list[dict], created_ms: int) -> pa.Table:
    """Snapshot rows (as given to the online writer: join key, event_time ms, features) in the offline schema."""
    schema = snapshot_schema(view)
    columns = {
        view.join_key: [r[view.join_key] for r in rows],
        "event_timestamp": [r["event_time"] for r in rows],
        "created": [created_ms] * len(rows),
    }
    for spec in view.fields:
        columns[spec.name] = [_plain(r[spec.name]) for r in rows]
    return pa.table({name: pa.array(values, type=schema.field(name).type) for name, values in columns.items()}, schema=schema)


def _plain(value: object) -> object:
    return value.tolist() if hasattr(value, "tolist") else value
