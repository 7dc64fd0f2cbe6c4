"""`freshrec llm up | down | status`: the embedded LLM server the intent batch uses when no other is configured."""

from __future__ import annotations

import click

from infra.config import Settings
from infra.stack.llm import LocalLLMServer
from infra.stack.process import StackError


@click.group()
def llm() -> None:
    """The embedded llama.cpp server (Gemma 3 270M, OpenAI-compatible API)."""


def server(settings: Settings) -> LocalLLMServer:
    return LocalLLMServer(settings.embedded_llm, settings.state_dir, settings.cache_dir)


@llm.command()
@click.pass_obj
def up(settings: Settings) -> None:
    """Start the server and return once the model answers; a no-op when it already runs."""
    try:
        started = server(settings).start()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"llm: {'started' if started else 'already running'} at {settings.embedded_llm.base_url}")


@llm.command()
@click.pass_obj
def down(settings: Settings) -> None:
    """Stop the server (by pid)."""
    click.echo(f"llm: {'stopped' if server(settings).stop() else 'not running'}")


@llm.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Exit code 1 when the server does not answer."""
    if not server(settings).healthy():
        click.echo(f"llm: down ({settings.embedded_llm.base_url})")
        raise SystemExit(1)
    click.echo(f"llm: up at {settings.embedded_llm.base_url}")
