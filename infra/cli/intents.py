"""`freshrec intents run | evaluate`: the daily LLM intent tags of a date, and how well they predict the next day."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import redis
from pydantic import SecretStr

from infra.cli.llm import server
from infra.config import Settings
from infra.stack.llm import MODEL_VERSION
from infra.stack.process import StackError

CATALOGS = ("movielens", "codes")


@click.group()
def intents() -> None:
    """RecGPT-style intent tags per user and day (planner -> experts -> arbiter, judged), into Feast."""


@contextlib.contextmanager
def llm_client(settings: Settings) -> Iterator[tuple[object, str]]:
    """A client of the configured server, or of the embedded one (started for the run when it is not running)."""
    from intents.llm import LLMClient

    config = settings.intents.llm
    if config.base_url:
        yield LLMClient(config, config.base_url), config.model
        return
    embedded = server(settings)
    try:
        started = embedded.start()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        local = config.model_copy(update={"structured_output": "json_object", "model": MODEL_VERSION,
                                          "api_key": SecretStr(embedded.api_key())})  # fmt: skip
        yield LLMClient(local, settings.embedded_llm.base_url), MODEL_VERSION
    finally:
        if started:
            embedded.stop()


def load_catalog(settings: Settings, name: str, events):  # noqa: ANN001, ANN201
    from intents.catalog import coded_catalog, movie_catalog
    from sources.movielens import ARCHIVE, GENRES, read_movielens

    if name == "movielens":
        return movie_catalog(read_movielens(settings.archives_dir / ARCHIVE).movies, GENRES)
    return coded_catalog(events)


@intents.command()
@click.option("--date", "day", default=None, help="UTC date YYYY-MM-DD whose active users are tagged [default: yesterday].")
@click.option("--catalog", type=click.Choice(CATALOGS), default="codes", show_default=True,
              help="Item and category names: MovieLens titles and genres, or short codes (anonymised data).")
@click.option("--limit", type=int, default=None, help="Only the first N users of the date (by id).")
@click.option("--user", "users", type=int, multiple=True, help="Only this user (repeatable), e.g. to re-tag one.")
@click.pass_obj
def run(settings: Settings, day: str | None, catalog: str, limit: int | None, users: tuple[int, ...]) -> None:
    """Tag every user active on DATE from the offline event log; write user_intent offline and online.

    Re-running a date replaces its rows; a killed run resumes without redoing finished users. Daily cron:
    `15 0 * * * .venv/bin/freshrec intents run` (yesterday, once its events are all in).
    """
    day = day or (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    try:
        date.fromisoformat(day)
    except ValueError as exc:
        raise click.BadParameter(f"{day!r} is not a date YYYY-MM-DD", param_hint="--date") from exc
    from rich.progress import Progress

    from feature_store.offline import event_log
    from feature_store.online.writer import OnlineWriter
    from feature_store.views import USER_INTENT
    from intents.batch import run_day

    offline_dir = settings.offline_dir
    events = event_log.read(offline_dir)
    names = load_catalog(settings, catalog, events)
    writer = OnlineWriter(settings.redis.client(), USER_INTENT)
    try:
        writer.client.ping()  # fail before the LLM work, not after it
    except redis.RedisError as exc:
        raise click.ClickException(f"the online store at {settings.redis.host}:{settings.redis.port} does not answer: {exc}") from exc
    with llm_client(settings) as (client, model_version), Progress() as progress:
        task = progress.add_task(f"intents {day}", total=None)
        stats = run_day(events, names, day, client, settings.intents, offline_dir, writer, model_version,
                        on_user=lambda _: progress.advance(task), limit=limit, users=set(users) or None)  # fmt: skip
    minutes = stats.seconds / 60
    done_now = stats.tagged - stats.resumed
    click.echo(f"{day}: {stats.users} active users, {stats.tagged} tagged ({stats.resumed} from an earlier run), "
               f"grades {dict(sorted(stats.grades.items()))}, {done_now / minutes if minutes else 0:.1f} users/min")  # fmt: skip
    for user, reason in stats.failed.items():
        click.echo(f"failed user {user}: {reason}", err=True)
    if stats.failed:
        raise SystemExit(1)


def gr_retriever(model_dir: Path, k: int, intent_items: int):  # noqa: ANN201
    """Serving's top-k per (history, tag categories), without the intent channel and with `intent_items` of its
    items, from a saved model directory (the torch reference runtime): `intents.evaluation.Retrieve`."""
    from inference import artifacts
    from inference.serving.ranker import Ranker, RankInput

    ranker = Ranker(artifacts.load(model_dir), None, k)

    def retrieve(histories: list, categories: list[list[int]]) -> list[tuple[set[int], set[int]]]:
        out = []
        for history, tags, r in zip(histories, categories, ranker.rank([RankInput(h) for h in histories])):
            items, scores = r.items[:k].tolist(), r.scores[:k].tolist()
            merged = ranker.with_intent(items, scores, r.source, tags, history, k, intent_items)[0]
            out.append((set(items), set(merged)))
        return out

    return retrieve


@intents.command()
@click.option("--date", "day", required=True, help="The tagged date; its next day's events are the ground truth.")
@click.option("--catalog", type=click.Choice(CATALOGS), default="codes", show_default=True)
@click.option("--channel-size", type=int, default=20, show_default=True, help="Items of the tag channel and of GR's top-K.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A GR model directory trained on the same items (time split before DATE): adds exclusive recall.")
@click.pass_obj
def evaluate(settings: Settings, day: str, catalog: str, channel_size: int, model_dir: Path | None) -> None:
    """Score DATE's tags against the next day's interactions, beside the most-frequent-categories baseline."""
    import pyarrow.parquet as pq

    from feature_store.offline import event_log
    from feature_store.views import USER_INTENT
    from intents.evaluation import score_day, summarize
    from intents.judge import tag_category

    offline_dir = settings.offline_dir
    events = event_log.read(offline_dir)
    names = load_catalog(settings, catalog, events)
    path = offline_dir / USER_INTENT.name / f"part-{day}-intents.parquet"
    if not path.is_file():
        raise click.ClickException(f"no intents for {day}: run `freshrec intents run --date {day}` first")
    rows = pq.read_table(path, columns=["user_id", "tags"]).to_pylist()
    tag_categories = {r["user_id"]: [c for t in r["tags"] if (c := tag_category(t, names)) is not None] for r in rows}
    retrieve = gr_retriever(model_dir, channel_size, settings.serving.intent_items) if model_dir else None
    result = summarize(score_day(events, names, day, tag_categories, channel_size, retrieve))
    served = (f"; served recall@{channel_size} {result.gr_recall:.3f} without the intent channel, "
              f"{result.served_recall:.3f} with it" if retrieve else "")  # fmt: skip
    click.echo(f"{day}: {result.users} tagged users active the next day{served}")
    for name, s in (("LLM tags", result.tags), ("baseline (most frequent categories)", result.baseline)):
        click.echo(f"  {name}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in s.items()))


@intents.command("context-size")
@click.option("--catalog", type=click.Choice(CATALOGS), default="codes", show_default=True)
@click.pass_obj
def context_size(settings: Settings, catalog: str) -> None:
    """Tokens of every user-day context in the offline event log, full text vs hybrid (the embedded model's tokenizer)."""
    from llama_cpp import Llama

    from feature_store.offline import event_log
    from infra.stack.llm import model_file
    from intents.context_size import context_sizes

    events = event_log.read(settings.offline_dir)
    vocab = Llama(str(model_file(settings.cache_dir)), vocab_only=True, verbose=False)
    sizes = context_sizes(events, load_catalog(settings, catalog, events),
                          lambda text: len(vocab.tokenize(text.encode(), add_bos=False)), settings.intents.max_events)  # fmt: skip
    s = sizes.summary()
    click.echo(f"{s['contexts']} user-day contexts: full text mean {s['full_mean']:.0f} tokens (p95 {s['full_p95']:.0f}), "
               f"hybrid mean {s['hybrid_mean']:.0f} (p95 {s['hybrid_p95']:.0f}): {s['saved']:.1%} fewer tokens")  # fmt: skip
