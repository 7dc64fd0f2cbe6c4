"""The `behavior` job: clicks -> per-user state in the JVM -> coalesced snapshots and dead letters, on Kafka.

Python builds and submits the job; every per-event step runs in freshrec's JVM operators (`streaming/jvm`,
`io.freshrec.flink.BehaviorPipeline`): decode, event time and lateness, dedup, order, state, coalescing, encoding.
Snapshots go to a topic (at most one record per user per flush interval) that `streaming.snapshot_writer` writes to
the online and offline stores in batches, so the Flink job itself never blocks on Python.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyflink.common.job_client import JobClient
from pyflink.java_gateway import get_gateway

from streaming.flink.checkpoints import checkpoint_options
from streaming.flink.environment import stream_environment

log = logging.getLogger(__name__)
WATERMARK_EMITS = ("on-periodic", "on-event")


@dataclass(frozen=True)
class JobConfig:
    bootstrap: str
    clicks_topic: str = "clicks"
    dead_letter_topic: str = "clicks-dlq"
    snapshot_topic: str = "user-snapshots"
    group: str = "freshrec-behavior"
    out_of_orderness_ms: int = 5_000
    """The watermark trails the newest event time by this, per Kafka partition (the minimum across partitions): an
    event behind it is late (dead-lettered), one within it is applied in event-time order."""
    watermark_emit: str = "on-periodic"
    """on-periodic (every pipeline.auto-watermark-interval, 200 ms) or on-event (after every record that moves it:
    the watermark tracks the stream exactly). No idle timeout: while a backlog is read, one partition can go unread
    for longer than any small timeout, and the watermark would then jump ahead with the others and turn that
    partition's events late. A quiet partition only delays lateness, never invents it."""
    checkpoint_interval: str = "2 s"
    flush_ms: int = 100
    """A user's snapshot goes out at most this long after the first click it holds (processing time), coalescing
    the user's clicks in between; 0: one snapshot per click."""
    buffer_timeout_ms: int = 10
    """How long an operator's output buffer may wait to fill before it goes downstream (Flink's default: 100 ms).
    The job has two such hops (the keyBy, the unchained sink), so at live rates the default alone added up to
    200 ms to a click's way to the store; flushing every 10 ms costs nothing measurable at these rates."""
    catch_up_ms: int = 2_000
    """The coalescing interval of a click that is already more than this behind (a backlog, an overload): a job that
    falls behind writes fewer, fuller snapshots and catches up (`UserSnapshots`); live clicks use `flush_ms`."""
    bounded: bool = False
    """Stop at the topic's current end (tests, backfills); unbounded otherwise."""
    parallelism: int = 1
    jobmanager: str | None = None
    """HOST:PORT of a session cluster's REST endpoint; None: an in-process mini-cluster."""
    checkpoint_dir: Path | None = None
    """Keep checkpoints here and resume from the newest one (`streaming.flink.checkpoints`); None: in memory only."""

    def __post_init__(self) -> None:
        if self.watermark_emit not in WATERMARK_EMITS:
            raise ValueError(f"watermark_emit must be one of {WATERMARK_EMITS}, got {self.watermark_emit!r}")


class RunningJob:
    """A submitted job: wait for a bounded one to finish, or cancel it."""

    def __init__(self, client: JobClient) -> None:
        self.client = client

    @property
    def job_id(self) -> str:
        return str(self.client.get_job_id())

    def wait(self, timeout_ms: int | None = None) -> None:
        """Until the job ends; raises if it failed (or did not end within `timeout_ms`)."""
        future = self.client._j_job_client.getJobExecutionResult()
        if timeout_ms is None:
            future.get()
        else:
            future.get(timeout_ms, get_gateway().jvm.java.util.concurrent.TimeUnit.MILLISECONDS)

    def cancel(self) -> None:
        self.client.cancel().result()


def start(config: JobConfig, jars: Sequence[Path]) -> RunningJob:
    """Submit the job (dead letters and late events; snapshots); returns the running job."""
    if config.checkpoint_dir is None:
        options = {"execution.checkpointing.interval": config.checkpoint_interval}
    else:
        options = checkpoint_options(config.checkpoint_dir, config.checkpoint_interval)
        if "execution.state-recovery.path" in options:
            log.info("behavior job: resuming from %s", options["execution.state-recovery.path"])
    options["pipeline.object-reuse"] = "true"  # no operator keeps a record it was handed: skip the copy per hop
    options["execution.buffer-timeout.interval"] = f"{config.buffer_timeout_ms} ms"
    env = stream_environment(jars, parallelism=config.parallelism, extra=options, jobmanager=config.jobmanager)
    get_gateway().jvm.io.freshrec.flink.BehaviorPipeline.build(
        env._j_stream_execution_environment, config.bootstrap, config.clicks_topic, config.group,
        config.dead_letter_topic, config.snapshot_topic, config.out_of_orderness_ms,
        config.watermark_emit == "on-event", config.flush_ms, config.catch_up_ms, config.bounded,
    )  # fmt: skip
    return RunningJob(env.execute_async("freshrec-behavior"))


def parser() -> argparse.ArgumentParser:
    defaults = JobConfig(bootstrap="")
    p = argparse.ArgumentParser(prog="streaming.jobs.behavior_job", description="Submit the behavior job to the cluster "
                                "this runs in (the Kubernetes operator's application mode: PythonDriver -pym).")  # fmt: skip
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--jars", type=Path, required=True, help="folder holding the connector jars and freshrec-flink.jar")
    for name in ("clicks_topic", "dead_letter_topic", "snapshot_topic", "group", "checkpoint_interval"):
        p.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    p.add_argument("--out-of-orderness-ms", type=int, default=defaults.out_of_orderness_ms)
    p.add_argument("--flush-ms", type=int, default=defaults.flush_ms)
    p.add_argument("--catch-up-ms", type=int, default=defaults.catch_up_ms)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
    jars = sorted(args.pop("jars").glob("*.jar"))
    start(JobConfig(**args), jars)


if __name__ == "__main__":
    main()
