"""`freshrec stream`: the behavior job (Flink) and the snapshot writer that feeds the feature store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from infra.cli.features import store_guard
from infra.cli.stopping import stop_requested
from infra.config import Settings
from infra.jars import JarError, fetch

if TYPE_CHECKING:
    from streaming.jobs.behavior_job import RunningJob
    from streaming.snapshot_writer import SnapshotWriter, WriterStats

MODEL_OPTION = click.option("--model", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
                            help="Model directory whose semantic ids fill sid_codes. Default: the newest under "
                                 "models_dir, if any, and each newer one once trained.")  # fmt: skip
METRICS_OPTION = click.option("--metrics-port", type=int, default=None,
                              help="Serve the writer's Prometheus metrics on this port (any path; off by default).")  # fmt: skip
JOB_END_WAIT_MS = 120_000
"""How long a bounded run, once its writer has gone quiet, waits for the job's end (its final checkpoint)."""


@click.group()
def stream() -> None:
    """Streaming jobs: clicks -> per-user state -> Feast/Redis, feature-updates, dead letters."""


@stream.command()
@click.option("--bounded", is_flag=True, help="Process what the clicks topic holds now, then stop (else run until Ctrl-C).")
@click.option("--snapshot-topic", default=None, help="Upsert topic between job and writer (default: topics.snapshots).")
@click.option("--group", default="freshrec-behavior", show_default=True,
              help="Consumer group of the job: it resumes from the group's committed offsets.")
@click.option("--jobmanager", metavar="HOST:PORT", default=None,
              help="Submit to this Flink session cluster (its REST endpoint) instead of an in-process mini-cluster.")
@click.option("--checkpoint-dir", type=click.Path(path_type=Path), default=None,
              help="Where checkpoints (and, with --jobmanager, the savepoint of a graceful stop) are kept; a restart "
                   "resumes from the newest. Default: state_dir/checkpoints/GROUP. With --jobmanager the cluster "
                   "writes there too: a folder both reach.")  # fmt: skip
@click.option("--from-empty-state", is_flag=True,
              help="Start with empty state although the store holds snapshots and nothing can be resumed: their "
                   "users' next snapshots will hold only what the job sees from now on.")  # fmt: skip
@MODEL_OPTION
@METRICS_OPTION
@click.option("--parallelism", type=click.IntRange(1), default=1, show_default=True,
              help="Subtasks of each operator (at most the slots of the cluster; users are spread over them by key "
                   "group). A resumed job may differ from the one that wrote its checkpoint: its state is "
                   "redistributed.")  # fmt: skip
@click.option("--job-metrics-port", type=int, default=None,
              help="Serve the in-process job's Prometheus metrics (Flink's and the job's own: dead letters by kind, "
                   "applied, duplicate and late clicks, snapshots) on this port. With --jobmanager the cluster's "
                   "configuration has the reporter (flink.metrics_ports).")  # fmt: skip
