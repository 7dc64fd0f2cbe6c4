"""The hybrid compressed input vs the raw sequence, side by side: same data, same semantic ids, same architecture and
training budget, trained in one run; then quality (full test split) and latency (encoder + beam search).

    python -m bench.hybrid_input_bench [--model DIR] [--epochs 26] [--slots 4] [--recent 5]

Raw: the GR model as trained by `freshrec train` (NTP stage): the last 20 items, each an item-id embedding + its code
embeddings. Hybrid (`GRConfig.hybrid_*`): up to the last 50 items (what `user_realtime` keeps), every item as its
semantic-id codes only, the last `--recent` as tokens and all older ones pooled into `--slots` fixed interest slots:
the encoder reads slots + recent tokens however long the history. The semantic ids are the ones of `--model` (the
newest model directory by default), so the two differ only in their input. Both models are saved as model
directories under `models_dir/experiments` (servable with `--model`; no refined scorer).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from inference import artifacts
from inference.evaluation import evaluate, seen_mask
from inference.generative import GenerativeRetrieval, GRConfig
from inference.gr_training import make_pairs, train_ntp
from inference.model_dirs import newest_model
from inference.pipeline import PipelineConfig, validation_users
from inference.retriever import Retriever
from inference.sequences import leave_one_out, load_sequences, pad_left, training_pairs
from infra.config import load_settings

RAW_LENGTH, HYBRID_LENGTH = 20, 50


def latency_ms(model: GenerativeRetrieval, trie, histories: list[np.ndarray], num_items: int, length: int,  # noqa: ANN001
               beam: int = 50, batch: int = 16, seconds: float = 5.0) -> float:  # fmt: skip
    """Mean ms per user of encoder + trie-constrained beam search, one thread, batches of `batch`."""
    torch.set_num_threads(1)
    retriever = Retriever(model, trie, beam)
    padded, seen = torch.from_numpy(pad_left(histories, length)), seen_mask(histories, num_items)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        i = done % (len(histories) - batch)
        retriever.candidates(padded[i : i + batch], seen[i : i + batch])
        done += batch
    return (time.perf_counter() - started) / done * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=26)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--recent", type=int, default=5)
    parser.add_argument("--variants", default="raw,hybrid",
                        help="comma list of raw (last 20), raw50 (last 50: the hybrid's history, uncompressed), hybrid")
    args = parser.parse_args()
    settings = load_settings()
    source = artifacts.load(args.model or newest_model(settings.models_dir))
    data = load_sequences(source.config["pipeline"]["dataset"], settings.datasets_dir, settings.archives_dir)
    split, n = leave_one_out(data), data.num_items
    valid_h, valid_t = validation_users(split, 4000, 0)
    train = dataclasses.replace(PipelineConfig().gr_train, epochs=args.epochs)
    base = GRConfig(**source.config["gr"])
    known = {
        "raw": ("raw (last 20 items: ids + codes)", dataclasses.replace(base, max_length=RAW_LENGTH)),
        "raw50": ("raw (last 50 items: ids + codes)", dataclasses.replace(base, max_length=HYBRID_LENGTH)),
        "hybrid": (f"hybrid ({args.slots} slots + last {args.recent}, codes only, 50 items)", dataclasses.replace(
            base, max_length=HYBRID_LENGTH, hybrid_slots=args.slots, hybrid_recent=args.recent)),
    }  # fmt: skip
    variants = dict(known[v] for v in args.variants.split(","))
    threads, trained = torch.get_num_threads(), []
    for name, config in variants.items():
        torch.manual_seed(0)
        model = GenerativeRetrieval(torch.from_numpy(source.codes), source.model.vocab_sizes, config)
        _, histories, targets = training_pairs(split.train, config.max_length)
        small = Retriever(model, source.trie, 20)
        tick = time.perf_counter()
        train_ntp(model, make_pairs(histories, targets),
                  lambda m=small, c=config: evaluate(m.recommend, valid_h, valid_t, n, c.max_length), train, torch.device("cpu"))  # fmt: skip
        minutes = (time.perf_counter() - tick) / 60
        test = evaluate(Retriever(model, source.trie, 50).recommend, split.test_history, split.test_target, n, config.max_length)
        trained.append((name, config, model.eval(), test, minutes))
        # beside, not among, the served models (serving picks the newest directory directly under models_dir)
        tag = "hybrid" if config.hybrid else f"raw{config.max_length}"
        directory = settings.models_dir / "experiments" / f"{source.model_id}-{tag}-ntp"
        artifacts.save(directory, {"pipeline": source.config["pipeline"], "dataset_fingerprint": data.fingerprint,
                                   "variant": name}, model, source.items, source.popularity, None, None,
                       {"test": test}, {})  # fmt: skip
        print(f"{name}: {test}  trained in {minutes:.1f} min  -> {directory}", flush=True)
        torch.set_num_threads(threads)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(3):  # interleaved, medians: the two see the same machine
        for name, config, model, _, _ in trained:
            timings[name].append(latency_ms(model, source.trie, split.test_history[:4000], n, config.max_length))
    rows = [(name, config.hybrid_slots + config.hybrid_recent if config.hybrid else config.max_length, test,
             float(np.median(timings[name])), minutes) for name, config, _, test, minutes in trained]  # fmt: skip
    raw_ms = rows[0][3]  # the first variant is the reference of the ratio column
    print("| input | encoder tokens | Recall@10 | NDCG@10 | ms/user (beam 50, batch 16, 1 thread) | vs raw | train min |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, tokens, test, ms, minutes in rows:
        print(f"| {name} | {tokens} | {test['recall@10']:.4f} | {test['ndcg@10']:.4f} | {ms:.2f} | "
              f"{raw_ms / ms:.2f}x | {minutes:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
