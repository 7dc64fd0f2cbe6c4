"""`freshrec train`: the whole offline run on one dataset, every model from the same split and the same code.

most-popular → CE-SASRec (baseline, and the collaborative half of the item embeddings) → semantic ids (residual
k-means) → GR next-token → GR + listwise DPO → refined scorer → fusion with a dense ranker (the GR's own item
head, or CE-SASRec); validation picks every checkpoint, the fusion's ranker and its weights, the test split is
scored once per model at the end. Results and ablations go to metrics.json in the versioned model directory.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference import artifacts
from inference.evaluation import Recommender, evaluate, top_k_unseen
from inference.fusion import KAPPA
from inference.generative import GenerativeRetrieval, GRConfig
from inference.gr_training import (
    FrozenBeams,
    PreferenceConfig,
    ScorerConfig,
    choose_fusion,
    make_pairs,
    train_ntp,  # fmt: skip
    train_preference,
    train_scorer,
)
from inference.item_embeddings import item_embeddings
from inference.latent_reasoning import ReasoningConfig
from inference.plots import plot_curves
from inference.popular import MostPopular
from inference.retriever import Retriever
from inference.rq_vae import RQVAEConfig, rq_vae
from inference.sasrec import SASRec, SASRecConfig
from inference.semantic_ids import SemanticIds, residual_kmeans
from inference.sequences import (
    SequenceDataError,
    Sequences,
    Split,
    leave_one_out,
    load_sequences,
    next_interactions,
    pad_left,
    training_pairs,
    trim_left,
)
from inference.store_sequences import load_store
from inference.text_embeddings import MODEL as TEXT_MODEL
from inference.text_embeddings import item_text_vectors
from inference.training import Curve, TrainConfig, fit
from inference.trie import SemanticIdTrie

log = logging.getLogger(__name__)


@dataclass
class PipelineConfig:
    dataset: str = "beauty"
    """A dataset's files (`sequences.DATASETS`), or "store": the feature store's event log and item catalogue."""
    seed: int = 0
    before: str | None = None
    """UTC date: train only on interactions before it (a time split; datasets with timestamps)."""
    subset: tuple[int, int] | None = None
    """(items, users): train on `Sequences.dense_subset` (smoke runs)."""
    sasrec: SASRecConfig = field(default_factory=SASRecConfig)
    sasrec_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=60, batch_size=128, lr=2e-3,
                                                                           eval_every=5, patience=15))  # fmt: skip
    codebook_size: int = 256
    code_levels: int = 3
    item_text: bool = True
    """embed item texts with the frozen MiniLM where the dataset has text (MovieLens); else attribute ids only."""
    tokenizer: str = "rqkmeans"
    """rqkmeans (residual k-means, the default) or rqvae (TIGER's RQ-VAE)."""
    rq_vae: RQVAEConfig = field(default_factory=RQVAEConfig)
    gr: GRConfig = field(default_factory=GRConfig)
    gr_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=26, batch_size=256, lr=1e-3,
                                                                       eval_every=4, patience=8))  # fmt: skip
    preference: PreferenceConfig = field(default_factory=PreferenceConfig)
    preference_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=3, batch_size=256, lr=2e-4,
                                                                               eval_every=1, patience=2))  # fmt: skip
    scorer: ScorerConfig = field(default_factory=ScorerConfig)
    scorer_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=24, batch_size=256, lr=2e-3,
                                                                           eval_every=2, patience=4))  # fmt: skip
    ldpo: bool = True
    """train the listwise DPO stage (kept only where validation says it helps)."""
    rsp: bool = True
    """train the refined scorer."""
    fusion: int | None = KAPPA
    """κ: the dense ranker's top items joined to the final beams in the fusion stage (`inference.fusion`; the ranker,
    its weights, and whether to join at all, are chosen on validation); None: no fusion stage."""
    valid_users: int = 4000
    """validation users scored during training (a fixed random subset: full beams on all users cost minutes)."""
    test_beam: int = 50


