"""One-round-trip reads of Feast-layout Redis hashes, for one entity or a batch, decoded into numpy arrays.

A batch read is one MULTI/EXEC of HMGETs, every view of every entity: one round trip, and all values as of one
instant (never half of a concurrent write batch). On Redis Cluster a transaction stays within one slot: a batch is one
MULTI/EXEC per entity (its views and its extra key, co-located), pipelined per master: each entity's values as of one
instant, one round trip per master. Max age is enforced here, at read time (Feast does not enforce a
view's ttl online): a row whose event timestamp is older than `max_age` is reported as expired, its values withheld.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import redis

from feature_store.online import cluster, resp
from feature_store.online.layout import ViewLayout, timestamp_ms
from feature_store.online.value_decoding import Column, ListColumn, decode_columns
from feature_store.store import PROJECT
from feature_store.views import ViewSpec

SPIN_US = 200
"""Default reply polling budget of a read (`resp.await_reply`): halves a single-user read on an idle host."""


@dataclass
class ViewRow:
    status: str
    """present, missing (no row) or expired (older than max_age)."""
    values: dict[str, Any] = field(default_factory=dict)
    event_time: int | None = None
    version: int | None = None


@dataclass
class FeatureVector:
    entity_id: int
    views: dict[str, ViewRow]

    def __getitem__(self, view: str) -> ViewRow:
        return self.views[view]


@dataclass
class ViewBatch:
    """One view for a batch of entities, as columns: what a model consumes."""

    status: np.ndarray
    event_time: np.ndarray
    """epoch ms, 0 where missing."""
    version: np.ndarray
    """-1 where missing or unversioned."""
    columns: dict[str, Column]

    def row(self, i: int) -> ViewRow:
        status = str(self.status[i])
        event_time = int(self.event_time[i]) or None
        version = int(self.version[i]) if self.version[i] >= 0 else None
        if status != "present":
            return ViewRow(status, {}, event_time, version)
        values = {name: (col[i] if isinstance(col, ListColumn) else _scalar(col[i])) for name, col in self.columns.items()}
        return ViewRow(status, values, event_time, version)


@dataclass
class FeatureBatch:
    entity_ids: np.ndarray
    views: dict[str, ViewBatch]

    def __getitem__(self, view: str) -> ViewBatch:
        return self.views[view]

    def vector(self, i: int) -> FeatureVector:
        return FeatureVector(int(self.entity_ids[i]), {name: view.row(i) for name, view in self.views.items()})


class OnlineReader:
    """Reads several views of one entity type, for one entity or a batch, in one round trip per call."""

    def __init__(
        self,
        client: cluster.Client,
        views: Sequence[ViewSpec],
        project: str = PROJECT,
        max_age: Mapping[str, timedelta] | None = None,
        spin_us: int = SPIN_US,
    ) -> None:
        """`spin_us`: how long a read polls for its reply before blocking (`resp.await_reply`); 0 never polls."""
        entities = {v.entity for v in views}
        if len(entities) != 1:
            raise ValueError(f"views of one entity type only, got {sorted(entities)}")
        self.client = client
        self.layouts = [ViewLayout(v, project) for v in views]
        ages = {v.name: v.ttl for v in views} | dict(max_age or {})
        self._max_age_ms = {name: int(age.total_seconds() * 1000) for name, age in ages.items()}
        self._fields = [[*lay.field_keys, lay.ts_key, lay.version_key] for lay in self.layouts]
        self._connections = resp.ThreadConnections(client) if not cluster.is_cluster(client) else None
        self._node_connections: dict[redis.Redis, resp.ThreadConnections] = {}
        self._spin_us = spin_us
        # HMGET framing per view, cached around the key: a read only frames the keys
        self._hmget = [resp.command([b"HMGET", b"%KEY%", *f]).split(b"$5\r\n%KEY%\r\n") for f in self._fields]

    def read(self, entity_id: int, now_ms: int | None = None) -> FeatureVector:
        """One entity: decoded field by field (cheaper than the columnar path for a single row)."""
        replies = self._replies([int(entity_id)], ())
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        return FeatureVector(int(entity_id), {lay.view.name: self._row(lay, raw, now) for lay, raw in zip(self.layouts, replies)})

    def read_many(self, entity_ids: Sequence[int], now_ms: int | None = None) -> list[FeatureVector]:
        batch = self.read_batch(entity_ids, now_ms)
        return [batch.vector(i) for i in range(len(entity_ids))]

    def read_batch(self, entity_ids: Sequence[int] | np.ndarray, now_ms: int | None = None) -> FeatureBatch:
        """All views of `entity_ids`, atomically (as of one instant), decoded into columns."""
        return self.read_batch_with(entity_ids, (), now_ms)[0]

    def read_batch_with(self, entity_ids: Sequence[int] | np.ndarray, keys: Sequence[bytes], now_ms: int | None = None,
                        ) -> tuple[FeatureBatch, list[bytes | None]]:  # fmt: skip
        """`read_batch`, plus the string values at `keys` (GET) in the same transaction: a consumer that keeps its
        own state beside the features (serving's result cache) sees both as of one instant, in one round trip. On a
        cluster, `keys` are one per entity, each in its entity's slot (`cluster.slot_tag`)."""
        ids = np.asarray(entity_ids, dtype=np.int64)
        return self.columns(ids, self._replies(ids.tolist(), keys), len(keys), now_ms)

    def frame(self, ids: list[int], keys: Sequence[bytes] = ()) -> tuple[list[bytes], int]:
        """The packed commands of one batch read and how many replies they get: one HMGET per view per entity,
        entity-major, then a GET per key; several go in one MULTI/EXEC (one round trip, one instant). For callers
        doing their own I/O (`async_reader`) as well as this class."""
        commands = [
            b"%s$%d\r\n%s\r\n%s" % (head, len(key), key, tail)
            for entity in ids
            for layout, (head, tail) in zip(self.layouts, self._hmget)
            for key in (layout.key(entity),)
        ]
        commands += [resp.command([b"GET", key]) for key in keys]
        if len(commands) == 1:  # one HMGET is atomic by itself
            return commands, 1
        return [b"*1\r\n$5\r\nMULTI\r\n", *commands, b"*1\r\n$4\r\nEXEC\r\n"], len(commands) + 2

    def decode(self, ids: np.ndarray, replies: list, keys: int, now_ms: int | None = None,
               ) -> tuple[FeatureBatch, list[bytes | None]]:  # fmt: skip
        """The replies to `frame(ids, <keys>)`, in order (+OK and +QUEUED included), as the batch and the values
        at the keys."""
        return self.columns(ids, command_replies(replies), keys, now_ms)

    def columns(self, ids: np.ndarray, replies: list, keys: int, now_ms: int | None,
                 ) -> tuple[FeatureBatch, list[bytes | None]]:  # fmt: skip
        """Command replies (the HMGETs entity-major, then the GETs) as the batch and the values at the keys."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        features = replies[: len(replies) - keys]
        views = {layout.view.name: self._decode(layout, features[v :: len(self.layouts)], now)
                 for v, layout in enumerate(self.layouts)}  # fmt: skip
        return FeatureBatch(ids, views), replies[len(replies) - keys :]

    def _replies(self, ids: list[int], keys: Sequence[bytes]) -> list:
        """Every command's reply: the HMGETs entity-major, then the GETs."""
        if self._connections is not None:
            return command_replies(self._round_trip(*self.frame(ids, keys)))
        if keys and len(keys) != len(ids):
            raise ValueError("on Redis Cluster a batch read takes one extra key per entity, in the entity's slot")
        return cluster.retrying(self.client, lambda: self._cluster_replies(ids, keys))  # type: ignore[arg-type]

    def _cluster_replies(self, ids: list[int], keys: Sequence[bytes]) -> list:
        """Every master asked before any is read: a batch costs the slowest master's round trip, not their sum."""
        with ExitStack() as stack:
            sent = []
            for node, positions, payload, counts in self.cluster_frames(ids, keys):
                connections = self._node_connections.get(node) or self._node_connections.setdefault(node, resp.ThreadConnections(node))
                connection = stack.enter_context(connections.connection())
                connection.send_packed_command(payload)
                sent.append((positions, counts, connection))
            answered = []
            for positions, counts, connection in sent:
                resp.await_reply(connection, self._spin_us)
                answered.append((positions, counts, [connection.read_response() for _ in range(sum(counts))]))
        return self.cluster_gather(len(ids), len(keys), answered)

    def cluster_frames(self, ids: list[int], keys: Sequence[bytes] = (),
                       ) -> list[tuple[redis.Redis, list[int], list[bytes], list[int]]]:  # fmt: skip
        """A batch read on a cluster, per master: its client, the positions of its entities, their packed commands
        (each entity's own MULTI/EXEC, with its key when `keys` are given) and each entity's reply count."""
        entity_keys = [self.layouts[0].key(entity) for entity in ids]  # every view of an entity: one key
        plan = []
        for node, positions in cluster.by_master(self.client, entity_keys):  # type: ignore[arg-type]
            frames = [self.frame([ids[p]], [keys[p]] if keys else ()) for p in positions]
            plan.append((node, positions, [c for f, _ in frames for c in f], [n for _, n in frames]))
        return plan

    def cluster_gather(self, entities: int, keys: int, answered: list[tuple[list[int], list[int], list]]) -> list:
        """The masters' replies to `cluster_frames` ((positions, reply counts, replies) each) as one batch's command
        replies: the HMGETs entity-major, then the GETs."""
        views = len(self.layouts)
        features: list = [None] * (entities * views)
        values: list = [None] * keys
        for positions, counts, replies in answered:
            at = 0
            for p, n in zip(positions, counts):
                got, at = command_replies(replies[at : at + n]), at + n
                features[p * views : (p + 1) * views] = got[:views]
                if keys:
                    values[p] = got[views]
        return features + values

    def _round_trip(self, payload: list[bytes], expected: int) -> list:
        with self._connections.connection() as connection:  # type: ignore[union-attr]  (one server's)
            connection.send_packed_command(payload)
            resp.await_reply(connection, self._spin_us)
            return [connection.read_response() for _ in range(expected)]

    def _row(self, layout: ViewLayout, raw: list[bytes | None], now: int) -> ViewRow:
        event_time = timestamp_ms(raw[-2])
        if event_time is None:
            return ViewRow("missing")
        version = int(raw[-1]) if raw[-1] is not None else None
        if now - event_time > self._max_age_ms[layout.view.name]:
            return ViewRow("expired", event_time=event_time, version=version)
        return ViewRow("present", layout.decode_fields(raw[:-2]) or {}, event_time, version)

    def _decode(self, layout: ViewLayout, rows: list[list[bytes | None]], now: int) -> ViewBatch:
        n = len(rows)
        event_time = np.array([timestamp_ms(r[-2]) or 0 for r in rows], dtype=np.int64)
        version = np.array([int(r[-1]) if r[-1] is not None else -1 for r in rows], dtype=np.int64)
        expired = (event_time > 0) & (now - event_time > self._max_age_ms[layout.view.name])
        status = np.where(event_time == 0, "missing", np.where(expired, "expired", "present"))
        keep = status == "present"
        if not keep.all():  # values of missing and expired rows are not returned
            rows = [r if k else [None] * len(r) for r, k in zip(rows, keep.tolist())]
        fields = list(zip(*rows)) if n else [[] for _ in range(len(layout.view.fields) + 2)]
        return ViewBatch(status, event_time, version, decode_columns(list(layout.view.fields), fields[:-2]))


def command_replies(replies: list) -> list:
    """The replies of the commands `OnlineReader.frame` made, from all it got back: EXEC's array (after +OK and a
    +QUEUED per command), or the one reply of a lone command."""
    return replies[-1] if len(replies) > 1 else replies


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
