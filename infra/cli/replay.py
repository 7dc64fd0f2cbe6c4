"""`freshrec replay`: stream a real dataset or a synthetic one into the clicks topic."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.cli.datasets import DatasetChoice
from infra.config import Settings
from sources.datasets import DATASETS, DatasetError, load, select, utc_ms
from streaming.replay import ReplayError
from streaming.replay import replay as run_replay


@click.command()
@click.argument("dataset", type=DatasetChoice(DATASETS))
@click.option("--topic", default=None, help="Target topic (default: topics.clicks).")
@click.option("--rate", type=float, default=None, help="Events per second; as fast as possible when omitted.")
@click.option("--limit", type=int, default=None, help="Stop after this many events.")
@click.option("--events", type=int, default=1_000_000, show_default=True, help="Size of the synthetic dataset.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic dataset.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only events at or after this UTC date.")
@click.option("--before", default=None, metavar="YYYY-MM-DD", help="Only events before this UTC date.")
@click.option("--user", "users", type=int, multiple=True, help="Only this user's events (repeatable).")
@click.pass_obj
def replay(settings: Settings, dataset: str, topic: str | None, rate: float | None, limit: int | None,
           events: int, seed: int, since: str | None, before: str | None, users: tuple[int, ...]) -> None:  # fmt: skip
    """Replay DATASET into Kafka as Avro ClickEvents keyed by user id, in event-time order.

    \b
    taobao-2h    110,300 events, 2.2 hours of 2017-11-26, 66k users (Tianchi UserBehavior)
    taobao-head  4,321 events, 43 users with complete histories
    beauty       198,502 Amazon Beauty reviews; synthetic times: item k of user u at 2014-01-01 + k days + u s
    amazon:<Category>  any Amazon category's S3-Rec files in the datasets folder's amazon/, timed as beauty
    synthetic    --events events, Zipf item popularity, seeded
    Event ids are deterministic (<dataset>-<row>), so a second replay produces duplicates a consumer can drop;
    --since, --before and --user replay a part of a recorded dataset with the same ids.
    """
    try:
        source = load(dataset, settings.datasets_dir, num_events=events, seed=seed, archives_dir=settings.archives_dir)
        if since or before or users:
            source = select(source, utc_ms(since) if since else None, utc_ms(before) if before else None, users)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    target = topic or settings.topics.clicks
    total = min(source.num_events, limit) if limit else source.num_events
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        task = progress.add_task(f"{dataset} -> {target}", total=total)
        try:
            stats = run_replay(
                source, target, settings.kafka.client_config(), rate=rate, limit=limit,
                on_progress=lambda n: progress.advance(task, n),
            )  # fmt: skip
        except ReplayError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"replayed {stats.events} events to {target} in {stats.seconds:.2f}s ({stats.rate:,.0f} events/s)")
