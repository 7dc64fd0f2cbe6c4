"""Reading back what the behavior job wrote: snapshots (JSON key, Avro value, newest per user) and dead letters; and
what its Prometheus reporter serves."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from datetime import timedelta
from typing import Any

import redis
from confluent_kafka import Consumer, Message
from prometheus_client.parser import text_string_to_metric_families

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from schemas.codec import AvroCodec
from streaming.state.user_state import BehaviorState

FIELDS = ("item_ids", "category_ids", "behaviors", "event_times", "count_pv", "count_cart", "count_fav", "count_buy",
          "top_categories", "summary", "event_time", "version")  # fmt: skip
COMPARED = ("item_ids", "category_ids", "behaviors", "event_times", "count_pv", "count_cart", "count_fav", "count_buy")
OPERATOR = "flink_taskmanager_job_task_operator_freshrec_"
"""The prefix of the job's own metrics (io.freshrec.flink.JobMetrics) as the Prometheus reporter names them."""


def latest_per_user(bootstrap: str, topic: str) -> dict[int, dict]:
    """Each user's newest snapshot, read until the topic stays quiet for 5 s (a tombstone removes the user)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    latest: dict[int, dict] = {}
    codec, idle = AvroCodec("user_snapshot"), 0
    while idle < 5:
        batch = [m for m in consumer.consume(5_000, timeout=1.0) if m.error() is None]
        idle = 0 if batch else idle + 1
        for message in batch:
            key = json.loads(message.key())["user_id"]
            latest[key] = codec.decode(message.value()) if message.value() else None
    consumer.close()
    return {k: v for k, v in latest.items() if v is not None}


def read_messages(bootstrap: str, topic: str, expected: int) -> list[Message]:
    """Everything in `topic`: read until `expected` arrived (at most a minute), then 2 s more to catch any extra."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    out: list[Message] = []
    for _ in range(60):
        out += [m for m in consumer.consume(2_000, timeout=1.0) if m.error() is None]
        if len(out) >= expected:
            break
    out += [m for m in consumer.consume(2_000, timeout=2.0) if m.error() is None]
    consumer.close()
    return out


def read_letters(bootstrap: str, topic: str, expected: int) -> list[dict]:
    codec = AvroCodec("dead_letter")
    return [codec.decode(m.value()) for m in read_messages(bootstrap, topic, expected)]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(metric name, its error_type label if any) -> value, summed over subtasks: what the reporter on `port` serves."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values: Counter = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k == "error_type"))
            values[(sample.name, labels)] += sample.value
    return dict(values)


class OnlineReference:
    """Every user's online `user_realtime` row against the reference's snapshot of the user."""

    def __init__(self, client: redis.Redis, reference: BehaviorState) -> None:
        self.reader = OnlineReader(client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
        self.users = sorted(reference.users)
        self.want = {u: reference.snapshot(u) for u in self.users}

    def final_versions(self) -> bool:
        """Whether every user's row is there at the reference's version (a condition for `LiveJob.wait`)."""
        return all(v["user_realtime"].status == "present" and v["user_realtime"].version == self.want[v.entity_id]["version"]
                   for v in self.reader.read_many(self.users))  # fmt: skip

    def differing(self) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
        """user -> (stored, reference) of the `COMPARED` fields, for every user whose fields differ."""
        out = {}
        for vector in self.reader.read_many(self.users):
            row = vector["user_realtime"].values
            got = {f: row[f].tolist() if hasattr(row[f], "tolist") else row[f] for f in COMPARED}
            want = {f: self.want[vector.entity_id][f] for f in COMPARED}
            if got != want:
                out[vector.entity_id] = (got, want)
        return out
