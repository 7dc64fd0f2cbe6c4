from __future__ import annotations

from streaming.jobs import tables


def test_source_reads_raw_records_with_their_coordinates() -> None:
    ddl = tables.kafka_source("clicks_in", "clicks", "127.0.0.1:9092", "behavior")
    assert "'value.format' = 'raw'" in ddl and "'key.fields' = 'record_key'" in ddl
    assert "METADATA FROM 'partition'" in ddl and "METADATA FROM 'offset'" in ddl
    assert "'scan.startup.mode' = 'group-offsets'" in ddl and "scan.bounded.mode" not in ddl
    assert "'scan.bounded.mode' = 'latest-offset'" in tables.kafka_source("t", "clicks", "b:1", "g", bounded=True)


def test_watermarked_source_decodes_once_per_column_and_times_events() -> None:
    ddl = tables.kafka_source("clicks_in", "clicks", "b:1", "g", watermark=tables.Watermark(2_500, "on-event"))
    assert "e AS decode_click(payload)" in ddl and "TO_TIMESTAMP_LTZ(COALESCE(click_time(payload), 0), 3)" in ddl
    assert "WATERMARK FOR event_ts AS event_ts - INTERVAL '2.500' SECOND" in ddl
    assert "'scan.watermark.emit.strategy' = 'on-event'" in ddl and "idle-timeout" not in ddl


def test_rejected_clicks_and_snapshots_split_on_the_same_watermark() -> None:
    rejected = tables.rejected_clicks("clicks_in", "clicks_dlq")
    assert rejected.startswith("INSERT INTO clicks_dlq") and "encode_dead_letter(" in rejected
    assert "WHERE e.error IS NOT NULL OR event_ts < CURRENT_WATERMARK(event_ts)" in rejected
    assert "'Late: event time '" in rejected
    snapshots = tables.user_snapshots("clicks_in", 5_000)
    assert "e.error IS NULL AND (CURRENT_WATERMARK(event_ts) IS NULL OR event_ts >= CURRENT_WATERMARK(event_ts))" in snapshots
