"""Append-only parquet folders: the click event log and feature-view snapshots, in the layout Feast's file source reads.

Each append is one new immutable file (`part-<first event date>-<uuid>.parquet`), written to a temporary name and
renamed, so readers never see half a file and concurrent writers never collide. A snapshot part may carry, in its
footer, the last Kafka offset per partition of the records it was made from (`SOURCE_KEY`): a writer that restarts
after appending but before committing its offsets reads them back and appends no row twice.
"""

from __future__ import annotations

import json
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
SOURCE_KEY = b"freshrec.source"
"""Footer metadata of a snapshot part: `{"topic": name, "offsets": {partition: last offset}}`, JSON."""


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
    name is replaced whole, never seen half-written, also when two processes write it at once."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    # dictionary pages only for scalar columns: over the long numeric lists of a snapshot they triple the write time
    # and make the file larger (zstd does better on the plain values)
    scalars = [f.name for f in table.schema if not pa.types.is_nested(f.type)]
    pq.write_table(table, tmp, compression="zstd", use_dictionary=scalars)
    os.replace(tmp, directory / name)
    return directory / name


def read(directory: Path) -> pa.Table:
    """Every part file of `directory`, concatenated (hidden in-progress files excluded)."""
    parts = sorted(p for p in directory.glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no parquet parts in {directory}")
    return pa.concat_tables(pq.read_table(p) for p in parts)


def append_snapshots(
    offline_dir: Path, view: ViewSpec, online: pa.Table, source: tuple[str, dict[int, int]] | None = None
) -> Path | None:
    """Append a batch just written online to the view's offline snapshots, stamped `created` = now; `source`: the
    topic and, per partition, the last offset the batch was made from, kept in the part's footer."""
    return append_offline(offline_dir, view, snapshots_table(view, online, int(time.time() * 1000)), source)


def append_offline(
    offline_dir: Path, view: ViewSpec, offline: pa.Table, source: tuple[str, dict[int, int]] | None = None
) -> Path | None:
    """`append_snapshots` of rows already in their offline form (`snapshots_table`, each batch its own `created`)."""
    if source is not None:
        topic, offsets = source
        offline = offline.replace_schema_metadata({SOURCE_KEY: json.dumps({"topic": topic, "offsets": offsets}).encode()})
    return append(offline_dir / view.name, offline)


def appended_offsets(directory: Path, topic: str) -> dict[int, int]:
    """Per partition of `topic`, the last offset whose snapshots a part of `directory` holds (footers only)."""
    last: dict[int, int] = {}
    for part in directory.glob("part-*.parquet"):
        metadata = pq.read_schema(part).metadata or {}
        if SOURCE_KEY not in metadata:
            continue
        source = json.loads(metadata[SOURCE_KEY])
        if source["topic"] == topic:
            for partition, offset in source["offsets"].items():
                last[int(partition)] = max(last.get(int(partition), -1), offset)
    return last


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
