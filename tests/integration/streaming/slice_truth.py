"""A Taobao sample as the live tests produce it (clicks in time order), and its ground truth straight from the CSV."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

import pyarrow as pa
import redis

from feature_store.online.reader import FeatureVector, OnlineReader
from feature_store.views import USER_REALTIME
from freshrec.testing.kafka import ordered_producer
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from streaming.replay import produce_all, user_keys

BEHAVIORS = ("PV", "CART", "FAV", "BUY")


def truth(table: pa.Table) -> dict[int, dict]:
    """Per user, from the CSV rows alone (time-ordered, ties in file order): the last 50 items and all-time counts."""
    users: dict[int, dict] = defaultdict(lambda: {"items": [], "counts": dict.fromkeys(BEHAVIORS, 0)})
    for user, item, behavior in zip(*(table.column(c).to_pylist() for c in ("user_id", "item_id", "behavior"))):
        users[user]["items"].append(item)
        users[user]["counts"][behavior] += 1
    return {user: {"items": u["items"][-50:], "counts": u["counts"]} for user, u in users.items()}


def matches(vector: FeatureVector, want: dict) -> bool:
    """The user's online user_realtime row holds exactly `want`'s items and counts."""
    row = vector["user_realtime"]
    return row.status == "present" and row.values["item_ids"].tolist() == want["items"] and \
        {b: row.values[f"count_{b.lower()}"] for b in BEHAVIORS} == want["counts"]  # fmt: skip


def all_match(client: redis.Redis, table: pa.Table) -> Callable[[], bool]:
    """A condition for `LiveJob.wait`: every user of `table` holds exactly its truth online."""
    want = truth(table)
    users = sorted(want)
    reader = OnlineReader(client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    return lambda: all(matches(v, want[v.entity_id]) for v in reader.read_many(users))


def produce(bootstrap: str, topic: str, table: pa.Table) -> None:
    producer = ordered_producer(bootstrap)
    schema = default_registry().latest("click_event")
    for batch in table.to_batches(20_000):
        part = pa.Table.from_batches([batch])
        produce_all(producer, topic, encode_batch(schema, part).rows(), user_keys(part))
    assert producer.flush(60) == 0
