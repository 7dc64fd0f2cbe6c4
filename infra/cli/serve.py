"""`freshrec serve` and `freshrec refresh`: the ranking API and the refresher that keeps its cache fresh."""

from __future__ import annotations

from pathlib import Path

import click

from inference.runtimes import RUNTIMES, RuntimeUnavailable
from infra.cli.stopping import stop_requested
from infra.config import Settings


def _serving(settings: Settings, model: Path | None, runtime: str | None, force: bool):  # noqa: ANN202
    """The serving settings, after checking that the model to start with (pinned, else the newest) knows the items
    users click, unless `force`."""
    import redis

    from feature_store.views import USER_REALTIME
    from inference.item_vocabulary import ItemVocabulary
    from inference.model_dirs import newest_model
    from inference.serving.coverage import SAMPLE_USERS, CoverageError, check_coverage, streamed_items
    from inference.serving.loading import feature_reader

    updates = {k: v for k, v in {"model_dir": model, "runtime": runtime}.items() if v is not None}
    config = settings.serving.model_copy(update=updates)
    if force or not config.min_item_coverage:
        return config
    try:
        items = ItemVocabulary.load(config.model_dir or newest_model(settings.models_dir))
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        streamed = streamed_items(feature_reader(settings.redis.client(), config, [USER_REALTIME]), SAMPLE_USERS)
    except redis.RedisError as exc:  # an outage at start is served through (503s), not a reason to stay down
        click.echo(f"item coverage not checked, the online store does not answer: {exc}", err=True)
        return config
    try:
        coverage = check_coverage(items, streamed, config.min_item_coverage)
    except CoverageError as exc:
        raise click.ClickException(str(exc)) from exc
    if len(streamed):
        click.echo(f"the model knows {coverage:.1%} of {len(streamed):,} streamed item ids sampled")
    return config


FORCE = click.option("--force", is_flag=True, help="Start even if the model knows too few of the streamed items "
                     "(serving.min_item_coverage).")  # fmt: skip


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Model directory (default: serving.model_dir, else the newest under models_dir).")  # fmt: skip
@click.option("--runtime", type=click.Choice(list(RUNTIMES)), default=None, help="Default: serving.runtime (onnx-int8).")
@click.option("--host", default=None, help="Default: serving.host.")
@click.option("--port", type=int, default=None, help="Default: serving.port.")
@click.option("--workers", type=int, default=None, help="API processes sharing the port. Default: serving.workers (1).")
@click.option("--no-auth", is_flag=True, help="Serve without an API key beyond loopback (an open API, on purpose).")
@FORCE
@click.pass_obj
def serve(settings: Settings, model: Path | None, runtime: str | None, host: str | None, port: int | None,
          workers: int | None, no_auth: bool, force: bool) -> None:  # fmt: skip
    """Serve POST /recommend (OpenAPI at /docs) on the online store at the configured Redis."""
    from inference.serving.api import create_app
    from inference.serving.loading import open_service
    from inference.serving.server import closing, serve_workers
    from inference.serving.server import serve as run_server

    try:
        settings.serving.check_exposure(host or settings.serving.host, no_auth)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    config = _serving(settings, model, runtime, force)
    workers = workers or config.workers
    if workers > 1:
        click.echo(f"serving {config.model_dir.name if config.model_dir else 'the newest model'} ({config.runtime}) "
                   f"with {workers} workers on http://{host or config.host}:{port or config.port}")  # fmt: skip
        with stop_requested():  # uvicorn stops gracefully, then re-raises the signal: ours takes it, the exit is 0
            serve_workers(config, settings.redis.client_kwargs(), settings.models_dir, host or config.host,
                          port or config.port, workers, settings.redis.cluster)  # fmt: skip
        return
    client = settings.redis.client()
    try:
        service = open_service(config, client, settings.models_dir)
    except (FileNotFoundError, ValueError, RuntimeUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"serving {service.ranker.model_id} ({config.runtime}) on http://{host or config.host}:{port or config.port}")
    with stop_requested():
        run_server(closing(create_app(service, config, client), service.close), host or config.host, port or config.port)


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Model directory (default: as `freshrec serve`).")  # fmt: skip
@click.option("--runtime", type=click.Choice(list(RUNTIMES)), default=None)
@click.option("--group", default="freshrec-refresher", show_default=True, help="Kafka consumer group.")
@click.option("--idle-stop", type=float, default=None, help="Stop after this many seconds without updates.")
@click.option("--metrics-port", type=int, default=None,
              help="Serve the refresher's Prometheus metrics (lag, refreshed) on this port; off by default.")  # fmt: skip
@FORCE
@click.pass_obj
def refresh(settings: Settings, model: Path | None, runtime: str | None, group: str, idle_stop: float | None,
            metrics_port: int | None, force: bool) -> None:  # fmt: skip
    """Recompute and cache each user's top-K whenever feature-updates says their features changed."""
    from feature_store.views import USER_REALTIME
    from inference.serving.loading import feature_reader, follow, open_ranker
    from inference.serving.refresher import Refresher
    from inference.serving.result_cache import ResultCache

    config = _serving(settings, model, runtime, force)
    client = settings.redis.client()
    metrics = None
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from inference.serving.metrics import ServingMetrics

        metrics = ServingMetrics()
        start_http_server(metrics_port, registry=metrics.registry)
    try:
        ranker = open_ranker(config, settings.models_dir, metrics)
    except (FileNotFoundError, ValueError, RuntimeUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    refresher = Refresher(settings.kafka.client_config(), settings.topics.feature_updates,
                          feature_reader(client, config, [USER_REALTIME]), ranker, ResultCache(client, config.cache_ttl_s), group,
                          max_lag_ms=config.refresh_max_lag_ms or None, metrics=metrics)  # fmt: skip
    click.echo(f"refreshing with {ranker.model_id} from {settings.topics.feature_updates} ...")
    follower = follow(config, settings.models_dir, ranker, lambda newer: setattr(refresher, "ranker", newer), metrics)
    with stop_requested() as stop:
        try:
            stats = refresher.run(should_stop=stop.is_set, idle_stop_s=idle_stop)
        finally:
            if follower is not None:
                follower.close()
    click.echo(f"{'stopped: ' if stop.is_set() else ''}{stats.updates} updates, {stats.users} users refreshed, {stats.written} results cached")
