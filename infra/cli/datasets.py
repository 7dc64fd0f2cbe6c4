"""`freshrec datasets fetch`: dataset archives that are fetched, not shipped (pinned, verified, cached)."""

from __future__ import annotations

import click

from infra.config import Settings
from infra.datasets import ARCHIVES, FetchError
from infra.datasets import fetch as fetch_archive


@click.group()
def datasets() -> None:
    """Public datasets read from fetched archives (the shared datasets folder holds the others)."""


@datasets.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(ARCHIVES)))
@click.pass_obj
def fetch(settings: Settings, names: tuple[str, ...]) -> None:
    """Download NAMES (default: all) into the cache unless a verified copy is there."""
    for name in names or sorted(ARCHIVES):
        try:
            click.echo(f"{name}: {fetch_archive(name, settings.archives_dir)}")
        except FetchError as exc:
            raise click.ClickException(str(exc)) from exc
