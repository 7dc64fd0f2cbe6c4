"""`freshrec up | down | status`: the local stack (Apache Kafka KRaft broker, Redis, Flink connector jars)."""

from __future__ import annotations

import click
from rich.console import Console

from infra.config import Settings
from infra.jars import JarError
from infra.stack.local import LocalStack
from infra.stack.process import StackError
from infra.stack.secure import secure_config

console = Console()


@click.command()
@click.option("--secure", is_flag=True, help="Kafka on SASL_SSL (SCRAM-SHA-512) and Redis on TLS with an ACL user, "
              "certificates of a local CA, no plaintext listener; the client settings (with generated passwords) go "
              "to state_dir/secure.yaml: point FRESHREC_CONFIG at it.")  # fmt: skip
@click.option("--brokers", type=click.IntRange(1), default=None,
              help="Run a Kafka cluster of this many brokers (KRaft quorum of all; topics replicated to three, two "
                   "in sync) instead of kafka.brokers; every later command needs FRESHREC_KAFKA__BROKERS=N too.")  # fmt: skip
@click.option("--redis-cluster", "masters", type=click.IntRange(3), default=None,
              help="Run a Redis Cluster of this many masters (redis.cluster_replicas replicas each, on consecutive "
                   "ports from redis.port) instead of one server; every later command needs FRESHREC_REDIS__CLUSTER=true.")  # fmt: skip
@click.pass_obj
def up(settings: Settings, secure: bool, brokers: int | None, masters: int | None) -> None:
    """Start the local stack and return once Kafka and Redis serve clients; a no-op when it already runs.

    Jars come from Maven Central, pinned and SHA-256-verified, cached under cache_dir; Kafka's storage is formatted on
    first start; data, pids and logs live under state_dir.
    """
    certificates, config = None, None
    if brokers is not None:
        settings = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"brokers": brokers})})
    if masters is not None:
        redis = settings.redis.model_copy(update={"cluster": True, "cluster_masters": masters})
        settings = settings.model_copy(update={"redis": redis})
    if secure:
        settings, certificates, config = secure_config(settings)
    stack = LocalStack(settings, certificates)
    try:
        with console.status("starting Redis and Apache Kafka ..."):
            started = stack.up()
    except (StackError, JarError) as exc:
        raise click.ClickException(str(exc)) from exc
    for service, now in started.items():
        console.print(f"{service}: {'started' if now else 'already running'}")
    _print_status(stack)
    if config is not None:
        console.print(f"secured: Kafka SASL_SSL (SCRAM-SHA-512), Redis TLS + ACL user. Every command: "
                      f"export FRESHREC_CONFIG={config}", soft_wrap=True)  # fmt: skip
    if brokers is not None and brokers > 1 and config is None:  # secured: the configuration file holds it
        console.print(f"a cluster of {brokers} brokers. Every command: export FRESHREC_KAFKA__BROKERS={brokers}",
                      soft_wrap=True)  # fmt: skip
    if masters is not None and config is None:
        console.print("a Redis Cluster. Every command: export FRESHREC_REDIS__CLUSTER=true", soft_wrap=True)


@click.command()
@click.pass_obj
def down(settings: Settings) -> None:
    """Stop the processes `up` started (by pid; nothing else is touched)."""
    for service, was_running in LocalStack(settings).down().items():
        console.print(f"{service}: {'stopped' if was_running else 'not running'}")


@click.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Show each service's real version, address and pid. Exit code 1 if a service is down."""
    if not _print_status(LocalStack(settings)):
        raise SystemExit(1)


def _print_status(stack: LocalStack) -> bool:
    rows = stack.status()
    for row in rows:
        state = "[green]up[/]  " if row.running else "[red]down[/]"
        pid = f"pid {row.pid}" if row.pid else ""
        console.print(f"{row.name:<17}{state} {row.version or '-'}  {row.address}  {pid}", soft_wrap=True)
        console.print(f"{'':<22}{row.detail}", style="dim", soft_wrap=True)
    return all(row.running for row in rows)
