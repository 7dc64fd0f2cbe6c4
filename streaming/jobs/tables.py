"""Flink SQL access to the clicks topic, for users' own queries over it: its table DDL and the job's decoder as a SQL
function (unit-testable DDL; tests/integration/streaming/test_decode_click.py runs both).

The behavior job itself is a DataStream pipeline (`io.freshrec.flink.BehaviorPipeline`) on the same decoder:
`decode_click(payload)` returns the ClickEvent row with `error` set instead of failing on a bad record.
"""

from __future__ import annotations

from pyflink.table import TableEnvironment

FUNCTIONS = {
    "decode_click": "io.freshrec.flink.DecodeClick",
}


def register_functions(env: TableEnvironment) -> None:
    for name, java_class in FUNCTIONS.items():
        env.execute_sql(f"CREATE TEMPORARY FUNCTION IF NOT EXISTS {name} AS '{java_class}' LANGUAGE JAVA")


def kafka_source(name: str, topic: str, bootstrap: str, group: str, bounded: bool = False) -> str:
    """Raw key and value plus the record's coordinates, read with the `raw` format: Avro single-object encoding is
    decoded by `decode_click`, which reports bad records instead of failing the query."""
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


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"'{key}' = '{value}'" for key, value in options.items())
