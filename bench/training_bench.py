"""Three training-time costs, each against its baseline in the same run, on the newest model directory's dataset:

1. a GR next-token training step (the full preset's model, batch 256, bf16 autocast) with `layers.Dropout` against
   the same model with `nn.Dropout` (torch's CPU `bernoulli_` mask);
2. the same step with the item-level loss (`GRConfig.item_loss` = 0.5) against without;
3. one validation of the refined scorer (4,000 users, λ = 50) re-ranking `FrozenBeams`' cached beams against
   searching them again (`Retriever`), and that the two give the same metrics.

    python -m bench.training_bench [--model DIR] [--steps 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference import artifacts
from inference.evaluation import evaluate
from inference.generative import GenerativeRetrieval
from inference.gr_training import FrozenBeams
from inference.layers import Dropout
from inference.model_dirs import newest_model
from inference.pipeline import PRESETS, validation_users
from inference.retriever import Retriever
from inference.sequences import leave_one_out, load_sequences, training_pairs, trim_left
from inference.training import length_batches
from infra.config import load_settings


def with_torch_dropout(model: nn.Module) -> nn.Module:
    """The baseline: every `layers.Dropout` swapped for `nn.Dropout` with the same p."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, Dropout):
                setattr(parent, name, nn.Dropout(child.p))
    return model


def step_ms(model: GenerativeRetrieval, histories: torch.Tensor, targets: torch.Tensor, batches: list[np.ndarray]) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    started = time.perf_counter()
    for indices in batches:
        index = torch.from_numpy(indices)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model.ntp_loss(trim_left(histories[index]), targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / len(batches) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=40, help="training steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements per variant")
    args = parser.parse_args()
    settings = load_settings()
    loaded = artifacts.load(args.model or newest_model(settings.models_dir))
    config = PRESETS["full"]
    data = load_sequences(loaded.config["pipeline"]["dataset"], settings.datasets_dir, settings.archives_dir)
    split = leave_one_out(data)

    _, histories, targets = training_pairs(split.train, config.gr.max_length)
    histories_t, targets_t = torch.from_numpy(histories), torch.from_numpy(targets)
    batches = list(length_batches((histories != 0).sum(1), 256, np.random.default_rng(0)))[: args.steps + 5]
    codes, vocab = torch.from_numpy(loaded.codes), loaded.config["vocab_sizes"]

    def compare(builders: dict[str, Callable[[], GenerativeRetrieval]]) -> None:
        """Step times of each model `builders` makes (the first: the baseline), alternating rounds."""
        times: dict[str, list[float]] = {name: [] for name in builders}
        for _ in range(args.rounds):
            for name, build in builders.items():
                torch.manual_seed(0)
                model = build()
                step_ms(model, histories_t, targets_t, batches[:5])  # warm-up
                times[name].append(step_ms(model, histories_t, targets_t, batches[5:]))
        (baseline, base), (variant, other) = ((name, np.median(t)) for name, t in times.items())
        print(f"GR next-token step, batch 256, {args.steps} steps x {args.rounds} rounds (median): {baseline} "
              f"{base:.1f} ms, {variant} {other:.1f} ms -> {other / base:.2f}x the time")  # fmt: skip

    compare({"nn.Dropout": lambda: with_torch_dropout(GenerativeRetrieval(codes, vocab, config.gr)),
             "layers.Dropout": lambda: GenerativeRetrieval(codes, vocab, config.gr)})  # fmt: skip
    compare({"no item loss": lambda: GenerativeRetrieval(codes, vocab, replace(config.gr, item_loss=0.0)),
             "item loss 0.5": lambda: GenerativeRetrieval(codes, vocab, replace(config.gr, item_loss=0.5))})  # fmt: skip

    valid_h, valid_t = validation_users(split, 4000, 0)
    n, length, lam = data.num_items, loaded.model.config.max_length, config.scorer.candidates
    started = time.perf_counter()
    fresh = evaluate(Retriever(loaded.model, loaded.trie, lam, loaded.scorer, loaded.gamma).recommend, valid_h, valid_t, n, length)
    search_s = time.perf_counter() - started
    beams = FrozenBeams(loaded.model, loaded.trie, lam)
    evaluate(beams.recommender(), valid_h, valid_t, n, length)  # the search the LDPO row already paid for
    started = time.perf_counter()
    cached = evaluate(beams.recommender(loaded.scorer, loaded.gamma), valid_h, valid_t, n, length)
    rerank_s = time.perf_counter() - started
    print(f"refined-scorer validation, 4,000 users, λ = {lam}: search + re-rank {search_s:.1f} s, cached beams "
          f"re-ranked {rerank_s:.1f} s -> {search_s / rerank_s:.1f}x; same metrics: {fresh == cached}")  # fmt: skip


if __name__ == "__main__":
    main()
