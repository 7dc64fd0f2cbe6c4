"""The CLI's choices are the code's registries (the CLI keeps its own lists so that `--help` does not import torch)."""

from __future__ import annotations

import click

from inference.pipeline import PRESETS
from inference.sequences import DATASETS
from infra.cli import main


def _choices(command: click.Command, option: str) -> set[str]:
    (param,) = [p for p in command.params if p.name == option]
    assert isinstance(param.type, click.Choice)
    return set(param.type.choices)


def test_train_offers_every_preset_and_dataset() -> None:
    train = main.commands["train"]
    assert _choices(train, "preset") == set(PRESETS)
    assert _choices(train, "dataset") == set(DATASETS)
    items = main.commands["items"]
    assert isinstance(items, click.Group)
    assert _choices(items.commands["load"], "dataset") == set(DATASETS)
