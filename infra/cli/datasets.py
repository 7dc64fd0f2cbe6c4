"""`freshrec datasets fetch`: dataset archives that are fetched, not shipped (pinned, verified, cached); and the
dataset argument the other commands take."""

from __future__ import annotations

from typing import Any

import click

from infra.config import Settings
from infra.datasets import ARCHIVES, FetchError
from infra.datasets import fetch as fetch_archive
from sources.datasets import AMAZON_PREFIX, amazon_category

AMAZON_METAVAR = f"{AMAZON_PREFIX}<Category>"


class DatasetChoice(click.Choice):
    """One of the named datasets, or `amazon:<Category>`: any Amazon category whose S3-Rec files are in the
    datasets folder's amazon/ (Sports_and_Outdoors.txt, Toys_and_Games.txt, ...), read like Beauty."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and amazon_category(value) is not None:
            return value
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is none of {', '.join(self.choices)}, nor {AMAZON_METAVAR}", param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        metavar = super().get_metavar(param, ctx) or "[]"
        return f"{metavar[:-1]}|{AMAZON_METAVAR}{metavar[-1]}"


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
