"""The smoke training run (CI): every stage trains on a dense Beauty subset, the generative retriever learns
(beats most-popular on held-out users), beam search only returns valid unseen items, and the saved model directory
loads and scores the same again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from inference import artifacts
from inference.beam_search import beam_search
from inference.evaluate_saved import evaluate_saved
from inference.evaluation import seen_mask
from inference.fusion import DENSE
from inference.pipeline import PRESETS
from inference.sequences import leave_one_out, load_sequences, pad_left
from infra.cli import main


@pytest.fixture(scope="module")
def trained(datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("models")
    result = CliRunner().invoke(main, ["train", "--preset", "smoke", "--device", "cpu", "--models-dir", str(models)],
                                env={"FRESHREC_DATASETS_DIR": str(datasets_dir)})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| CE-SASRec |" in result.output and "model directory:" in result.output
    (directory,) = models.iterdir()
    return directory


def test_the_model_learns(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    popular = metrics["most-popular"]
    for name in ("CE-SASRec", "GR (NTP)", f"{metrics['refined_base']} + RSP", metrics["final"]):
        for split in ("valid", "test"):
            assert metrics[name][split]["recall@10"] > 1.2 * popular[split]["recall@10"], (name, split, metrics[name])
    assert metrics["semantic_ids"]["usage_l0"] > 0.9
    assert (trained / "curves.png").stat().st_size > 10_000


def test_beam_search_returns_only_valid_unseen_items(trained: Path, datasets_dir: Path) -> None:
    loaded = artifacts.load(trained)
    data = load_sequences("beauty", datasets_dir).dense_subset(*PRESETS["smoke"].subset)
    split = leave_one_out(data)
    histories = split.test_history[:500]
    seen = seen_mask(histories, data.num_items)
    items, scores, _ = beam_search(loaded.model, loaded.trie, torch.from_numpy(pad_left(histories, 20)), seen, beam=20)
    assert ((items >= 1) & (items <= data.num_items)).all()
    assert not seen.gather(1, items).any()
    assert all(len(set(row)) == 20 for row in items.tolist())
    codes = loaded.codes[items.numpy()]  # every returned item's id is a path of the trie by construction: recheck
    assert len(np.unique(loaded.codes[1:], axis=0)) == data.num_items and codes.shape == (500, 20, 4)
    assert torch.isfinite(scores).all()


def test_saved_directory_scores_the_same_again(trained: Path, datasets_dir: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    again = evaluate_saved(trained, datasets_dir)
    assert metrics["final"].endswith("+ RSP + CE-SASRec fusion") and (trained / "fusion.pt").is_file()
    for name in ("recall@10", "ndcg@10"):
        assert again["GR + RSP + fusion"][name] == pytest.approx(metrics[metrics["final"]]["test"][name], abs=1e-9)
    assert set(json.loads((trained / "config.json").read_text())) >= {"pipeline", "dataset_fingerprint", "vocab_sizes"}


def test_parallel_latent_reasoning_trains_and_its_directory_scores_the_same_again(datasets_dir: Path,
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    """PLR in both encoders (GR and CE-SASRec), the GR's item head trained, fused, without listwise DPO and the
    refined scorer (the full preset's stages): both encoders still learn, validation chooses between the two dense
    rankers, and the saved directory (its reasoning settings and fusion read back) re-scores the test split to the
    same numbers."""
    result = CliRunner().invoke(main, ["train", "--preset", "smoke", "--device", "cpu", "--models-dir", str(tmp_path),
                                       "--reasoning", "plr", "--reasoning-in", "both", "--reasoning-streams", "2",
                                       "--item-loss", "0.5", "--no-ldpo", "--no-rsp"],
                                env={"FRESHREC_DATASETS_DIR": str(datasets_dir)})  # fmt: skip
    assert result.exit_code == 0, result.output
    (directory,) = tmp_path.iterdir()
    metrics = json.loads((directory / "metrics.json").read_text())
    settings = json.loads((directory / "config.json").read_text())["pipeline"]
    assert settings["gr"]["reasoning"]["mode"] == settings["sasrec"]["reasoning"]["mode"] == "plr"
    popular = metrics["most-popular"]["test"]["recall@10"]
    for name in ("CE-SASRec", "GR (NTP)"):
        assert metrics[name]["test"]["recall@10"] > 1.2 * popular, (name, metrics[name])
    fusion = metrics["fusion"]
    assert set(fusion["rankers"]) == set(DENSE) and fusion["dense"] in DENSE
    assert fusion["rankers"][fusion["dense"]]["ndcg@10"] == max(r["ndcg@10"] for r in fusion["rankers"].values())
    assert metrics["final"] == f"GR (NTP) + {fusion['dense']} fusion" and not (directory / "scorer.pt").exists()
    again = evaluate_saved(directory, datasets_dir)
    assert again["GR + fusion"]["recall@10"] == pytest.approx(metrics[metrics["final"]]["test"]["recall@10"], abs=1e-9)
