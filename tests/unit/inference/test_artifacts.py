"""A saved fusion reads back with its dense ranker: the GR's item head saves only the weights, CE-SASRec its state
too; directories saved before the item head (their δ under the name `sasrec`) still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inference import artifacts
from inference.evaluation import seen_mask
from inference.fusion import DENSE
from inference.testing import tiny_model_dir


@pytest.mark.parametrize("dense", DENSE)
def test_a_fusion_reads_back_with_its_dense_ranker(tmp_path: Path, dense: str) -> None:
    directory = tiny_model_dir(tmp_path / dense, 50, dense=dense)
    loaded = artifacts.load(directory)
    saved = torch.load(directory / "fusion.pt", weights_only=True)
    assert loaded.fusion is not None and loaded.fusion.dense == dense
    assert loaded.fusion.weights.to_dict() == saved["weights"] == {"refined": 1.0, "gr": 0.5, "dense": 1.0, "joined": 10}
    assert json.loads((directory / "config.json").read_text())["fusion"]["dense"] == dense
    assert ("state" in saved) == (loaded.fusion.sasrec is not None) == (dense == "CE-SASRec")


def test_a_directory_saved_before_the_item_head_loads_its_ce_sasrec_fusion(tmp_path: Path) -> None:
    directory = tiny_model_dir(tmp_path / "old", 50)
    saved = torch.load(directory / "fusion.pt", weights_only=True)
    saved["weights"]["sasrec"] = saved["weights"].pop("dense")
    torch.save(saved, directory / "fusion.pt")
    config = json.loads((directory / "config.json").read_text())
    del config["fusion"]["dense"]
    (directory / "config.json").write_text(json.dumps(config))
    old = artifacts.load(directory)
    assert old.fusion is not None and old.fusion.dense == "CE-SASRec" and old.fusion.weights.dense == 1.0
    history = torch.tensor([[0, 0, 3, 7, 9], [1, 2, 3, 4, 5]])
    seen = seen_mask([h[h > 0].numpy() for h in history], 50)
    assert old.retriever(10).candidates(history, seen)[0].shape == (2, 10)
