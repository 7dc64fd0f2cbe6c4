"""The streaming tunables an operator sets: the `stream` section of freshrec's configuration (FRESHREC_STREAM__*).

The behavior job (`JobConfig.stream`) and the snapshot writer read them from here, and the reference rules
(`streaming.state.user_state`) take the same numbers, so each is defined once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

DAY_S = 86_400


class StreamSettings(BaseModel):
    out_of_orderness_ms: int = Field(5_000, ge=0, description=(
        "an event more than this behind its user's newest applied event is late (dead-lettered); one within it is "
        "applied in event-time order. Also how long a user's event ids are remembered for dedup"))  # fmt: skip
    max_ahead_ms: int = Field(300_000, ge=0, description=(
        "an event dated more than this ahead of the job's clock is dead-lettered (FutureEvent): applied, it would "
        "make its user's next clicks late until real time caught up. Allow for producers' clock skew"))  # fmt: skip
    state_ttl_s: int = Field(30 * DAY_S, ge=0, description=(
        "a user's state in the job is dropped after this long without a click (processing time; 0: never): the "
        "job's memory holds the active users, and a user back after it starts afresh"))  # fmt: skip
    key_ttl_s: int = Field(30 * DAY_S, ge=0, description=(
        "a user's online features expire this long after their last write (Redis EXPIRE; 0: never), so the store "
        "holds the active users; keep it at least state_ttl_s"))  # fmt: skip
