"""`freshrec flink up | down | status`: a standalone Flink session cluster for `freshrec stream run --jobmanager`."""

from __future__ import annotations

import click

from infra.config import Settings
from infra.stack.flink import LocalFlinkCluster
from infra.stack.process import StackError


@click.group()
def flink() -> None:
    """A Flink session cluster (JobManager + TaskManager processes of the distribution PyFlink ships)."""


@flink.command()
@click.pass_obj
def up(settings: Settings) -> None:
    """Start the cluster and return once its TaskManager offers slots; a no-op when it already runs."""
    cluster = LocalFlinkCluster(settings.flink, settings.state_dir)
    try:
        started = cluster.start()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"flink: {'started' if started else 'already running'}; submit with --jobmanager {settings.flink.jobmanager}")


@flink.command()
@click.pass_obj
def down(settings: Settings) -> None:
    """Stop the cluster's processes (by pid)."""
    stopped = LocalFlinkCluster(settings.flink, settings.state_dir).stop()
    click.echo(f"flink: {'stopped' if stopped else 'not running'}")


@flink.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Version, slots and jobs of the cluster; exit code 1 when it does not answer."""
    overview = LocalFlinkCluster(settings.flink, settings.state_dir).overview()
    if overview is None:
        click.echo(f"flink: down ({settings.flink.jobmanager})")
        raise SystemExit(1)
    click.echo(f"flink: up, Apache Flink {overview['flink-version']} at {settings.flink.jobmanager}, "
               f"{overview['slots-available']}/{overview['slots-total']} slots free, {overview['jobs-running']} jobs running")  # fmt: skip
