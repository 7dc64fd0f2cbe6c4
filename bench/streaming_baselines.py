"""The three baselines of `bench.streaming_bench`, each doing the behavior job's computation its own way.

1. naive PyFlink: Kafka (Flink connector) -> Python decode -> key_by user -> one Python KeyedProcessFunction call per
   event (the reference `BehaviorState` of that user in Flink keyed state) writing the user's row to Redis per event.
2. Feast push: a confluent-kafka consumer computing the same state in Python, `store.push` per batch.
3. plain consumer: the same consumer writing through freshrec's codec (`OnlineWriter`) per batch: no checkpoints, no
   event-time handling (the "no guarantees" ceiling).

Every baseline reports progress as (events applied so far, time) through `progress`, after the write that made them
visible in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import redis
from confluent_kafka import Consumer

from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from schemas.codec import AvroCodec
from streaming.state.user_state import BehaviorState

Progress = Callable[[int], None]
COUNTER = "bench:naive:applied"
"""Redis key the naive job increments (every 100 events) so the bench can follow it from outside Flink."""


def consume_and_write(bootstrap: str, topic: str, write: Callable[[list[dict[str, Any]]], None], progress: Progress,
                      should_stop: Callable[[], bool], batch: int = 5_000) -> None:  # fmt: skip
    """Baselines 2 and 3: poll up to `batch` events, decode, fold into the state, write the touched users' rows."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"baseline-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    codec, state, applied = AvroCodec("click_event"), BehaviorState(), 0
    try:
        while not should_stop():
            messages = [m for m in consumer.consume(batch, timeout=0.02) if m.error() is None]
            if not messages:
                continue
            outcome, touched = state.apply(codec.decode(m.value()) for m in messages)
            write([state.snapshot(user) for user in touched])
            applied += outcome.applied
            progress(applied)
    finally:
        consumer.close()


def codec_writer(client: redis.Redis) -> Callable[[list[dict[str, Any]]], None]:
    writer = OnlineWriter(client, USER_REALTIME)
    return lambda rows: writer.write_table(rows_to_table(USER_REALTIME, rows))


def feast_pusher(store) -> Callable[[list[dict[str, Any]]], None]:  # noqa: ANN001
    from feast.data_source import PushMode

    def push(rows: list[dict[str, Any]]) -> None:
        frame = pd.DataFrame([{k: v for k, v in r.items() if k != "event_time"} for r in rows])
        frame["event_timestamp"] = frame["created"] = datetime.now(timezone.utc)
        store.push("user_realtime_push", frame, to=PushMode.ONLINE)

    return push


def start_naive_job(jars: Sequence[Path], bootstrap: str, topic: str, redis_port: int, checkpoint_dir: Path):  # noqa: ANN201
    """Baseline 1, submitted to an in-process mini-cluster (thread mode, checkpoints as the main job); its handle."""
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction, MapFunction, RuntimeContext, StreamExecutionEnvironment
    from pyflink.datastream.state import ValueStateDescriptor
    from pyflink.table import StreamTableEnvironment

    from streaming.flink.checkpoints import checkpoint_options
    from streaming.flink.environment import configuration
    from streaming.jobs import tables

    class Decode(MapFunction):
        def open(self, context: RuntimeContext) -> None:
            self.codec = AvroCodec("click_event")

        def map(self, row):  # noqa: ANN001, ANN201
            return self.codec.decode(row.payload)

    class Behavior(KeyedProcessFunction):
        def open(self, context: RuntimeContext) -> None:
            self.state = context.get_state(ValueStateDescriptor("user", Types.PICKLED_BYTE_ARRAY()))
            self.client = redis.Redis(port=redis_port)
            self.writer = OnlineWriter(self.client, USER_REALTIME)
            self.pending = 0

        def process_element(self, event, ctx):  # noqa: ANN001, ANN201
            user = self.state.value() or BehaviorState()
            user.apply([event])
            self.state.update(user)
            self.writer.write([user.snapshot(event["user_id"])])
            self.pending += 1
            if self.pending == 100:
                self.client.incrby(COUNTER, self.pending)
                self.pending = 0
            return []

    env = StreamExecutionEnvironment.get_execution_environment(
        configuration(jars, extra=checkpoint_options(checkpoint_dir, "2 s")))  # fmt: skip
    table_env = StreamTableEnvironment.create(env)
    table_env.execute_sql(tables.kafka_source("clicks_in", topic, bootstrap, f"naive-{topic}"))
    rows = table_env.to_data_stream(table_env.from_path("clicks_in"))
    events = rows.map(Decode(), output_type=Types.PICKLED_BYTE_ARRAY())
    events.key_by(lambda e: e["user_id"], key_type=Types.LONG()).process(Behavior()).print()  # emits nothing: a sink is required
    return env.execute_async("naive-baseline")


def follow_counter(client: redis.Redis, progress: Progress, should_stop: Callable[[], bool]) -> None:
    while not should_stop():
        progress(int(client.get(COUNTER) or 0))
        time.sleep(0.1)
