"""The CLI's choices are the code's registries (the CLI keeps its own lists so that `--help` does not import torch)."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

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


def test_a_dataset_argument_takes_any_amazon_category(tmp_path: Path) -> None:
    amazon = tmp_path / "amazon"
    amazon.mkdir()
    (amazon / "Toys_and_Games.txt").write_text("1 3 1 2 5\n")
    env = {"FRESHREC_DATASETS_DIR": str(tmp_path)}
    runner = CliRunner()
    assert "[beauty|movielens|taobao|amazon:<Category>]" in runner.invoke(main, ["train", "--help"]).output
    refused = runner.invoke(main, ["train", "--dataset", "netflix"], env=env)
    assert refused.exit_code == 2 and "nor amazon:<Category>" in refused.output
    # replay reads the category's files: a missing one is a one-line error naming those that are there
    missing = runner.invoke(main, ["replay", "amazon:Books"], env=env)
    assert missing.exit_code == 1 and "categories there: amazon:Toys_and_Games" in missing.output