@click.pass_obj
def run(settings: Settings, bounded: bool, snapshot_topic: str | None, group: str, jobmanager: str | None,
        checkpoint_dir: Path | None, from_empty_state: bool, model: Path | None, metrics_port: int | None,
        parallelism: int, job_metrics_port: int | None) -> None:  # fmt: skip
    """Start the behavior job (in-process mini-cluster, or `--jobmanager`) and write its snapshots to the feature store.

    Per-event work (decoding, dedup, event-time order, state, dead letters) runs in the JVM; the writer here turns
    the job's coalesced per-user snapshots into Feast-layout Redis rows, parquet snapshots and feature-updates, in
    batches, committing Kafka offsets only after a batch is stored.
    """
    from py4j.protocol import Py4JError

    from feature_store.offline import event_log
    from feature_store.views import USER_REALTIME
    from streaming.flink.checkpoints import SAVEPOINTS, latest_checkpoint
    from streaming.flink.session import SessionError, job_name, running_job, stop_with_savepoint

    if job_metrics_port is not None and jobmanager is not None:
        raise click.UsageError("--job-metrics-port serves the in-process job; a cluster's reporter is its configuration "
                               "(flink.metrics_ports for `freshrec flink up`)")  # fmt: skip
    checkpoints = _checkpoints(settings, checkpoint_dir, group)
    resume = latest_checkpoint(checkpoints)
    stored = next((settings.offline_dir / USER_REALTIME.name).glob("part-*.parquet"), None) is not None
    if resume is None and stored and not from_empty_state:
        raise click.ClickException(
            f"refusing to start with empty state: the store holds snapshots (parts under {settings.offline_dir}) "
            f"but {checkpoints} has no checkpoint or savepoint to resume from, so each of their users' next snapshot "
            "would replace a whole history with what the job sees from now on. Point --checkpoint-dir at the job's "
            "checkpoints, or pass --from-empty-state to accept that.")  # fmt: skip
    snapshot_topic = snapshot_topic or settings.topics.snapshots
    job = _submit(settings, snapshot_topic, group, checkpoints, bounded=bounded, jobmanager=jobmanager,
                  parallelism=parallelism, metrics_port=job_metrics_port)  # fmt: skip
    origin = f"resumed from {resume}" if resume else f"checkpoints in {checkpoints}"
    where = f"to {jobmanager}" if jobmanager else "in process"
    click.echo(f"behavior job submitted {where} ({'bounded' if bounded else 'unbounded'}, {origin}); writing snapshots ...")
    with _writer(settings, snapshot_topic, "freshrec-snapshot-writer", model, metrics_port) as (writer, stats), \
            stop_requested() as stop:  # bounded: stop once the job has gone quiet for 20 s (see docs/streaming.md)
        writer.run(idle_stop_s=20 if bounded else None, should_stop=stop.is_set, stats=stats)
        if stop.is_set() and jobmanager is None:  # the in-process job: its checkpoints are retained, a rerun resumes
            with contextlib.suppress(Py4JError):  # a signal to the whole process group has ended the JVM already
                job.cancel()
        elif stop.is_set() and jobmanager is not None:  # on the cluster: the group's job (this run's, or a rescale's) stops with a savepoint
            try:
                current = running_job(jobmanager, job_name(group))
                if current is not None:
                    savepoint = stop_with_savepoint(jobmanager, current, checkpoints / SAVEPOINTS)
                    click.echo(f"behavior job stopped with savepoint {savepoint}")
            except (SessionError, OSError) as exc:
                raise click.ClickException(f"the job on {jobmanager} was not stopped with a savepoint: {exc}") from exc
        else:  # bounded, quiet: the job's end commits its last event-log parts
            job.wait(JOB_END_WAIT_MS)
            event_log.compact(settings.offline_dir)
    click.echo(f"{'stopped: ' if stop.is_set() else ''}{stats.snapshots} snapshots written in {stats.batches} batches "
               f"({stats.applied} applied, {stats.dead_letters} dead-lettered)")


@stream.command()
@click.option("--jobmanager", metavar="HOST:PORT", required=True, help="The session cluster the job runs on.")
@click.option("--parallelism", type=click.IntRange(1), required=True, help="The job's parallelism from now on.")
@click.option("--group", default="freshrec-behavior", show_default=True, help="The job's consumer group (as `stream run`).")
@click.option("--snapshot-topic", default=None, help="As `stream run` was given (default: topics.snapshots).")
@click.option("--checkpoint-dir", type=click.Path(path_type=Path), default=None,
              help="As `stream run` was given (default: state_dir/checkpoints/GROUP): the savepoint goes there.")
