"""The `behavior` job: clicks -> per-user state in the JVM -> coalesced snapshots and dead letters, on Kafka.

All per-event work runs in the JVM (decode, dedup, ordering, state, encoding); Python only builds the plan. Snapshots
go to an upsert topic (one record per user per mini-batch) that `streaming.snapshot_writer` writes to the online and
offline stores in batches, so the Flink job itself never blocks on Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyflink.table import TableResult

from streaming.flink.environment import table_environment
from streaming.jobs import tables

SNAPSHOT_ROW = (
    "ROW<item_ids ARRAY<BIGINT>, category_ids ARRAY<BIGINT>, behaviors ARRAY<INT>, event_times ARRAY<BIGINT>,"
    " count_pv BIGINT, count_cart BIGINT, count_fav BIGINT, count_buy BIGINT, interest ARRAY<FLOAT>,"
    " top_categories ARRAY<BIGINT>, summary STRING, event_time BIGINT, version BIGINT>"
)


@dataclass(frozen=True)
class JobConfig:
    bootstrap: str
    clicks_topic: str = "clicks"
    dead_letter_topic: str = "clicks-dlq"
    snapshot_topic: str = "user-snapshots"
    group: str = "freshrec-behavior"
    out_of_orderness_ms: int = 5_000
    checkpoint_interval: str = "2 s"
    mini_batch_latency: str = "100 ms"
    bounded: bool = False
    """Stop at the topic's current end (tests, backfills); unbounded otherwise."""


def start(config: JobConfig, jars: Sequence[Path]) -> TableResult:
    """Submit the job (one statement set: dead letters + snapshots); returns the running job's handle."""
    env = table_environment(
        jars,
        extra={
            "execution.checkpointing.interval": config.checkpoint_interval,
            "table.exec.mini-batch.enabled": "true",
            "table.exec.mini-batch.allow-latency": config.mini_batch_latency,
            "table.exec.mini-batch.size": "5000",
        },
    )
    tables.register_functions(env)
    env.execute_sql(tables.kafka_source("clicks_in", config.clicks_topic, config.bootstrap, config.group, config.bounded))
    env.execute_sql(tables.kafka_sink("clicks_dlq", config.dead_letter_topic, config.bootstrap))
    env.execute_sql(snapshot_sink("user_snapshots", config.snapshot_topic, config.bootstrap))
    statements = env.create_statement_set()
    statements.add_insert_sql(tables.dead_letters("clicks_in", "clicks_dlq"))
    statements.add_insert_sql(f"INSERT INTO user_snapshots {tables.user_snapshots('clicks_in', config.out_of_orderness_ms)}")
    return statements.execute()


def snapshot_sink(name: str, topic: str, bootstrap: str) -> str:
    """Upsert topic keyed by user: retractions never reach it, only each user's newest snapshot per mini-batch."""
    return f"""CREATE TABLE {name} (user_id BIGINT, s {SNAPSHOT_ROW}, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}',
  'key.format' = 'json', 'value.format' = 'json')"""
