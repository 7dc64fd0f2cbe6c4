"""Flink SQL tables and functions of the freshrec jobs, as DDL built from plain arguments (unit-testable).

Kafka topics are read and written with the `raw` format: decoding and encoding happen in freshrec's JVM functions
(`streaming/jvm`), which understand Avro single-object encoding and report bad records instead of failing the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyflink.table import TableEnvironment

FUNCTIONS = {
    "decode_click": "io.freshrec.flink.DecodeClick",
    "click_time": "io.freshrec.flink.ClickTime",
    "encode_dead_letter": "io.freshrec.flink.EncodeDeadLetter",
    "behavior_state": "io.freshrec.flink.BehaviorAggregate",
}


@dataclass(frozen=True)
class Watermark:
    """Flink's bounded-out-of-orderness watermark on the clicks' event time, per Kafka partition (the minimum across
    partitions)."""

    bound_ms: int = 5_000
    emit: str = "on-periodic"
    """on-periodic (every pipeline.auto-watermark-interval, 200 ms) or on-event (after every record: the watermark
    tracks the stream exactly, at a cost per event)."""
    idle_timeout: str | None = None
    """A partition quiet this long stops holding the watermark back. Off by default: while a backlog is read, one
    partition can go unread for longer than any small timeout, and the watermark then jumps ahead with the others,
    turning that partition's events late (a third of a 110k-event replay in a test here). Without it a quiet
    partition only delays lateness, never invents it."""


def register_functions(env: TableEnvironment) -> None:
    for name, java_class in FUNCTIONS.items():
        env.execute_sql(f"CREATE TEMPORARY FUNCTION IF NOT EXISTS {name} AS '{java_class}' LANGUAGE JAVA")


def kafka_source(name: str, topic: str, bootstrap: str, group: str, bounded: bool = False,
                 watermark: Watermark | None = None) -> str:
    """Raw key and value plus the record's coordinates (for dead letters); with `watermark`, also the decoded click
    `e` and its event time `event_ts`, the table's event-time attribute (invalid records count as time 0, so they
    never move the watermark)."""
    options = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
        "properties.group.id": group, "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest", "key.format": "raw", "key.fields": "record_key",
        "value.format": "raw", "value.fields-include": "EXCEPT_KEY",
    }  # fmt: skip
    if bounded:
        options["scan.bounded.mode"] = "latest-offset"
    timed = ""
    if watermark:
        options["scan.watermark.emit.strategy"] = watermark.emit
        if watermark.idle_timeout:
            options["scan.watermark.idle-timeout"] = watermark.idle_timeout
        timed = f""",
  e AS decode_click(payload),
  event_ts AS TO_TIMESTAMP_LTZ(COALESCE(click_time(payload), 0), 3),
  WATERMARK FOR event_ts AS event_ts - INTERVAL '{watermark.bound_ms / 1000:.3f}' SECOND"""
    return f"""CREATE TABLE {name} (
  record_key BYTES,
  payload BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL{timed}
) WITH ({_options(options)})"""


def kafka_sink(name: str, topic: str, bootstrap: str) -> str:
    """Raw key and value; at-least-once (flushed on every checkpoint)."""
    options = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
        "key.format": "raw", "key.fields": "record_key", "value.format": "raw", "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": "at-least-once",
    }  # fmt: skip
    return f"CREATE TABLE {name} (record_key BYTES, payload BYTES) WITH ({_options(options)})"


def rejected_clicks(source: str, dlq: str) -> str:
    """Invalid records and late events (behind the watermark of a `kafka_source(watermark=...)` table) to `dlq`."""
    reason = ("COALESCE(e.error, 'Late: event time ' || CAST(event_ts AS STRING) || ' is behind the watermark ' "
              "|| CAST(CURRENT_WATERMARK(event_ts) AS STRING))")  # fmt: skip
    return f"""INSERT INTO {dlq}
SELECT record_key,
       encode_dead_letter(source_topic, source_partition, source_offset, record_key, payload, {reason},
                          CAST(UNIX_TIMESTAMP() AS BIGINT) * 1000)
FROM {source}
WHERE e.error IS NOT NULL OR event_ts < CURRENT_WATERMARK(event_ts)"""


def user_snapshots(source: str, bound_ms: int) -> str:
    """The per-user state of every valid, on-time event of a `kafka_source(watermark=...)` table: one updating row
    per user (GROUP BY), in the JVM. A row is on time unless it is behind the watermark, as in `rejected_clicks`."""
    return f"""SELECT e.user_id, behavior_state(e.event_id, e.item_id, e.category_id, e.behavior, e.event_time,
                                  CAST({bound_ms} AS BIGINT)) AS s
FROM {source}
WHERE e.error IS NULL AND (CURRENT_WATERMARK(event_ts) IS NULL OR event_ts >= CURRENT_WATERMARK(event_ts))
GROUP BY e.user_id"""


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"'{key}' = '{value}'" for key, value in options.items())
