"""`freshrec`: the operator CLI. One click group, one module per command group."""

from __future__ import annotations

import logging

import click

from infra.cli.datasets import datasets
from infra.cli.demo import demo
from infra.cli.features import features
from infra.cli.flink import flink
from infra.cli.images import images
from infra.cli.intents import intents
from infra.cli.items import items
from infra.cli.jars import jars
from infra.cli.llm import llm
from infra.cli.model import evaluate_model, train
from infra.cli.replay import replay
from infra.cli.serve import refresh, serve
from infra.cli.stack import down, status, up
from infra.cli.stream import stream
from infra.cli.topics import topics
from infra.config import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--log-level", default="WARNING", show_default=True, help="Python log level (DEBUG, INFO, ...).")
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    """freshrec: streaming features to fresh generative recommendations.

    Configuration comes from defaults, then freshrec.yaml (or the file named by FRESHREC_CONFIG), then
    FRESHREC_<SECTION>__<FIELD> environment variables, e.g. FRESHREC_KAFKA__PORT=19092.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = load_settings()


for command in (up, down, status, jars, images, datasets, topics, replay, features, stream, flink, train, evaluate_model,
                serve, refresh, llm, intents, items, demo):
    main.add_command(command)
