from __future__ import annotations

from pathlib import Path

from streaming.jobs import tables

JAVA_SOURCES = Path(__file__).resolve().parents[3] / "streaming" / "jvm" / "src" / "main" / "java"


def test_source_reads_raw_records_with_their_coordinates() -> None:
    ddl = tables.kafka_source("clicks_in", "clicks", "127.0.0.1:9092", "behavior")
    assert "'value.format' = 'raw'" in ddl and "'key.fields' = 'record_key'" in ddl
    assert "METADATA FROM 'partition'" in ddl and "METADATA FROM 'offset'" in ddl
    assert "'scan.startup.mode' = 'group-offsets'" in ddl and "scan.bounded.mode" not in ddl
    assert "'scan.bounded.mode' = 'latest-offset'" in tables.kafka_source("t", "clicks", "b:1", "g", bounded=True)


def test_every_sql_function_is_a_jvm_class_of_the_job_jar() -> None:
    for java_class in tables.FUNCTIONS.values():
        source = JAVA_SOURCES / (java_class.replace(".", "/") + ".java")
        assert "extends ScalarFunction" in source.read_text(), java_class
