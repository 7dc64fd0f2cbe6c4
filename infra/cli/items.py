"""`freshrec items`: the item catalogue in the feature store."""

from __future__ import annotations

import time

import click

from infra.cli.datasets import DatasetChoice
from infra.config import Settings


@click.group()
def items() -> None:
    """The `item` view: the catalogue training reads from the store (`freshrec train --source store`)."""


@items.command()
@click.argument("dataset", type=DatasetChoice(["beauty", "movielens", "taobao"]))
@click.pass_obj
def load(settings: Settings, dataset: str) -> None:
    """Write DATASET's catalogue (each item's category, attributes and title) to the `item` view, online (Redis)
    and offline (parquet). A later load of the same items supersedes it (newer rows win)."""
    import redis

    from feature_store.offline import parquet_log
    from feature_store.online.writer import OnlineWriter
    from feature_store.views import ITEM
    from inference.item_catalogue import catalogue_table
    from inference.sequences import SequenceDataError, load_sequences

    try:
        data = load_sequences(dataset, settings.datasets_dir, settings.archives_dir)
    except SequenceDataError as exc:
        raise click.ClickException(str(exc)) from exc
    table = catalogue_table(data, int(time.time() * 1000))
    try:
        OnlineWriter(settings.redis.client(), ITEM).write_table(table)
    except redis.ConnectionError as exc:
        raise click.ClickException(f"the online store is unreachable ({exc}): `freshrec up` starts it") from exc
    parquet_log.append_snapshots(settings.offline_dir, ITEM, table)
    titled = sum(1 for t in table["title"].to_pylist() if t)
    click.echo(f"{table.num_rows} items of {dataset} written to the item view ({titled} with a title)")
