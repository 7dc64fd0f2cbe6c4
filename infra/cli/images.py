"""`freshrec images`: the Kafka, Redis and Flink test images, built here without a registry."""

from __future__ import annotations

import click

from infra.config import Settings
from infra.images.build import ImageError, build_images


@click.group()
def images() -> None:
    """Test images built from Debian's packages and the pinned jars (a Docker engine and debootstrap needed)."""


@images.command("build")
@click.pass_obj
def build_command(settings: Settings) -> None:
    """Build what is missing (the Debian base, Kafka, Redis, Flink) and print the variables that point the test
    fixtures at the images, one `NAME=value` line each (`export $(freshrec images build)`)."""
    try:
        built = build_images(settings.cache_dir, log=lambda line: click.echo(line, err=True))
    except ImageError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, value in built.environment().items():
        click.echo(f"{name}={value}")
