"""The `behavior` job: clicks -> per-user state in the JVM -> coalesced snapshots and dead letters, on Kafka.

All per-event work runs in the JVM (decode, dedup, ordering, state, encoding); Python only builds the plan. Snapshots
go to an upsert topic (one record per user per sink flush) that `streaming.snapshot_writer` writes to the online and
offline stores in batches, so the Flink job itself never blocks on Python.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyflink.table import TableResult

from streaming.flink.checkpoints import checkpoint_options
from streaming.flink.environment import table_environment
from streaming.jobs import tables

log = logging.getLogger(__name__)
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
    watermark_emit: str = "on-periodic"
    """See `tables.Watermark.emit`."""
    checkpoint_interval: str = "2 s"
    flush_interval: str = "100 ms"
    """How long the snapshot sink collects updates before writing each user's newest one (coalescing)."""
    flush_rows: int = 20_000
    bounded: bool = False
    """Stop at the topic's current end (tests, backfills); unbounded otherwise."""
    parallelism: int = 1
    jobmanager: str | None = None
    """HOST:PORT of a session cluster's REST endpoint; None: an in-process mini-cluster."""
    checkpoint_dir: Path | None = None
    """Keep checkpoints here and resume from the newest one (`streaming.flink.checkpoints`); None: in memory only."""


def start(config: JobConfig, jars: Sequence[Path]) -> TableResult:
    """Submit the job (one statement set: dead letters and late events + snapshots); returns the running job's handle."""
    if config.checkpoint_dir is None:
        options = {"execution.checkpointing.interval": config.checkpoint_interval}
    else:
        options = checkpoint_options(config.checkpoint_dir, config.checkpoint_interval)
        if "execution.state-recovery.path" in options:
            log.info("behavior job: resuming from %s", options["execution.state-recovery.path"])
    # no mini-batch: its assigner emits processing-time watermarks, which would make every event look late
    env = table_environment(jars, parallelism=config.parallelism, extra=options, jobmanager=config.jobmanager)
    tables.register_functions(env)
    watermark = tables.Watermark(config.out_of_orderness_ms, config.watermark_emit)
    env.execute_sql(tables.kafka_source("clicks_in", config.clicks_topic, config.bootstrap, config.group, config.bounded,
                                        watermark))  # fmt: skip
    env.execute_sql(tables.kafka_sink("clicks_dlq", config.dead_letter_topic, config.bootstrap))
    env.execute_sql(snapshot_sink("user_snapshots", config.snapshot_topic, config.bootstrap, config.flush_interval,
                                  config.flush_rows))  # fmt: skip
    statements = env.create_statement_set()
    statements.add_insert_sql(tables.rejected_clicks("clicks_in", "clicks_dlq"))
    statements.add_insert_sql(f"INSERT INTO user_snapshots {tables.user_snapshots('clicks_in', config.out_of_orderness_ms)}")
    return statements.execute()


def snapshot_sink(name: str, topic: str, bootstrap: str, flush_interval: str = "100 ms", flush_rows: int = 20_000) -> str:
    """Upsert topic keyed by user: the sink buffers updates by key and writes only each user's newest snapshot per
    flush (every `flush_interval`, or `flush_rows` buffered, and on every checkpoint)."""
    return f"""CREATE TABLE {name} (user_id BIGINT, s {SNAPSHOT_ROW}, PRIMARY KEY (user_id) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}',
  'key.format' = 'json', 'value.format' = 'json',
  'sink.buffer-flush.interval' = '{flush_interval}', 'sink.buffer-flush.max-rows' = '{flush_rows}')"""


def parser() -> argparse.ArgumentParser:
    defaults = JobConfig(bootstrap="")
    p = argparse.ArgumentParser(prog="streaming.jobs.behavior_job", description="Submit the behavior job to the cluster "
                                "this runs in (the Kubernetes operator's application mode: PythonDriver -pym).")  # fmt: skip
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--jars", type=Path, required=True, help="folder holding the connector jars and freshrec-flink.jar")
    for name in ("clicks_topic", "dead_letter_topic", "snapshot_topic", "group", "checkpoint_interval", "flush_interval"):
        p.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    p.add_argument("--out-of-orderness-ms", type=int, default=defaults.out_of_orderness_ms)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
    jars = sorted(args.pop("jars").glob("*.jar"))
    start(JobConfig(**args), jars)


if __name__ == "__main__":
    main()
