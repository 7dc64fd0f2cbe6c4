from __future__ import annotations

from streaming.jobs import tables


def test_source_reads_raw_records_with_their_coordinates() -> None:
    ddl = tables.kafka_source("clicks_in", "clicks", "127.0.0.1:9092", "behavior")
    assert "'value.format' = 'raw'" in ddl and "'key.fields' = 'record_key'" in ddl
    assert "METADATA FROM 'partition'" in ddl and "METADATA FROM 'offset'" in ddl
    assert "'scan.startup.mode' = 'group-offsets'" in ddl and "scan.bounded.mode" not in ddl
    assert "'scan.bounded.mode' = 'latest-offset'" in tables.kafka_source("t", "clicks", "b:1", "g", bounded=True)


def test_dead_letters_keep_only_undecodable_records() -> None:
    statement = tables.dead_letters("clicks_in", "clicks_dlq")
    assert statement.startswith("INSERT INTO clicks_dlq") and "WHERE e.error IS NOT NULL" in statement
    assert "decode_click(payload)" in statement and "encode_dead_letter(" in statement
