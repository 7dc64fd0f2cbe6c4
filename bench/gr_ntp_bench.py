"""The GR's next-token stage retrained on a saved run's semantic ids under training variants, side by side: the
learning-rate schedule and peak, distillation from the run's own CE-SASRec, and the auxiliary item loss. Each variant starts from the same
seed (the same initial weights and batch order); each is scored alone (beam 50) and fused with the run's CE-SASRec
(weights chosen on validation, `inference.fusion`), on the validation subset and the full test split.

    python -m bench.gr_ntp_bench [--model DIR] [--variants constant-1e-3,cosine-2e-3] [--epochs 12]

A variant is `<schedule>-<peak lr>` (`training.SCHEDULES`), with `-distil<α>` for the loss (1 - α) · NTP + α · the
cross-entropy of each code level against CE-SASRec's item distribution summed onto that level's codes (below the
target's prefix, the history's other items masked), and `-item<w>` for `GRConfig.item_loss` = w (else 0, whatever
the run trained with). The fused rows fuse with the dense ranker validation picks (`gr_training.choose_fusion`): the
GR's item head where the variant trains one, the run's CE-SASRec where its directory saved one (distillation needs
it).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from inference import artifacts
from inference.evaluation import evaluate
from inference.fusion import KAPPA
from inference.generative import GenerativeRetrieval, GRConfig
from inference.gr_training import FrozenBeams, Pairs, choose_fusion, make_pairs
from inference.model_dirs import newest_model
from inference.pipeline import validation_users
from inference.retriever import Retriever
from inference.sasrec import SASRec
from inference.sequences import leave_one_out, load_sequences, training_pairs, trim_left
from inference.training import TrainConfig, fit
from infra.config import load_settings

VARIANT = re.compile(r"^(?P<schedule>[a-z]+)-(?P<lr>[0-9.e-]+?)(?:-distil(?P<alpha>[0-9.]+))?(?:-item(?P<item>[0-9.]+))?$")


@dataclass
class Variant:
    name: str
    schedule: str
    lr: float
    alpha: float
    item: float


def parse(variant: str) -> Variant:
    match = VARIANT.match(variant)
    if match is None:
        raise SystemExit(f"unknown variant {variant!r}: <schedule>-<lr>[-distil<alpha>][-item<w>], e.g. "
                         "cosine-2e-3-item0.5")  # fmt: skip
    return Variant(variant, match["schedule"], float(match["lr"]), float(match["alpha"] or 0), float(match["item"] or 0))


@torch.no_grad()
def teacher_states(sasrec: SASRec, pairs: Pairs) -> Tensor:
    """CE-SASRec's user state after each training history (N, D)."""
    states = torch.zeros(len(pairs.targets), sasrec.config.dim)
    order = np.argsort(pairs.lengths, kind="stable")
    for start in range(0, len(order), 2048):
        index = torch.from_numpy(order[start : start + 2048])
        states[index] = sasrec.user_state(trim_left(pairs.histories[index])).float()
    return states


def level_targets(probs: Tensor, codes: Tensor, targets: Tensor, vocab: list[int]) -> list[Tensor]:
    """Per code level, the teacher's item probabilities (B, items + 1) summed onto that level's codes among the
    items that share the target's codes above it, renormalised: what the decoder predicts at that level."""
    target_codes, same_prefix, out = codes[targets], torch.ones_like(probs, dtype=torch.bool), []
    for level, size in enumerate(vocab):
        mass = torch.zeros(len(targets), size).scatter_add_(1, codes[:, level].expand(len(targets), -1), probs * same_prefix)
        out.append(mass / mass.sum(1, keepdim=True).clamp(min=1e-12))
        same_prefix &= codes[:, level][None] == target_codes[:, level : level + 1]
    return out


