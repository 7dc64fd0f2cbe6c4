"""A fused model re-scored at other beam widths λ and joined-item counts κ, its weights as saved: how many of
the dense ranker's items (the GR's item head's, or CE-SASRec's) the fusion needs (each costs the service one
teacher-forced decode per request).

    python -m bench.fusion_bench [--model DIR] [--beams 20,50] [--joined 0,10,20,50]

Validation = the pipeline's 4,000 validation users (the same seed), and the full test split; one row per (λ, κ).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from inference import artifacts
from inference.evaluation import evaluate
from inference.fusion import Fusion
from inference.model_dirs import newest_model
from inference.pipeline import load_training_data, validation_users
from inference.sequences import leave_one_out
from infra.config import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="a fused model directory (default: the newest)")
    parser.add_argument("--beams", default="20,50")
    parser.add_argument("--joined", default="0,10,20,50")
    args = parser.parse_args()
    settings = load_settings()
    loaded = artifacts.load(args.model or newest_model(settings.models_dir))
    if loaded.fusion is None:
        raise SystemExit(f"{loaded.directory} has no fusion.pt: train it with fusion on")
    run = loaded.config["pipeline"]
    data = load_training_data(run["dataset"], run["before"], settings.datasets_dir, settings.archives_dir, settings.offline_dir)
    if run["subset"]:
        data = data.dense_subset(*run["subset"])
    split, n, length = leave_one_out(data), data.num_items, loaded.model.config.max_length
    valid_h, valid_t = validation_users(split, run["valid_users"], run["seed"])
    saved = loaded.fusion.weights
    print(f"model {loaded.model_id}; dense ranker {loaded.fusion.dense}; weights {saved.to_dict()}")
    print("| beam λ | κ | valid R@10 | valid N@10 | test R@10 | test N@10 | s |\n|---:|---:|---:|---:|---:|---:|---:|")
    for beam in (int(b) for b in args.beams.split(",")):
        for joined in (int(k) for k in args.joined.split(",")):
            loaded.fusion = Fusion(dataclasses.replace(saved, joined=joined), loaded.fusion.sasrec)
            recommend = loaded.retriever(beam).recommend
            started = time.perf_counter()
            valid = evaluate(recommend, valid_h, valid_t, n, length)
            test = evaluate(recommend, split.test_history, split.test_target, n, length)
            print(f"| {beam} | {joined} | {valid['recall@10']:.4f} | {valid['ndcg@10']:.4f} | {test['recall@10']:.4f} | "
                  f"{test['ndcg@10']:.4f} | {time.perf_counter() - started:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
