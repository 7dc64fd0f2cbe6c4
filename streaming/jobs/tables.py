"""Flink SQL tables and functions of the freshrec jobs, as DDL built from plain arguments (unit-testable).

Kafka topics are read and written with the `raw` format: decoding and encoding happen in freshrec's JVM functions
(`streaming/jvm`), which understand Avro single-object encoding and report bad records instead of failing the job.
"""

from __future__ import annotations

from pyflink.table import TableEnvironment

FUNCTIONS = {
    "decode_click": "io.freshrec.flink.DecodeClick",
    "encode_dead_letter": "io.freshrec.flink.EncodeDeadLetter",
    "behavior_state": "io.freshrec.flink.BehaviorAggregate",
}


def register_functions(env: TableEnvironment) -> None:
    for name, java_class in FUNCTIONS.items():
        env.execute_sql(f"CREATE TEMPORARY FUNCTION IF NOT EXISTS {name} AS '{java_class}' LANGUAGE JAVA")


def kafka_source(name: str, topic: str, bootstrap: str, group: str, bounded: bool = False) -> str:
    """Raw key and value plus the record's coordinates (for dead letters) and Kafka timestamp."""
    options = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
        "properties.group.id": group, "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest", "key.format": "raw", "key.fields": "record_key",
        "value.format": "raw", "value.fields-include": "EXCEPT_KEY",
    }  # fmt: skip
    if bounded:
        options["scan.bounded.mode"] = "latest-offset"
    return f"""CREATE TABLE {name} (
  record_key BYTES,
  payload BYTES,
  source_topic STRING METADATA FROM 'topic' VIRTUAL,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL
) WITH ({_options(options)})"""


def kafka_sink(name: str, topic: str, bootstrap: str) -> str:
    """Raw key and value; at-least-once (flushed on every checkpoint)."""
    options = {
        "connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
        "key.format": "raw", "key.fields": "record_key", "value.format": "raw", "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": "at-least-once",
    }  # fmt: skip
    return f"CREATE TABLE {name} (record_key BYTES, payload BYTES) WITH ({_options(options)})"


def dead_letters(source: str, dlq: str) -> str:
    """Every record of `source` that does not decode to a valid ClickEvent, to `dlq` whole, with the reason."""
    return f"""INSERT INTO {dlq}
SELECT record_key,
       encode_dead_letter(source_topic, source_partition, source_offset, record_key, payload, e.error,
                          CAST(UNIX_TIMESTAMP() AS BIGINT) * 1000)
FROM (SELECT *, decode_click(payload) AS e FROM {source})
WHERE e.error IS NOT NULL"""


def user_snapshots(source: str, bound_ms: int) -> str:
    """The per-user state of every valid event of `source`: one updating row per user (GROUP BY), in the JVM."""
    return f"""SELECT e.user_id, behavior_state(e.event_id, e.item_id, e.category_id, e.behavior, e.event_time,
                                  CAST({bound_ms} AS BIGINT)) AS s
FROM (SELECT decode_click(payload) AS e FROM {source})
WHERE e.error IS NULL
GROUP BY e.user_id"""


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"'{key}' = '{value}'" for key, value in options.items())
