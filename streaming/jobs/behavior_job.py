"""The `behavior` job: clicks -> per-user state in the JVM -> coalesced snapshots and dead letters, on Kafka.

Python builds and submits the job; every per-event step runs in freshrec's JVM operators (`streaming/jvm`,
`io.freshrec.flink.BehaviorPipeline`): decode, key and event-time checks, lateness, dedup, order, state, coalescing,
encoding.
Snapshots go to a topic (at most one record per user per flush interval) that `streaming.snapshot_writer` writes to
the online and offline stores in batches, so the Flink job itself never blocks on Python.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyflink.common.job_client import JobClient
from pyflink.java_gateway import get_gateway

from schemas.topics import DEFAULT_TOPICS
from streaming.config import StreamSettings
from streaming.flink.checkpoints import checkpoint_options
from streaming.flink.environment import prometheus_reporter, stream_environment
from streaming.flink.session import job_name

log = logging.getLogger(__name__)
JOB_OPTIONS = ("bootstrap", "clicks_topic", "group", "dead_letter_topic", "snapshot_topic", "flush_ms",
               "bounded", "dead_letter_max_bytes", "event_log_dir")  # fmt: skip
STREAM_OPTIONS = ("out_of_orderness_ms", "max_ahead_ms", "state_ttl_s", "event_log_roll_ms", "catch_up_ms")
JVM_OPTIONS = JOB_OPTIONS + STREAM_OPTIONS
MODULE_STREAM_OPTIONS = (*STREAM_OPTIONS, "checkpoint_interval_ms")
"""The stream settings the job module takes as arguments: the JVM's, and the interval the Flink environment takes."""
KAFKA_PREFIX = "kafka."
"""An option `kafka.NAME` is the Kafka client property NAME of the job's source and sinks (`JobOptions.kafka`)."""


@dataclass(frozen=True)
class JobConfig:
    bootstrap: str
    clicks_topic: str = DEFAULT_TOPICS.clicks
    dead_letter_topic: str = DEFAULT_TOPICS.dead_letter
    snapshot_topic: str = DEFAULT_TOPICS.snapshots
    group: str = "freshrec-behavior"
    stream: StreamSettings = field(default_factory=StreamSettings)
    """Lateness, future events and state TTL (`streaming.config`)."""
    dead_letter_max_bytes: int = DEFAULT_TOPICS.dead_letter_max_bytes
    """The largest record the job's sinks send (`max.request.size`): a dead letter carries the largest click the clicks
    topic takes, whole, plus its reason (TopicSettings.dead_letter_max_bytes)."""
    flush_ms: int = 100
    """A user's snapshot goes out at most this long after the first click it holds (processing time), coalescing
    the user's clicks in between; 0: one snapshot per click."""
    buffer_timeout_ms: int = 10
    """How long an operator's output buffer may wait to fill before it goes downstream (Flink's default: 100 ms).
    The job has two such hops (the keyBy, the unchained sink), so at live rates the default alone added up to
    200 ms to a click's way to the store; flushing every 10 ms costs nothing measurable at these rates."""
    event_log_dir: Path | None = None
    """Where the job writes the applied clicks' part files (`feature_store.offline.event_log`: the offline store's
    `events-streamed` folder, which the snapshot writer compacts into the event log); None: no event log. With
    `jobmanager`, a folder the cluster reaches."""
    bounded: bool = False
    """Stop at the topic's current end (tests, backfills); unbounded otherwise."""
    parallelism: int = 1
    max_parallelism: int = 128
    """Key groups of the user state: the most subtasks a restore can spread it over (Flink's default for small
    parallelism, pinned so that every later rescale, up or down, can restore what an earlier submission wrote)."""
    jobmanager: str | None = None
    """HOST:PORT of a session cluster's REST endpoint; None: an in-process mini-cluster."""
    checkpoint_dir: Path | None = None
    """Keep checkpoints here and resume from the newest one (`streaming.flink.checkpoints`); None: in memory only."""
    tmp_dir: Path | None = None
    """The in-process mini-cluster's temporary files (Flink's `io.tmp.dirs`: the RPC system's jar, network and blob
    folders, ~25 MB a start), a folder of this job's own that `start` empties first: a JVM killed with SIGKILL never
    deletes its own, so under the shared temp folder they pile up with every crash. None: the JVM's temp folder. A
    cluster's temp folders are the cluster's configuration."""
    metrics_port: int | None = None
    """Serve the in-process mini-cluster's metrics (Flink's and the job's own, `io.freshrec.flink.JobMetrics`) for
    Prometheus on this port; None: no reporter. A cluster's reporters are the cluster's configuration."""
    kafka_properties: Mapping[str, str] = field(default_factory=dict)
    """The Kafka Java client's properties of every source and sink beyond the bootstrap servers: the cluster's
    security (`infra.config.KafkaSettings.java_properties`). Secrets among them reach the JVM through the gateway
    (or a properties file, `--kafka-properties`), never a command line."""

    def __post_init__(self) -> None:
        if self.tmp_dir is not None and self.jobmanager is not None:
            raise ValueError("tmp_dir is for the in-process mini-cluster: a session cluster's temp folders are its own "
                             "configuration (io.tmp.dirs)")  # fmt: skip

    def jvm_options(self) -> dict[str, str]:
        """The options the JVM dataflow reads (`io.freshrec.flink.JobOptions`, which refuses a missing or unknown one)."""
        values = {name: getattr(self, name) for name in JOB_OPTIONS}
        values["event_log_dir"] = self.event_log_dir.resolve() if self.event_log_dir else ""
        values.update(self.stream.model_dump(include=set(STREAM_OPTIONS)))
        options = {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in values.items()}
        return options | {f"{KAFKA_PREFIX}{name}": value for name, value in self.kafka_properties.items()}


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


