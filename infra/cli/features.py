"""`freshrec features`: the Feast repository and the online store."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click
import numpy as np

from infra.cli.datasets import DatasetChoice
from infra.config import Settings
from sources.datasets import DATASETS

if TYPE_CHECKING:
    import redis

    from feature_store.online.writer import OnlineWriter
    from feature_store.rebuild import StoreGuard


@click.group()
def features() -> None:
    """Feast repository (feature_store/repo) and online features in Redis."""


@features.command()
@click.pass_obj
def apply(settings: Settings) -> None:
    """Register entities and feature views in Feast's registry (same as `feast apply` in feature_store/repo)."""
    from feature_store.store import apply as apply_repo
    from feature_store.store import open_store

    names = apply_repo(open_store(settings.feature_repo, settings.redis.feast_connection(), settings.redis.cluster))
    click.echo("applied: " + ", ".join(names))


@features.command()
@click.argument("dataset", type=DatasetChoice(DATASETS))
@click.pass_obj
def backfill(settings: Settings, dataset: str) -> None:
    """Compute user_realtime for a whole DATASET offline and write it online (Redis) and offline (parquet).

    Bootstraps a store before the streaming job runs; the job then keeps it fresh event by event.
    """
    from rich.progress import Progress

    from feature_store.online.writer import OnlineWriter
    from feature_store.views import USER_REALTIME
    from sources.datasets import load
    from streaming.backfill import backfill as run_backfill

    source = load(dataset, settings.datasets_dir, archives_dir=settings.archives_dir)
    writer = OnlineWriter(settings.redis.client(), USER_REALTIME)
    with Progress() as progress:
        task = progress.add_task(f"{dataset} -> user_realtime", total=source.num_events)
        stats = run_backfill(source, writer, settings.offline_dir,
                             on_progress=lambda n: progress.advance(task, n))  # fmt: skip
    click.echo(f"{stats.events} events, {stats.users} users, {stats.snapshots} snapshots written "
               f"({stats.duplicates} duplicates, {stats.late} late)")  # fmt: skip


@features.command()
@click.pass_obj
def rebuild(settings: Settings) -> None:
    """Refill the online store (Redis) from the offline snapshot log: each user's newest snapshot of every view.

    Idempotent by version: a row already online at the same or a newer version is left as it is, so it is safe
    while writers run. The snapshot writer does this by itself when it finds the store emptied.
    """
    results = store_guard(settings, settings.redis.client()).refill()
    for view, result in results.items():
        click.echo(f"{view}: {result.applied + result.stale} users, {result.applied} written, {result.stale} already newer")
    if not results:
        click.echo(f"no offline snapshots under {settings.offline_dir}: nothing to rebuild")


def online_writers(settings: Settings, client: redis.Redis) -> dict[str, OnlineWriter]:
    """The writer of each view, with its key TTL: what the stream writes and what a rebuild refills."""
    from feature_store.online.writer import OnlineWriter
    from feature_store.views import USER_INTENT, USER_REALTIME

    return {USER_REALTIME.name: OnlineWriter(client, USER_REALTIME, key_ttl_seconds=settings.stream.key_ttl_s),
            USER_INTENT.name: OnlineWriter(client, USER_INTENT)}  # fmt: skip


def store_guard(settings: Settings, client: redis.Redis) -> StoreGuard:
    from feature_store.rebuild import StoreGuard

    return StoreGuard(client, settings.offline_dir, online_writers(settings, client))


@features.command()
@click.argument("user_ids", nargs=-1, type=int, required=True)
@click.option("--max-age", type=float, default=None,
              help="Seconds after which a row counts as expired (default: each view's ttl; 0: never, e.g. for replayed history).")
@click.pass_obj
def get(settings: Settings, user_ids: tuple[int, ...], max_age: float | None) -> None:
    """Print the online features of USER_IDS (user_realtime and user_intent), read in one round trip."""
    from feature_store.online.reader import OnlineReader
    from feature_store.views import USER_INTENT, USER_REALTIME

    client = settings.redis.client()
    np.set_printoptions(precision=3, threshold=12, edgeitems=4)
    ages = None
    if max_age is not None:
        age = timedelta(days=365_000) if max_age == 0 else timedelta(seconds=max_age)
        ages = {USER_REALTIME.name: age, USER_INTENT.name: age}
    for vector in OnlineReader(client, [USER_REALTIME, USER_INTENT], max_age=ages).read_many(list(user_ids)):
        click.echo(f"user {vector.entity_id}")
        for view, row in vector.views.items():
            click.echo(f"  {view}: {row.status} (event_time={row.event_time}, version={row.version})")
            for name, value in row.values.items():
                click.echo(f"    {name} = {value}")
