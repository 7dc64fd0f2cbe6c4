"""Redis Cluster routing for freshrec's own framed commands (`resp`): by slot, per master, retried whole.

freshrec frames its reads and writes itself and sends them on one node's connection. On a cluster (a redis-py
`RedisCluster` client) they are grouped by the master serving each key's slot, from redis-py's view of the topology;
commands that must be atomic together touch one slot only (a user's views share one Feast key, and the result cache's
key is tagged into that key's slot: `slot_tag`). Every read and write of freshrec is idempotent, so an operation that
meets a redirection (MOVED/ASK), a cluster that is down or a node that is gone (a failover in progress) is retried
whole after redis-py refreshes the topology, until `RETRY_S` has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import TypeVar

import redis
from redis.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import AskError, ClusterDownError, TryAgainError

Client = redis.Redis | RedisCluster
T = TypeVar("T")

RETRY_S = 30.0
"""How long an operation keeps retrying through a topology change: more than a failover takes with Redis's default
`cluster-node-timeout` (15 s) plus the election."""
_REDIRECTS = ("MOVED", "ASK", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN")
_REDIRECT_ERRORS = (AskError, ClusterDownError, TryAgainError)
"""redis-py's classes of those replies (MOVED is an AskError, MASTERDOWN a ClusterDownError), their prefix stripped."""
_UNDER_A_SCRIPT = ("Script attempted to access a non local key", "Script attempted to execute a command while the cluster is down")
"""The same, met by a script that runs without declared keys (the writer's `keys_in_argv` call): a key another
master serves now, or a cluster that is failing over."""


def is_cluster(client: Client) -> bool:
    return isinstance(client, RedisCluster)


def by_master(client: RedisCluster, keys: Sequence[bytes]) -> list[tuple[redis.Redis, list[int]]]:
    """The positions of `keys`, grouped by the master that serves each one's slot, with a client of that master."""
    groups: dict[str, list[int]] = {}
    nodes = {}
    for i, key in enumerate(keys):
        node = client.nodes_manager.get_node_from_slot(key_slot(key))
        groups.setdefault(node.name, []).append(i)
        nodes[node.name] = node
    return [(client.get_redis_connection(nodes[name]), positions) for name, positions in groups.items()]


def retrying(client: RedisCluster, operation: Callable[[], T], retry_s: float = RETRY_S) -> T:
    """`operation()`, retried whole through redirections and lost nodes, with the topology refreshed in between."""
    deadline = time.monotonic() + retry_s
    while True:
        try:
            return operation()
        except redis.AuthenticationError:
            raise
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
            if isinstance(exc, redis.ResponseError) and not is_redirect(exc):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)
        refresh(client)


def refresh(client: RedisCluster) -> None:
    """Ask the cluster again which master serves which slot (no error while it is still electing one)."""
    try:
        client.nodes_manager.initialize()
    except redis.RedisError:
        pass


def is_redirect(error: Exception) -> bool:
    """A reply that the topology changed or is changing: redis-py's classes, or the raw reply (hiredis's)."""
    message = str(error)
    return isinstance(error, _REDIRECT_ERRORS) or message.startswith(_REDIRECTS) or any(m in message for m in _UNDER_A_SCRIPT)


def slot_tag(key: bytes) -> bytes:
    """A hash tag (`{tag}`) that puts another key in `key`'s slot, whatever bytes `key` holds."""
    return _tags()[key_slot(key)]


def tag_of_slot(slot: int) -> bytes:
    """A hash tag that puts a key in `slot`."""
    return _tags()[slot]


def first_slots(client: RedisCluster) -> list[int]:
    """The lowest slot each master serves, as the client sees the cluster now."""
    first: dict[str, int] = {}
    for slot in range(REDIS_CLUSTER_HASH_SLOTS):
        nodes = client.nodes_manager.slots_cache.get(slot)
        if nodes:
            first.setdefault(nodes[0].name, slot)
    return sorted(first.values())


@cache
def _tags() -> list[bytes]:
    """For each slot, the shortest decimal string that hashes to it (found once, in ~0.1 s)."""
    tags: list[bytes | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    missing, n = REDIS_CLUSTER_HASH_SLOTS, 0
    while missing:
        tag = b"%d" % n
        slot = key_slot(tag)
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
        n += 1
    return tags  # type: ignore[return-value]