def train(directory: Path, variant: Variant, epochs: int, datasets_dir: Path, archives_dir: Path | None) -> dict:
    torch.manual_seed(0)
    saved = artifacts.load(directory)
    sasrec, run = saved.fusion.sasrec if saved.fusion is not None else None, saved.config["pipeline"]
    if sasrec is None and (variant.alpha or not variant.item):
        raise SystemExit(f"{directory} saved no CE-SASRec: {variant.name} needs one (to distil from, or to fuse with)")
    data = load_sequences(run["dataset"], datasets_dir, archives_dir)
    split, n = leave_one_out(data), data.num_items
    valid_h, valid_t = validation_users(split, run["valid_users"], run["seed"])  # the users the run validated on
    config = replace(GRConfig(**saved.config["gr"]), item_loss=variant.item)
    pairs = make_pairs(*training_pairs(split.train, config.max_length)[1:])
    codes, vocab = saved.model.codes.clone(), saved.model.vocab_sizes
    states, table = (teacher_states(sasrec, pairs), sasrec.items.weight.detach().float()) if variant.alpha else (None, None)
    model = GenerativeRetrieval(codes, vocab, config)
    small = Retriever(model, saved.trie, beam=20)

    def loss_of(indices: np.ndarray) -> Tensor:
        index = torch.from_numpy(indices)
        history, targets = trim_left(pairs.histories[index]), pairs.targets[index]
        memory, mask, aux = model.encode_with_loss(history)
        if config.item_loss:
            aux = aux + config.item_loss * model.item_loss(memory, targets)
        target_codes = codes[targets]
        log_probs = [lp.float() for lp in model.level_log_probs(memory, mask, targets[:, None])]
        ntp = sum(-lp.gather(1, target_codes[:, level : level + 1]).mean() for level, lp in enumerate(log_probs))
        if states is None:
            return ntp / len(vocab) + aux
        with torch.no_grad():
            scores = (states[index] @ table.T).float()
            scores[:, 0] = -torch.inf
            seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, history, True)
            seen[torch.arange(len(targets)), targets] = False
            teacher = level_targets(scores.masked_fill(seen, -torch.inf).softmax(1), codes, targets, vocab)
        distil = sum(-(q * lp).sum(1).mean() for q, lp in zip(teacher, log_probs))
        return ((1 - variant.alpha) * ntp + variant.alpha * distil) / len(vocab) + aux

    schedule = TrainConfig(epochs=epochs, batch_size=256, lr=variant.lr, eval_every=4, patience=8,
                           schedule=variant.schedule)  # fmt: skip
    curve = fit(model, loss_of, pairs.lengths, lambda: evaluate(small.recommend, valid_h, valid_t, n, config.max_length),
                schedule, variant.name, torch.device("cpu"))  # fmt: skip
    beams = FrozenBeams(model.eval(), saved.trie, 50)
    row = {"variant": variant.name, "minutes": curve.seconds / 60}
    fusion, report = choose_fusion(beams, None, sasrec, config.item_loss > 0, KAPPA, valid_h, valid_t, n, config.max_length)
    row["dense"] = report["dense"]
    fused = beams.recommender(None, None, fusion)
    for name, recommend in (("gr", beams.recommender()), ("fused", fused)):
        row[name] = {"valid": evaluate(recommend, valid_h, valid_t, n, config.max_length),
                     "test": evaluate(recommend, split.test_history, split.test_target, n, config.max_length)}  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="default: the newest model directory")
    parser.add_argument("--variants", default="constant-1e-3,cosine-1e-3,cosine-2e-3,constant-1e-3-distil0.5")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    settings = load_settings()
    directory = args.model or newest_model(settings.models_dir)
    rows = []
    for variant in map(parse, args.variants.split(",")):
        rows.append(train(directory, variant, args.epochs, settings.datasets_dir, settings.archives_dir))
        print(rows[-1], flush=True)
    print("\n| variant | GR valid R@10 | GR valid N@10 | GR test R@10 | GR test N@10 | fused with | fused valid N@10 "
          "| fused test R@10 | fused test N@10 | train min |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for row in rows:
        gr, fused = row["gr"], row["fused"]
        print(f"| {row['variant']} | {gr['valid']['recall@10']:.4f} | {gr['valid']['ndcg@10']:.4f} | "
              f"{gr['test']['recall@10']:.4f} | {gr['test']['ndcg@10']:.4f} | {row['dense']} | {fused['valid']['ndcg@10']:.4f} | "
              f"{fused['test']['recall@10']:.4f} | {fused['test']['ndcg@10']:.4f} | {row['minutes']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
