"""Cached top-K results in Redis, tagged with the feature version and model they were computed from.

A result is served only while its version equals the user's current feature version and its model is the one
loaded: a click makes it stale at once, no TTL guesswork. Writes are compare-and-set on the version (a slow writer
never replaces a newer result with an older one), so the API's write-through and the refresher may race freely.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import redis

KEY = b"freshrec:recs:%d"

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
    return KEY % user_id


class ResultCache:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self.client, self.ttl_s = client, ttl_s
        self._set = client.register_script(_SET_IF_NOT_OLDER)

    def write_many(self, results: dict[int, CachedResult]) -> int:
        """One pipelined round trip; returns how many entries were written (older versions are skipped)."""
        if not results:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for user_id, result in results.items():
            self._set(keys=[key(user_id)], args=[result.version, result.encode(), self.ttl_s], client=pipe)
        return sum(pipe.execute())
