"""`freshrec features`: the Feast repository and the online store."""

from __future__ import annotations

import click
import numpy as np
import redis

from infra.config import Settings


@click.group()
def features() -> None:
    """Feast repository (feature_store/repo) and online features in Redis."""


@features.command()
@click.pass_obj
def apply(settings: Settings) -> None:
    """Register entities and feature views in Feast's registry (same as `feast apply` in feature_store/repo)."""
    from feature_store.store import apply as apply_repo
    from feature_store.store import open_store

    names = apply_repo(open_store(settings.feature_repo, f"{settings.redis.host}:{settings.redis.port}"))
    click.echo("applied: " + ", ".join(names))


@features.command()
@click.argument("user_ids", nargs=-1, type=int, required=True)
@click.pass_obj
def get(settings: Settings, user_ids: tuple[int, ...]) -> None:
    """Print the online features of USER_IDS (user_realtime and user_intent), read in one round trip."""
    from feature_store.online.reader import OnlineReader
    from feature_store.views import USER_INTENT, USER_REALTIME

    client = redis.Redis(host=settings.redis.host, port=settings.redis.port)
    np.set_printoptions(precision=3, threshold=12, edgeitems=4)
    for vector in OnlineReader(client, [USER_REALTIME, USER_INTENT]).read_many(list(user_ids)):
        click.echo(f"user {vector.entity_id}")
        for view, row in vector.views.items():
            click.echo(f"  {view}: {row.status} (event_time={row.event_time}, version={row.version})")
            for name, value in row.values.items():
                click.echo(f"    {name} = {value}")
