"""`freshrec train` on the other datasets: MovieLens items described by their titles through the offline MiniLM,
Taobao items by their categories, with listwise DPO lists tiered by logged behaviour (buy ≻ cart / fav ≻ pv), and
any Amazon category in the S3-Rec layout by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from inference import artifacts
from inference.item_vocabulary import ItemVocabulary
from infra.cli import main
from sources.datasets import TAOBAO_FILES, read_taobao


def train(preset: str, dataset: str, models: Path, datasets_dir: Path, *options: str) -> tuple[dict, Path]:
    result = CliRunner().invoke(main, ["train", "--preset", preset, "--dataset", dataset, "--device", "cpu",
                                       "--models-dir", str(models), *options],
                                env={"FRESHREC_DATASETS_DIR": str(datasets_dir)})  # fmt: skip
    assert result.exit_code == 0, result.output
    (directory,) = models.iterdir()
    artifacts.load(directory)  # loads for serving
    return json.loads((directory / "metrics.json").read_text()), directory


def test_taobao_categories_and_behaviour_tiers(datasets_dir: Path, tmp_path: Path) -> None:
    metrics, directory = train("taobao", "taobao", tmp_path, datasets_dir)
    assert metrics["dataset"]["users"] == 43 and metrics["semantic_ids"]["content"] == "attributes"
    positives = metrics["ldpo_positives"]
    assert positives["window"] == 3 and set(positives["tiers"]) == {"2", "3", "4"}  # pv, cart / fav, buy all present
    assert positives["tiers"]["4"] > 0 and positives["tiers"]["2"] > positives["tiers"]["3"] > positives["tiers"]["4"]
    # the model was trained on items renumbered 1..n; its table knows every streamed id, with its category
    events = read_taobao(datasets_dir / TAOBAO_FILES["taobao-head"], "taobao-head")
    items = ItemVocabulary.load(directory)
    index = items.to_index(events["item_id"].to_numpy())
    assert index.min() >= 1 and items.num_items == len(set(events["item_id"].to_pylist()))
    assert np.array_equal(items.categories[index], events["category_id"].to_numpy())


def test_an_amazon_category_by_name(datasets_dir: Path, tmp_path: Path) -> None:
    """A category that is not Beauty (Beauty's first 1,500 users, items renumbered by first appearance: another id
    space) through the full preset's stages (RQ-VAE ids from attributes, PLR in both encoders, the fusion) at the
    demo's one epoch each."""
    lines = (datasets_dir / "amazon/Beauty.txt").read_text().splitlines()[:1500]
    attributes = json.loads((datasets_dir / "amazon/Beauty_item2attributes.json").read_text())
    renumbered: dict[str, int] = {}
    rows = [" ".join([user, *(str(renumbered.setdefault(i, len(renumbered) + 1)) for i in items)])
            for user, *items in (line.split() for line in lines)]  # fmt: skip
    category = tmp_path / "datasets/amazon"
    category.mkdir(parents=True)
    (category / "Other_Category.txt").write_text("\n".join(rows) + "\n")
    (category / "Other_Category_item2attributes.json").write_text(
        json.dumps({str(new): attributes.get(old, []) for old, new in renumbered.items()}))  # fmt: skip
    metrics, directory = train("demo", "amazon:other_category", tmp_path / "models", tmp_path / "datasets",
                               "--tokenizer", "rqvae", "--reasoning", "plr", "--reasoning-in", "both")  # fmt: skip
    assert directory.name.startswith("amazon-other_category-")
    assert metrics["dataset"]["name"] == "amazon:Other_Category" and metrics["dataset"]["users"] == 1500
    assert metrics["semantic_ids"]["content"] == "attributes"
    assert ItemVocabulary.load(directory).num_items == len(renumbered)
    assert metrics["final"] in metrics and "fusion" in metrics["final"]


@pytest.mark.long  # ~1,200 training steps of MovieLens-100K: about 50 min on the 2-core CI machine
def test_movielens_items_from_their_titles(datasets_dir: Path, tmp_path: Path) -> None:
    metrics, _ = train("small", "movielens", tmp_path, datasets_dir)
    assert metrics["semantic_ids"]["content"] == "text (all-MiniLM-L6-v2)"
    popular = metrics["most-popular"]["test"]["recall@10"]
    assert metrics[f"{metrics['refined_base']} + RSP"]["test"]["recall@10"] > popular  # the model learns
