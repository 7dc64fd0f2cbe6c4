"""Latent reasoning (PLR, ReaRec) against none, side by side: same data, split, seed and training budget, in one run,
on CE-SASRec and on the generative retriever's next-token stage; then quality (validation subset and full test split)
and, for the GR, cost per user (encoder + beam search).

    python -m bench.reasoning_bench [--dataset beauty] [--sasrec none,plr-m2-d1] [--gr none,plr-m2-d1]
        [--sasrec-epochs 60] [--gr-epochs 12]

A variant is `none`, `plr-mM-dD`, `erl-dK` or `prl-dK`, with `-noreg` for no diversity regulariser. The GR variants
share semantic ids: residual k-means over the item table of the first CE-SASRec variant (so `--sasrec` must not be
empty), and the full preset's GR (hybrid input); NTP only (no listwise DPO, no refined scorer), so the numbers
compare the encoders, not the full pipeline (`freshrec train --reasoning ...` runs that).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import time

import torch

from bench.hybrid_input_bench import latency_ms
from inference.evaluation import evaluate
from inference.generative import GenerativeRetrieval
from inference.gr_training import make_pairs, train_ntp
from inference.item_embeddings import item_embeddings
from inference.latent_reasoning import ReasoningConfig
from inference.pipeline import PRESETS, semantic_ids, train_sasrec, validation_users
from inference.retriever import Retriever
from inference.sequences import leave_one_out, load_sequences, training_pairs
from inference.trie import SemanticIdTrie
from infra.config import load_settings

VARIANT = re.compile(r"^(?:none|plr-m(?P<m>\d+)-d(?P<d>\d+)|(?P<rr>erl|prl)-d(?P<k>\d+))(?P<noreg>-noreg)?$")


def reasoning(variant: str) -> ReasoningConfig:
    match = VARIANT.match(variant)
    if match is None:
        raise SystemExit(f"unknown variant {variant!r}: none, plr-mM-dD, erl-dK or prl-dK, optionally -noreg")
    regulariser = {} if match["noreg"] is None else {"regulariser": 0.0}
    if match["m"]:
        return ReasoningConfig("plr", streams=int(match["m"]), depth=int(match["d"]), **regulariser)
    if match["rr"]:
        return ReasoningConfig(match["rr"], streams=1, depth=int(match["k"]), **regulariser)
    return ReasoningConfig()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="beauty")
    parser.add_argument("--sasrec", default="none,plr-m2-d1", help="comma list of CE-SASRec variants")
    parser.add_argument("--gr", default="none,plr-m2-d1", help="comma list of GR variants (NTP); empty: none")
    parser.add_argument("--sasrec-epochs", type=int, default=60)
    parser.add_argument("--gr-epochs", type=int, default=12)
    args = parser.parse_args()
    settings, preset, device = load_settings(), PRESETS["full"], torch.device("cpu")
    data = load_sequences(args.dataset, settings.datasets_dir, settings.archives_dir)
    split, n = leave_one_out(data), data.num_items
    valid_h, valid_t = validation_users(split, preset.valid_users, 0)
    rows, item_table = [], None
    sasrec_train = dataclasses.replace(preset.sasrec_train, epochs=args.sasrec_epochs)
    for variant in args.sasrec.split(","):
        config = dataclasses.replace(preset.sasrec, reasoning=reasoning(variant))
        torch.manual_seed(0)
        tick = time.perf_counter()
        model, recommend, _ = train_sasrec(config, sasrec_train, split.train, n,
                                           lambda r, c=config: evaluate(r, valid_h, valid_t, n, c.max_length), device)  # fmt: skip
        minutes = (time.perf_counter() - tick) / 60
        valid = evaluate(recommend, valid_h, valid_t, n, config.max_length)
        test = evaluate(recommend, split.test_history, split.test_target, n, config.max_length)
        rows.append(("CE-SASRec", variant, valid, test, minutes, None))
        print(rows[-1], flush=True)
        if item_table is None:
            item_table = model.items.weight.detach().float().numpy()
    if args.gr and item_table is not None:
        sid, _ = semantic_ids(dataclasses.replace(preset, tokenizer="rqkmeans"), item_embeddings(item_table, data.item_attributes))
        vocab = [preset.codebook_size] * preset.code_levels + [sid.collision_size]
        trie = SemanticIdTrie(sid.codes, vocab)
        gr_train = dataclasses.replace(preset.gr_train, epochs=args.gr_epochs)
        for variant in args.gr.split(","):
            config = dataclasses.replace(preset.gr, reasoning=reasoning(variant))
            torch.manual_seed(0)
            model = GenerativeRetrieval(torch.from_numpy(sid.codes), vocab, config)
            _, histories, targets = training_pairs(split.train, config.max_length)
            small = Retriever(model, trie, 20)
            tick = time.perf_counter()
            train_ntp(model, make_pairs(histories, targets),
                      lambda m=small, c=config: evaluate(m.recommend, valid_h, valid_t, n, c.max_length), gr_train, device)  # fmt: skip
            minutes = (time.perf_counter() - tick) / 60
            full = Retriever(model.eval(), trie, 50)
            valid = evaluate(full.recommend, valid_h, valid_t, n, config.max_length)
            test = evaluate(full.recommend, split.test_history, split.test_target, n, config.max_length)
            threads = torch.get_num_threads()
            ms = latency_ms(model, trie, split.test_history[:4000], n, config.max_length)
            torch.set_num_threads(threads)
            rows.append(("GR (NTP)", variant, valid, test, minutes, ms))
            print(rows[-1], flush=True)
    print("\n| model | reasoning | valid R@10 | valid N@10 | test R@10 | test N@10 | train min | ms/user (GR: beam 50, "
          "batch 16, 1 thread) |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model_name, variant, valid, test, minutes, ms in rows:
        cost = "" if ms is None else f"{ms:.2f}"
        print(f"| {model_name} | {variant} | {valid['recall@10']:.4f} | {valid['ndcg@10']:.4f} | {test['recall@10']:.4f} | "
              f"{test['ndcg@10']:.4f} | {minutes:.1f} | {cost} |")  # fmt: skip


if __name__ == "__main__":
    main()
