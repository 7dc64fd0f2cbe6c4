"""`freshrec jars`: the pinned, checksum-verified jar bundles (Kafka broker, Flink connectors)."""

from __future__ import annotations

import click

from infra.config import Settings
from infra.jars import BUNDLES, JarError, fetch, lock


@click.group()
def jars() -> None:
    """Pinned jars from Maven Central, verified against infra/maven/jars.lock."""


@jars.command("fetch")
@click.argument("bundles", nargs=-1, type=click.Choice(sorted(BUNDLES)))
@click.pass_obj
def fetch_command(settings: Settings, bundles: tuple[str, ...]) -> None:
    """Resolve, verify and cache BUNDLES (all when none are named); prints each bundle's directory."""
    try:
        for name in bundles or sorted(BUNDLES):
            click.echo(f"{name}: {fetch(name, settings.cache_dir)}")
    except JarError as exc:
        raise click.ClickException(str(exc)) from exc


@jars.command("lock")
@click.pass_obj
def lock_command(settings: Settings) -> None:
    """Re-resolve every bundle and rewrite jars.lock (after editing a pom in infra/maven; review the diff)."""
    lock(settings.cache_dir)
    click.echo("infra/maven/jars.lock rewritten")