def environment_options(config: JobConfig) -> dict[str, str]:
    """The Flink configuration the job is submitted with (its own options, `jvm_options`, go to the dataflow)."""
    interval = f"{config.stream.checkpoint_interval_ms} ms"
    if config.checkpoint_dir is None:
        options = {"execution.checkpointing.interval": interval}
    else:
        options = checkpoint_options(config.checkpoint_dir, interval)
    options["pipeline.object-reuse"] = "true"  # no operator keeps a record it was handed: skip the copy per hop
    options["execution.buffer-timeout.interval"] = f"{config.buffer_timeout_ms} ms"
    options["pipeline.max-parallelism"] = str(config.max_parallelism)
    if config.metrics_port is not None:
        options |= prometheus_reporter(str(config.metrics_port))
    if config.tmp_dir is not None:
        options["io.tmp.dirs"] = str(config.tmp_dir.resolve())
    return options


def start(config: JobConfig, jars: Sequence[Path]) -> RunningJob:
    """Submit the job (snapshots; dead letters: bad, late and future records); returns the running job."""
    options = environment_options(config)
    if config.tmp_dir is not None:  # what an earlier run of this job left when it was killed
        shutil.rmtree(config.tmp_dir, ignore_errors=True)
        config.tmp_dir.mkdir(parents=True)
    if "execution.state-recovery.path" in options:
        log.info("behavior job: resuming from %s", options["execution.state-recovery.path"])
    env = stream_environment(jars, parallelism=config.parallelism, extra=options, jobmanager=config.jobmanager)
    jvm = get_gateway().jvm
    job_options = jvm.java.util.HashMap()
    for name, value in config.jvm_options().items():
        job_options.put(name, value)
    jvm.io.freshrec.flink.BehaviorPipeline.build(env._j_stream_execution_environment, job_options)
    return RunningJob(env.execute_async(job_name(config.group)))


def parser() -> argparse.ArgumentParser:
    defaults = JobConfig(bootstrap="")
    p = argparse.ArgumentParser(prog="streaming.jobs.behavior_job", description="Submit the behavior job to the cluster "
                                "this runs in (the Kubernetes operator's application mode: PythonDriver -pym).")  # fmt: skip
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--jars", type=Path, required=True, help="folder holding the connector jars and freshrec-flink.jar")
    for name in ("clicks_topic", "dead_letter_topic", "snapshot_topic", "group"):
        p.add_argument(f"--{name.replace('_', '-')}", default=getattr(defaults, name))
    for name in MODULE_STREAM_OPTIONS:
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults.stream, name))
    p.add_argument("--event-log-dir", type=Path, default=None,
                   help="folder of the event log's streamed parts (the offline store's events-streamed); default: none")
    p.add_argument("--flush-ms", type=int, default=defaults.flush_ms)
    p.add_argument("--kafka-properties", type=Path, default=None,
                   help="a Java properties file (NAME=VALUE lines) of the Kafka client's security properties: a "
                        "mounted Secret, so no secret is on the command line")  # fmt: skip
    return p


def read_properties(path: Path) -> dict[str, str]:
    """NAME=VALUE lines (blank lines and # comments skipped), as a Java properties file without escapes."""
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith(("#", "!"))]
    if bad := [p[0] for p in pairs if len(p) != 2]:
        raise ValueError(f"{path}: lines without NAME=VALUE: {bad}")
    return {name.strip(): value.strip() for name, value in pairs}


def main(argv: Sequence[str] | None = None) -> None:
    args = vars(parser().parse_args(argv))
    jars = sorted(args.pop("jars").glob("*.jar"))
    stream = StreamSettings(**{name: args.pop(name) for name in MODULE_STREAM_OPTIONS})
    properties = args.pop("kafka_properties")
    start(JobConfig(**args, stream=stream, kafka_properties=read_properties(properties) if properties else {}), jars)


if __name__ == "__main__":
    main()
