"""The online store rebuilt from the offline snapshot log, and the marker that tells a filled store from a lost one.

Redis holds each entity's newest row of what the offline log holds in full, so the log can always refill it. A store
that restarts empty (no persistence, a lost volume, a failover to an empty replica) loses the marker key with the
data; `StoreGuard.ensure`, called by a writer before it writes, notices and refills every view from its offline
snapshots. The refill goes through the versioned writer: a row written meanwhile is never overwritten by an older
one, and a rebuild run twice changes nothing (idempotent by version).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from redis.cluster import RedisCluster

from feature_store.offline.parquet_log import snapshot_schema
from feature_store.online import cluster
from feature_store.online.validation import online_schema
from feature_store.online.writer import OnlineWriter, WriteResult
from feature_store.store import PROJECT
from feature_store.views import ViewSpec

BATCH_ROWS = 5_000


def marker_key(project: str = PROJECT) -> bytes:
    """Set once the store holds everything the offline log holds; it never expires (volatile eviction spares it)."""
    return f"freshrec:{project}:online-filled".encode()


def newest_offline(view: ViewSpec, parts: list[Path]) -> pa.Table:
    """The newest offline row per entity across `parts` (by version, then `created`), one part in memory at a time."""
    schema = snapshot_schema(view)
    newest = schema.empty_table()
    for part in parts:
        table = pq.read_table(part).select(schema.names).cast(schema)
        newest = _newest(view, pa.concat_tables([newest, table]))
    return newest


def _newest(view: ViewSpec, table: pa.Table) -> pa.Table:
    keys = table[view.join_key].to_numpy()
    version = table["version" if "version" in view.field_names else "event_timestamp"]
    order = np.lexsort((table["created"].cast(pa.int64()).to_numpy(), version.cast(pa.int64()).to_numpy(), keys))
    last = order[np.append(keys[order][1:] != keys[order][:-1], True)]
    return table.take(last)


def online_rows(view: ViewSpec, offline: pa.Table) -> pa.Table:
    """Offline snapshots in the form the online writer takes (`validation.online_schema`)."""
    event_time = offline["event_timestamp"].cast(pa.int64())
    columns = {view.join_key: offline[view.join_key], "event_time": event_time}
    if "version" not in view.field_names:
        columns["version"] = event_time
    columns |= {f.name: offline[f.name] for f in view.fields}
    return pa.table(columns, schema=online_schema(view))


def rebuild(writers: Mapping[str, OnlineWriter], offline_dir: Path) -> dict[str, WriteResult]:
    """Write each view's newest offline rows online (`writers`: view name -> its writer); views without offline
    snapshots are skipped."""
    results = {}
    for name, writer in writers.items():
        parts = sorted((offline_dir / name).glob("part-*.parquet"))
        if parts:
            rows = online_rows(writer.view, newest_offline(writer.view, parts))
            results[name] = writer.write_tables(_slices(rows))
    return results


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, BATCH_ROWS):
        yield table.slice(start, BATCH_ROWS)


@dataclass
class StoreGuard:
    """Refills the store from the offline log whenever its marker is missing: on a first start, or after the store
    lost its data. One EXISTS per call when the store is filled (per master on a Redis Cluster: each has a marker in
    one of its slots, so a master that comes back empty is noticed too)."""

    client: cluster.Client
    offline_dir: Path
    writers: Mapping[str, OnlineWriter]
    project: str = PROJECT
    _slot_map: dict | None = field(default=None, init=False, repr=False)
    _markers: list[bytes] = field(default_factory=list, init=False, repr=False)

    def ensure(self) -> dict[str, WriteResult] | None:
        """None if the store was filled; else what the refill wrote."""
        return None if self.filled() else self.refill()

    def filled(self) -> bool:
        """Whether the store holds its marker (every master's, on a cluster)."""
        return all(self.client.exists(key) for key in self.marker_keys())

    def refill(self) -> dict[str, WriteResult]:
        """Rebuild every view from the offline log, then mark the store filled; again if a server restarted
        meanwhile (its run_id changed), since what was written before that is gone."""
        while True:
            servers = self._servers()
            results = rebuild(self.writers, self.offline_dir)
            markers = self.marker_keys()
            for key in markers:
                self.client.set(key, int(time.time() * 1000))
            if self._servers() == servers:
                return results
            for key in markers:
                self.client.delete(key)

    def marker_keys(self) -> list[bytes]:
        """The marker, or one per master of a cluster (in the lowest slot it serves). `ensure` runs before every
        write batch: the cluster's are found again only when redis-py has read a new slot map (a new dict)."""
        key = marker_key(self.project)
        if not cluster.is_cluster(self.client):
            return [key]
        slots = self.client.nodes_manager.slots_cache  # type: ignore[union-attr]
        if slots is not self._slot_map:
            self._markers = [b"%s:{%s}" % (key, cluster.tag_of_slot(slot)) for slot in cluster.first_slots(self.client)]  # type: ignore[arg-type]
            self._slot_map = slots
        return self._markers

    def _servers(self) -> set[str]:
        """The run ids of the server, or of every master: any restart changes them."""
        if not cluster.is_cluster(self.client):
            return {self.client.info("server")["run_id"]}
        infos = self.client.info("server", target_nodes=RedisCluster.PRIMARIES)  # type: ignore[call-arg]
        return {info["run_id"] for info in infos.values()}