_ONE_EPOCH = TrainConfig(epochs=1, batch_size=256, lr=2e-3, eval_every=1)
_SMOKE = PipelineConfig(
    subset=(2000, 8000),
    sasrec_train=TrainConfig(epochs=10, batch_size=128, lr=2e-3, eval_every=5),
    codebook_size=32,
    gr=GRConfig(dim=64, heads=2, ffn=128),
    gr_train=TrainConfig(epochs=12, batch_size=128, lr=2e-3, eval_every=4),
    preference=PreferenceConfig(examples=2000),
    preference_train=TrainConfig(epochs=1, batch_size=128, lr=2e-4, eval_every=1),
    scorer=ScorerConfig(candidates=20, examples=2000),
    scorer_train=TrainConfig(epochs=3, batch_size=128, lr=1e-3, eval_every=1),
    valid_users=1000,
    test_beam=20,
)
_PLR = ReasoningConfig("plr", streams=2, depth=1)
PRESETS = {
    # The GR with PLR (M = 2, D = 1) and an item head trained beside its next-token loss (weight 0.5), its beams
    # fused with that head's scores: one model, which validation ranks above the GR fused with CE-SASRec + PLR.
    # CE-SASRec (no reasoning: its item table only feeds the RQ-VAE ids) and a GR trained for 12 epochs without
    # listwise DPO or the refined scorer: what fits the 45-min budget on 2 cores; the GR's rate from 2e-3 down to 0
    # over those epochs (cosine), the schedule validation ranked first (docs/model.md)
    "full": PipelineConfig(tokenizer="rqvae",
                           gr=GRConfig(max_length=50, hybrid_slots=4, hybrid_recent=5, reasoning=_PLR, item_loss=0.5),
                           gr_train=TrainConfig(epochs=12, batch_size=256, lr=2e-3, eval_every=4, patience=8,
                                                schedule="cosine"),
                           ldpo=False, rsp=False),  # fmt: skip
    "raw": PipelineConfig(),
    "smoke": _SMOKE,
    # the smoke model on a whole small dataset with long histories (MovieLens-100K: ~75k training pairs), fewer epochs
    "small": replace(_SMOKE, subset=None, gr_train=TrainConfig(epochs=4, batch_size=256, lr=2e-3, eval_every=2)),
    # the smoke model on the Taobao head sample (43 users, complete histories): history 50 (MODEL_SPEC.md §5.2), and
    # listwise DPO lists hold each context's next 3 interactions tiered by behaviour (buy ≻ cart / fav ≻ pv)
    "taobao": replace(_SMOKE, subset=None, gr=GRConfig(dim=64, heads=2, ffn=128, max_length=50),
                      preference=PreferenceConfig(examples=2000, window=3)),  # fmt: skip
    # one epoch of every stage: the whole loop of `freshrec demo` in minutes on 2 cores, not a model to judge
    "demo": replace(_SMOKE, subset=None, sasrec_train=_ONE_EPOCH, gr_train=_ONE_EPOCH, preference_train=_ONE_EPOCH,
                    preference=PreferenceConfig(examples=300), scorer=ScorerConfig(candidates=10, examples=300),
                    scorer_train=_ONE_EPOCH, valid_users=100, test_beam=10),  # fmt: skip
}


TOKENIZERS = ("rqkmeans", "rqvae")
STORE = "store"
REASONING_ENCODERS = {"gr": ("gr",), "sasrec": ("sasrec",), "both": ("gr", "sasrec")}


def with_reasoning(config: PipelineConfig, encoders: str, **changes: Any) -> PipelineConfig:
    """`config` with its reasoning settings (`latent_reasoning.ReasoningConfig` fields) changed in the GR encoder,
    CE-SASRec, or both; ValueError on an invalid combination."""
    for name in REASONING_ENCODERS[encoders]:
        model = getattr(config, name)
        config = replace(config, **{name: replace(model, reasoning=replace(model.reasoning, **changes))})
    return config


def load_training_data(dataset: str, before: str | None, datasets_dir: Path, archives_dir: Path | None,
                       offline_dir: Path | None) -> Sequences:  # fmt: skip
    """The sequences a run trains on (`PipelineConfig.dataset`, `.before`): a dataset's files, or the store's event
    log."""
    if dataset == STORE:
        if offline_dir is None:
            raise SequenceDataError("training from the store needs the offline store's folder")
        return load_store(offline_dir, before)
    return load_sequences(dataset, datasets_dir, archives_dir, before)


