"""Kafka helpers for tests: topics made before use, and a producer whose retries keep produce order."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def unique_topic(prefix: str) -> str:
    """`prefix` made a valid topic name, unique per call."""
    clean = "".join(c if c.isalnum() or c in "._-" else "-" for c in prefix[:40])
    return f"{clean}-{uuid.uuid4().hex[:8]}"


def ordered_producer(bootstrap: str, extra: dict[str, Any] | None = None) -> Producer:
    """A producer whose retries can neither reorder nor duplicate (idempotent, so acks=all and at most 5 requests in
    flight): tests compare a job's output with a reference that saw the events in produce order, and a plain
    producer that retries a slow first request to a new topic on a busy machine lands that batch after later ones."""
    return Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, **(extra or {})})


def create_topics(bootstrap: str, names: list[str], partitions: int = 2) -> None:
    """New topics of `partitions` partitions each, replicated as the cluster's default (-1), created before
    returning."""
    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the futures
    for future in admin.create_topics([NewTopic(name, partitions, -1) for name in names]).values():
        future.result(30)
