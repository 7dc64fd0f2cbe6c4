"""`freshrec demo`: the whole system's loop on MovieLens-100K (infra/demo.py)."""

from __future__ import annotations

import json

import click

from infra.config import Settings


@click.command()
@click.option("--day", default="1997-11-15", show_default=True,
              help="D: ratings before it are the history; the user's ratings of D arrive live.")  # fmt: skip
@click.option("--user", type=int, default=None, help="The live user (default: the most active on D with a history).")
@click.option("--live-clicks", type=int, default=5, show_default=True, help="How many of the user's ratings of D.")
@click.pass_obj
def demo(settings: Settings, day: str, user: int | None, live_clicks: int) -> None:
    """Replay ratings before D through the behavior job, train from the store's event log, serve and refresh, send
    one user's real next ratings live and show their top-10 before and after, then tag the user with D's intent
    batch. Needs the local stack up with its topics (`freshrec up`, `freshrec topics create`); stops what it starts.
    The report (what was shown and measured) is written to state_dir/demo/report.json."""
    from infra.demo import Demo, DemoError

    runner = Demo(settings, day, user, live_clicks, say=click.echo)
    try:
        report = runner.run()
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    (runner.logs / "report.json").write_text(json.dumps(report, indent=1))
    click.echo(f"demo: done; report in {runner.logs / 'report.json'}")