def validation_users(split: Split, users: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The fixed random subset of validation users model selection scores: (histories, targets)."""
    pick = np.sort(np.random.default_rng(seed).choice(len(split.valid_target), min(users, len(split.valid_target)), replace=False))
    return [split.valid_history[i] for i in pick], split.valid_target[pick]


def train_sasrec(config: SASRecConfig, train: TrainConfig, sequences: list[np.ndarray], num_items: int,
                 validate: Callable[[Recommender], dict[str, float]], device: torch.device,
                 ) -> tuple[SASRec, Recommender, Curve]:  # fmt: skip
    """CE-SASRec on the training sequences, the checkpoint chosen by `validate(recommender)`; -> the model, its
    recommender (top-10 unseen) and its learning curve."""
    sasrec = SASRec(num_items, config).to(device)
    seqs = torch.from_numpy(pad_left(sequences, config.max_length + 1))
    lengths = np.minimum([len(s) for s in sequences], config.max_length + 1)

    def loss_of(indices: np.ndarray) -> torch.Tensor:
        batch = trim_left(seqs[torch.from_numpy(indices)]).to(device)
        return sasrec.loss(batch[:, :-1], batch[:, 1:])

    def recommend(history: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        return top_k_unseen(sasrec.scores(trim_left(history).to(device)).float().cpu(), seen, 10)

    curve = fit(sasrec, loss_of, lengths, lambda: validate(recommend), train, "CE-SASRec", device)
    return sasrec, recommend, curve


def semantic_ids(config: PipelineConfig, embeddings: np.ndarray) -> tuple[SemanticIds, dict[str, float]]:
    """The items' semantic ids from the configured tokenizer, with its training facts (none for k-means)."""
    if config.tokenizer == "rqvae":
        return rq_vae(embeddings, config.code_levels, config.codebook_size, config.rq_vae, config.seed)
    if config.tokenizer != "rqkmeans":
        raise ValueError(f"unknown tokenizer {config.tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")
    return residual_kmeans(embeddings, config.code_levels, config.codebook_size, seed=config.seed), {}


def run(config: PipelineConfig, datasets_dir: Path, models_dir: Path, device: torch.device | None = None,
        archives_dir: Path | None = None, cache_dir: Path | None = None, offline_dir: Path | None = None) -> Path:  # fmt: skip
    """`cache_dir` keeps the item text embeddings between runs (they depend on the catalogue only); `offline_dir`:
    the offline store, read when `config.dataset` is "store"."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # every core: a process that served before (a test session, a notebook) may have capped torch's pool at one
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    data = load_training_data(config.dataset, config.before, datasets_dir, archives_dir, offline_dir)
    if config.subset:
        data = data.dense_subset(*config.subset)
    split = leave_one_out(data)
    n = data.num_items
    valid_h, valid_t = validation_users(split, config.valid_users, config.seed)
    metrics: dict[str, Any] = {"dataset": {"name": data.name, "users": len(data.users), "items": n,
                                           "interactions": data.num_interactions, "fingerprint": data.fingerprint}}  # fmt: skip
    curves: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def test(name: str, recommend, max_length: int) -> None:  # noqa: ANN001
        """Validation subset (what model selection saw) and the full test split, scored once per model."""
        metrics[name] = {
            "valid": evaluate(recommend, valid_h, valid_t, n, max_length),
            "test": evaluate(recommend, split.test_history, split.test_target, n, max_length),
        }
        log.info("%s: %s", name, metrics[name]["test"])

    popular = MostPopular(split.train, n)
    test("most-popular", popular.recommend, 1)

    # CE-SASRec: the baseline, and its item table feeds the semantic ids
    tick = time.perf_counter()
    sasrec, sasrec_recommend, curve = train_sasrec(config.sasrec, config.sasrec_train, split.train, n,
                                                   lambda r: evaluate(r, valid_h, valid_t, n, config.sasrec.max_length),
                                                   device)  # fmt: skip
    curves["sasrec"] = curve.to_dict()
    test("CE-SASRec", sasrec_recommend, config.sasrec.max_length)
    timings["sasrec_s"] = time.perf_counter() - tick

    # semantic ids
    tick = time.perf_counter()
    texts = item_text_vectors(data.item_texts, cache_dir) if config.item_text and data.item_texts else None
    embeddings = item_embeddings(sasrec.items.weight.detach().float().cpu().numpy(), data.item_attributes, texts=texts)
    sid, facts = semantic_ids(config, embeddings)
    vocab = [config.codebook_size] * config.code_levels + [sid.collision_size]
    content = f"text ({TEXT_MODEL})" if texts is not None else "attributes" if any(data.item_attributes) else "none"
    metrics["semantic_ids"] = {**sid.stats(), **facts, "content": content}
    trie = SemanticIdTrie(sid.codes, vocab).to(device)
    timings["semantic_ids_s"] = time.perf_counter() - tick

    # GR: next-token prediction
    tick = time.perf_counter()
    gr_len = config.gr.max_length
    _, histories, targets = training_pairs(split.train, gr_len)
    pairs = make_pairs(histories, targets, *next_interactions(split.train, split.train_behaviors, config.preference.window))
    tiers, counts = np.unique(pairs.positive_tiers.numpy(), return_counts=True)
    metrics["ldpo_positives"] = {"window": config.preference.window,  # tier 2 + behaviour strength: how many of each
                                 "tiers": {int(t): int(c) for t, c in zip(tiers, counts) if t >= 0}}  # fmt: skip
    model = GenerativeRetrieval(torch.from_numpy(sid.codes), vocab, config.gr).to(device)
    small = Retriever(model, trie, beam=20)

    def valid_gr(retriever: Retriever) -> dict[str, float]:
        return evaluate(retriever.recommend, valid_h, valid_t, n, gr_len)

    curves["gr_ntp"] = train_ntp(model, pairs, lambda: valid_gr(small), config.gr_train, device).to_dict()
    beams = FrozenBeams(model, trie, config.test_beam)  # searched once per user while the weights stay these
    test("GR (NTP)", beams.recommender(), gr_len)
    timings["gr_ntp_s"] = time.perf_counter() - tick
    metrics["refined_base"] = metrics["final"] = "GR (NTP)"

    # GR: + listwise DPO against the frozen NTP model
    if config.ldpo:
        tick = time.perf_counter()
        ntp_state, ntp_beams = copy.deepcopy(model.state_dict()), beams
        curves["gr_ldpo"] = train_preference(model, trie, pairs, lambda: valid_gr(small), config.preference,
                                             config.preference_train, n, device).to_dict()  # fmt: skip
        beams = FrozenBeams(model, trie, config.test_beam)  # GR training is over: each user is searched once from here
        test("GR (NTP + LDPO)", beams.recommender(), gr_len)
        timings["gr_ldpo_s"] = time.perf_counter() - tick
        if metrics["GR (NTP + LDPO)"]["valid"]["ndcg@10"] >= metrics["GR (NTP)"]["valid"]["ndcg@10"]:
            metrics["refined_base"] = metrics["final"] = "GR (NTP + LDPO)"
        else:  # model selection on validation: keep NTP weights when LDPO did not help
            model.load_state_dict(ntp_state)
            beams = ntp_beams
        del ntp_state, ntp_beams

    # refined scoring phase over the top-λ
    scorer, gamma = None, None
    if config.rsp:
        tick = time.perf_counter()
        if config.scorer.candidates != config.test_beam:
            beams = FrozenBeams(model, trie, config.scorer.candidates)

        def valid_scorer(scorer, gamma) -> dict[str, float]:  # noqa: ANN001
            return evaluate(beams.recommender(scorer, gamma), valid_h, valid_t, n, gr_len)

        scorer, gamma, scorer_curve = train_scorer(model, trie, pairs, valid_scorer, config.scorer, config.scorer_train,
                                                   n, device)  # fmt: skip
        curves["scorer"] = scorer_curve.to_dict()
        metrics["final"] = f"{metrics['refined_base']} + RSP"
        test(metrics["final"], beams.recommender(scorer, gamma), gr_len)
        timings["scorer_s"] = time.perf_counter() - tick
        metrics["gamma"] = float(gamma)

    # fusion with a dense ranker over the final beams: the GR's own item head where it was trained, or CE-SASRec
    fusion = None
    if config.fusion is not None:
        tick = time.perf_counter()
        fusion, metrics["fusion"] = choose_fusion(beams, scorer, sasrec.eval(), model.config.item_loss > 0, config.fusion,
                                                  valid_h, valid_t, n, gr_len)  # fmt: skip
        metrics["final"] = f"{metrics['final']} + {fusion.dense} fusion"
        test(metrics["final"], beams.recommender(scorer, gamma, fusion), gr_len)
        timings["fusion_s"] = time.perf_counter() - tick
    timings["total_s"] = time.perf_counter() - started
    metrics["timings"] = timings
    metrics["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"

    settings = {"pipeline": asdict(config), "dataset_fingerprint": data.fingerprint, "training_users": len(split.train)}
    directory = models_dir / artifacts.run_name(config.dataset, settings)
    artifacts.save(directory, settings, model, data.vocabulary(sid.codes), popular.scores.numpy(), scorer, gamma, metrics, curves,
                   fusion)  # fmt: skip
    plot_curves(curves, directory / "curves.png")
    return directory
