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
    catch_up_ms: int = Field(2_000, ge=0, description=(
        "the coalescing interval of a click already more than this behind the job's clock (a backlog, an overload): a "
        "job that falls behind writes fewer, fuller snapshots and catches up; live clicks coalesce over the job's "
        "flush interval (100 ms). A replay of a recorded history is all 'behind': set it to 0 to serve it as live"))  # fmt: skip
    checkpoint_interval_ms: int = Field(10_000, ge=100, description=(
        "how often the job checkpoints: its state and Kafka offsets, and the event-log parts it closed since. On the "
        "heap state backend a checkpoint copies every user's state: its CPU grows with the users held and shrinks "
        "with this interval (docs/benchmarks.md). A crash replays at most this much of the stream (deduplicated), "
        "and a bounded run ends at the checkpoint after its last event"))  # fmt: skip
    event_log_roll_ms: int = Field(60_000, ge=100, description=(
        "the job closes an event-log part file after this long; it becomes visible at the next checkpoint after "
        "that, so the offline event log lags the stream by about this much and holds one part per event date per "
        "job subtask per interval"))  # fmt: skip
