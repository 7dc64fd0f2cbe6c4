"""Cached top-K results in Redis, tagged with the feature version and model they were computed from.

A result is served only while its version equals the user's current feature version and its model is the one
loaded: a click makes it stale at once, no TTL guesswork. Writes are compare-and-set on the version (a slow writer
never replaces a newer result with an older one), so the API's write-through and the refresher may race freely.
A user's entry lives in the slot of the user's features (a hash tag): on Redis Cluster a read of both is still one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import redis
from redis.commands.core import Script

from feature_store.online import cluster
from feature_store.online.layout import ViewLayout
from feature_store.store import PROJECT
from feature_store.views import USER_REALTIME

_USER_FEATURES = ViewLayout(USER_REALTIME, PROJECT)

# value = b"<version>|<json>"; replaced unless the stored version is newer
_SET_IF_NOT_OLDER = """
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(-?%d+)|'))
  if stored and stored > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


@dataclass
class CachedResult:
    version: int
    model_id: str
    computed_ms: int
    items: list[int]
    scores: list[float]

    def encode(self) -> bytes:
        fields = {"version": self.version, "model_id": self.model_id, "computed_ms": self.computed_ms,
                  "items": self.items, "scores": self.scores}  # fmt: skip  (not `asdict`: it deep-copies, ~30x the cost)
        return b"%d|%s" % (self.version, orjson.dumps(fields))

    @classmethod
    def decode(cls, raw: bytes | None) -> CachedResult | None:
        """None for a missing or unreadable entry (a cache is never worth an error)."""
        if not raw:
            return None
        try:
            return cls(**orjson.loads(raw[raw.index(b"|") + 1 :]))
        except (ValueError, TypeError):
            return None


def key(user_id: int) -> bytes:
    return b"freshrec:recs:%d:{%s}" % (user_id, cluster.slot_tag(_USER_FEATURES.key(user_id)))


class ResultCache:
    def __init__(self, client: cluster.Client, ttl_s: int) -> None:
        self.client, self.ttl_s = client, ttl_s
        self._set = Script(None, _SET_IF_NOT_OLDER.encode())  # type: ignore[arg-type]  (run on pipelines only)

    def write_many(self, results: dict[int, CachedResult]) -> int:
        """One pipelined round trip (per master on a cluster); returns how many entries were written (older
        versions are skipped)."""
        if not results:
            return 0
        entries = [(key(user_id), [result.version, result.encode(), self.ttl_s]) for user_id, result in results.items()]
        if not cluster.is_cluster(self.client):
            return self._write(self.client, entries)
        return cluster.retrying(self.client, lambda: sum(  # type: ignore[arg-type]
            self._write(node, [entries[i] for i in positions])
            for node, positions in cluster.by_master(self.client, [k for k, _ in entries])))  # type: ignore[arg-type]

    def _write(self, client: redis.Redis, entries: list[tuple[bytes, list]]) -> int:
        pipe = client.pipeline(transaction=False)
        for cache_key, args in entries:
            self._set(keys=[cache_key], args=args, client=pipe)
        return sum(pipe.execute())