@click.pass_obj
def rescale(settings: Settings, jobmanager: str, parallelism: int, group: str, snapshot_topic: str | None,
            checkpoint_dir: Path | None) -> None:  # fmt: skip
    """Stop the group's job on the session cluster with a savepoint and resubmit it at PARALLELISM from that savepoint:
    each user's state moves to the subtask that owns its key group now, and the job goes on from the savepoint's
    offsets, so nothing is lost or applied twice. Returns once every task of the new job runs. The writer of
    `stream run` goes on meanwhile; stopping `stream run` later stops the rescaled job."""
    from streaming.flink.checkpoints import SAVEPOINTS
    from streaming.flink.session import SessionError, job_name, running_job, stop_with_savepoint, wait_running
    from streaming.flink.session import parallelism as parallelism_of

    checkpoints = _checkpoints(settings, checkpoint_dir, group)
    try:
        current = running_job(jobmanager, job_name(group))
        if current is None:
            raise click.ClickException(f"no job of group {group!r} runs on {jobmanager}")
        before = max(parallelism_of(jobmanager, current).values())
        savepoint = stop_with_savepoint(jobmanager, current, checkpoints / SAVEPOINTS)
    except (SessionError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    job = _submit(settings, snapshot_topic or settings.topics.snapshots, group, checkpoints, jobmanager=jobmanager,
                  parallelism=parallelism)  # fmt: skip
    try:
        wait_running(jobmanager, job.job_id)
    except (SessionError, OSError) as exc:
        raise click.ClickException(f"resubmitted from {savepoint}, but: {exc}") from exc
    click.echo(f"rescaled {job_name(group)}: parallelism {before} -> {parallelism} from savepoint {savepoint}; "
               f"job {job.job_id}")


def _checkpoints(settings: Settings, checkpoint_dir: Path | None, group: str) -> Path:
    """Where the group's job keeps its checkpoints and savepoints: `--checkpoint-dir`, else under state_dir."""
    return checkpoint_dir or settings.state_dir / "checkpoints" / group


def _submit(settings: Settings, snapshot_topic: str, group: str, checkpoints: Path, *, jobmanager: str | None,
            parallelism: int, bounded: bool = False, metrics_port: int | None = None) -> RunningJob:  # fmt: skip
    """Submit the behavior job as `settings` configure it, resuming from the newest checkpoint under `checkpoints`."""
    from feature_store.offline import event_log
    from streaming.flink.checkpoints import TMP
    from streaming.flink.environment import job_jar
    from streaming.jobs.behavior_job import JobConfig, start

    try:
        jars = [*sorted(fetch("flink-connectors", settings.cache_dir).glob("*.jar")), job_jar()]
    except (JarError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    topics = settings.topics
    config = JobConfig(settings.kafka.bootstrap_servers, topics.clicks, topics.dead_letter, snapshot_topic, group,
                       stream=settings.stream, dead_letter_max_bytes=topics.dead_letter_max_bytes,
                       checkpoint_dir=checkpoints, event_log_dir=settings.offline_dir / event_log.STREAMED,
                       kafka_properties=settings.kafka.java_properties(), jobmanager=jobmanager, parallelism=parallelism,
                       bounded=bounded, metrics_port=metrics_port,
                       tmp_dir=None if jobmanager else checkpoints / TMP)  # fmt: skip
    if jobmanager is None:  # read by PyFlink when it starts the JVM that hosts the mini-cluster
        heap = settings.flink.local_heap
        os.environ.setdefault("JVM_ARGS", f"-Xms{heap} -Xmx{heap} -XX:+AlwaysPreTouch")
    try:
        return start(config, jars)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@stream.command()
@click.option("--snapshot-topic", default=None, help="The job's snapshot topic (default: topics.snapshots).")
@click.option("--group", default="freshrec-snapshot-writer", show_default=True, help="Consumer group of the writer.")
@MODEL_OPTION
@METRICS_OPTION
@click.pass_obj
def write(settings: Settings, snapshot_topic: str | None, group: str, model: Path | None, metrics_port: int | None) -> None:
    """Only the snapshot writer: for a behavior job that runs on a cluster of its own (Kubernetes: infra/deploy)."""
    snapshot_topic = snapshot_topic or settings.topics.snapshots
    with _writer(settings, snapshot_topic, group, model, metrics_port) as (writer, stats), stop_requested() as stop:
        click.echo(f"writing snapshots from {snapshot_topic} ...")
        writer.run(should_stop=stop.is_set, stats=stats)
    click.echo(f"stopped: {stats.snapshots} snapshots written ({stats.dead_letters} dead-lettered)")


@contextlib.contextmanager
def _writer(settings: Settings, snapshot_topic: str, group: str, model: Path | None,
            metrics_port: int | None) -> Iterator[tuple[SnapshotWriter, WriterStats]]:  # fmt: skip
    """The writer, and the counts its run adds to (which its metrics, when served, read). Without `model` pinned,
    its semantic ids follow the newest model under models_dir, polled as serving polls (`serving.model_poll_s`)."""
    from feature_store.views import USER_REALTIME
    from inference.item_vocabulary import ItemVocabulary
    from inference.model_dirs import ModelFollower
    from streaming.snapshot_writer import SnapshotWriter, WriterStats
    from streaming.state.representation import ArraySemanticIds

    def semantic_ids(directory: Path) -> ArraySemanticIds:
        items = ItemVocabulary.load(directory)
        return ArraySemanticIds(items.codes, items.to_index, items.version)

    stats, on_written = WriterStats(), None
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from streaming.writer_metrics import WriterMetrics

        metrics = WriterMetrics(stats)
        start_http_server(metrics_port, registry=metrics.registry)
        on_written = metrics.observe
        click.echo(f"writer metrics on :{metrics_port}")

    directory = model or _newest_model(settings.models_dir)
    click.echo(f"sid_codes from {directory}" if directory else "sid_codes left empty: no trained model (freshrec train)")
    client = settings.redis.client()
    guard = store_guard(settings, client)
    writer = SnapshotWriter(settings.kafka.client_config(), guard.writers[USER_REALTIME.name], settings.offline_dir,
                            snapshot_topic, settings.topics.feature_updates, group,
                            dead_letter_topic=settings.topics.snapshot_dead_letter, on_written=on_written,
                            semantic_ids=semantic_ids(directory) if directory else None, guard=guard)  # fmt: skip
    follower = None if model else ModelFollower(settings.models_dir, directory, semantic_ids,
                                                 lambda ids: setattr(writer, "semantic_ids", ids),
                                                 settings.serving.model_poll_s).start()  # fmt: skip
    try:
        yield writer, stats
    finally:
        if follower is not None:
            follower.close()


def _newest_model(models_dir: Path) -> Path | None:
    from inference.model_dirs import newest_model

    try:
        return newest_model(models_dir)
    except FileNotFoundError:
        return None
