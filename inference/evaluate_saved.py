"""Re-score a saved model directory on the test split of the data it was trained on."""

from __future__ import annotations

from pathlib import Path

import torch

from inference import artifacts
from inference.evaluation import evaluate
from inference.pipeline import load_training_data
from inference.retriever import Retriever
from inference.runtimes import make_runtime
from inference.sequences import leave_one_out


def evaluate_saved(directory: Path, datasets_dir: Path, beam: int | None = None, runtime: str = "torch",
                   archives_dir: Path | None = None, offline_dir: Path | None = None) -> dict[str, dict[str, float]]:  # fmt: skip
    """`runtime`: which runtime runs the beam search (`inference.runtimes`): the quality check of an exported one."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loaded = artifacts.load(directory, device)
    settings = loaded.config["pipeline"]
    data = load_training_data(settings["dataset"], settings.get("before"), datasets_dir, archives_dir, offline_dir)
    if data.fingerprint != loaded.config["dataset_fingerprint"]:
        raise ValueError(f"{directory} was trained on other data (fingerprint {loaded.config['dataset_fingerprint'][:12]}, "
                         f"found {data.fingerprint[:12]})")  # fmt: skip
    if settings.get("subset"):
        data = data.dense_subset(*settings["subset"])
    split = leave_one_out(data)
    width = beam or settings["scorer"]["candidates"]
    length = loaded.model.config.max_length
    steps = make_runtime(runtime, loaded, torch.get_num_threads()) if runtime != "torch" else None
    out = {"GR": evaluate(Retriever(loaded.model, loaded.trie, width, runtime=steps).recommend, split.test_history, split.test_target,
                          data.num_items, length)}  # fmt: skip
    if loaded.scorer is not None or loaded.fusion is not None:
        final = "GR" + " + RSP" * (loaded.scorer is not None) + " + fusion" * (loaded.fusion is not None)
        out[final] = evaluate(loaded.retriever(width, steps).recommend, split.test_history, split.test_target,
                              data.num_items, length)  # fmt: skip
    return out
