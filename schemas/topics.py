"""The system's Kafka topics: one definition of their names, and of the message each carries.

Configurable as a whole (`infra.config.Settings.topics`, `FRESHREC_TOPICS__<NAME>`); every module that needs a default
name takes it from `DEFAULT_TOPICS`, so a name is written once.
"""

from __future__ import annotations

from pydantic import BaseModel


class TopicSettings(BaseModel):
    clicks: str = "clicks"
    """`click_event` (Avro), keyed by the decimal user id: what producers and `freshrec replay` write."""
    dead_letter: str = "clicks-dlq"
    """`dead_letter` (Avro): clicks the behavior job cannot apply (corrupt, mis-keyed, future, late), whole."""
    snapshots: str = "user-snapshots"
    """`user_snapshot` (Avro), key {"user_id": N}: the behavior job's coalesced per-user snapshots, read by the
    snapshot writer."""
    snapshot_dead_letter: str = "user-snapshots-dlq"
    """`dead_letter` (Avro): snapshots the writer cannot decode or validate, whole, so one never blocks the rest."""
    feature_updates: str = "feature-updates"
    """`feature_update` (Avro): (user, version) of each stored snapshot, for the refresher."""
    clicks_max_bytes: int = 1_048_588
    """The largest record the clicks topic takes (its `max.message.bytes`; Kafka's default). A dead letter carries
    its record whole, so the dead-letter topics take this plus `DEAD_LETTER_HEADROOM`."""

    def names(self) -> list[str]:
        return [self.clicks, self.dead_letter, self.snapshots, self.snapshot_dead_letter, self.feature_updates]

    @property
    def dead_letter_max_bytes(self) -> int:
        return self.clicks_max_bytes + DEAD_LETTER_HEADROOM

    def configs(self) -> dict[str, dict[str, str]]:
        """Topic configuration by name, for creating the topics."""
        letters = {"max.message.bytes": str(self.dead_letter_max_bytes)}
        return {name: dict(letters) if name in (self.dead_letter, self.snapshot_dead_letter) else {}
                for name in self.names()}  # fmt: skip


DEAD_LETTER_HEADROOM = 16_384
"""What a dead letter adds to its record at most: source topic, coordinates, error type and a reason (the job caps a
reason at 1,024 characters of UTF-8), and the record batch's own header."""
DEFAULT_TOPICS = TopicSettings()
