"""The versioned model directory serving loads: config, weights, semantic-id table, trie, metrics, provenance.

    <root>/<dataset>-<UTC timestamp>-<config hash>/
        config.json      every setting of the run, with the dataset fingerprint and library versions
        gr.pt            generative retriever state dict (its semantic-id table included as a buffer)
        scorer.pt        refined scorer state dict + γ
        fusion.pt        the fusion's weights (`inference.fusion`) + CE-SASRec's state dict where it is the dense
                         ranker, when the run fused
        items.parquet    the item table: raw (click-event) id ↔ model index, category, title, semantic id, version
        popularity.npy   (num_items + 1,) training interactions per item: serving's cold-start fallback
        metrics.json     validation and test metrics of every model and ablation, code statistics, timings
        curves.json      per-epoch losses and validation metrics; curves.png plots them
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.beam_search import StepModel
from inference.fusion import Fusion, FusionWeights
from inference.generative import GenerativeRetrieval, GRConfig
from inference.item_vocabulary import ItemVocabulary
from inference.refined_scorer import RefinedScorer
from inference.retriever import Retriever
from inference.sasrec import SASRec, SASRecConfig
from inference.trie import SemanticIdTrie

FORMAT_VERSION = 2


@dataclass
class LoadedModel:
    directory: Path
    config: dict[str, Any]
    model: GenerativeRetrieval
    trie: SemanticIdTrie
    scorer: RefinedScorer | None
    gamma: torch.Tensor | None
    items: ItemVocabulary
    popularity: np.ndarray
    fusion: Fusion | None = None

    def retriever(self, beam: int, runtime: StepModel | None = None) -> Retriever:
        """The saved model's final ranking (beam search on `runtime`, default PyTorch, then its refined scorer and
        fusion where it has them): what serving, `freshrec eval` and the parity tests run."""
        return Retriever(self.model, self.trie, beam, self.scorer, self.gamma, runtime, self.fusion)

    @property
    def model_id(self) -> str:
        """The directory name: unique per trained model (dataset, time, config hash)."""
        return self.directory.name

    @property
    def codes(self) -> np.ndarray:
        return self.items.codes

    @property
    def num_items(self) -> int:
        return self.items.num_items


def run_name(dataset: str, config: dict[str, Any]) -> str:
    """`<dataset>-<UTC time>-<config digest>`, the dataset's name made safe for a path (amazon:Toys -> amazon-toys)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]
    safe = re.sub(r"[^a-z0-9_.]+", "-", dataset.lower())
    return f"{safe}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{digest}"


def save(directory: Path, config: dict[str, Any], model: GenerativeRetrieval, items: ItemVocabulary, popularity: np.ndarray,
         scorer: RefinedScorer | None, gamma: torch.Tensor | None, metrics: dict[str, Any],
         curves: dict[str, Any], fusion: Fusion | None = None) -> Path:  # fmt: skip
    """Written beside `directory` under a hidden name, then renamed into place: a server following the newest model
    never sees a half-written one."""
    if directory.exists():
        raise FileExistsError(f"{directory} exists")
    final, directory = directory, directory.parent / f".{directory.name}.partial"
    shutil.rmtree(directory, ignore_errors=True)  # left by a crashed save
    directory.mkdir(parents=True)
    meta = {"format_version": FORMAT_VERSION, "torch": torch.__version__, "python": platform.python_version(),
            "vocab_sizes": model.vocab_sizes, "gr": asdict(model.config), "items_version": items.version,
            **config}  # fmt: skip
    if scorer is not None:
        meta["scorer"] = {"dim": model.config.dim, "heads": scorer.attention.heads,
                          "hidden": scorer.mlp[0].out_features}  # fmt: skip
    if fusion is not None:
        meta["fusion"] = {"dense": fusion.dense}
        if fusion.sasrec is not None:
            meta["fusion"] |= {"num_items": fusion.sasrec.items.num_embeddings - 1, "sasrec": asdict(fusion.sasrec.config)}
    (directory / "config.json").write_text(json.dumps(meta, indent=2, default=str))
    torch.save(model.state_dict(), directory / "gr.pt")
    if scorer is not None and gamma is not None:
        torch.save({"state": scorer.state_dict(), "gamma": gamma.cpu()}, directory / "scorer.pt")
    if fusion is not None:
        state = {} if fusion.sasrec is None else {"state": fusion.sasrec.state_dict()}
        torch.save({**state, "weights": fusion.weights.to_dict()}, directory / "fusion.pt")
    items.save(directory)
    np.save(directory / "popularity.npy", np.asarray(popularity, dtype=np.float32))
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (directory / "curves.json").write_text(json.dumps(curves))
    directory.rename(final)
    return final


def load(directory: Path, device: torch.device | str = "cpu") -> LoadedModel:
    config = json.loads((directory / "config.json").read_text())
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}: model format {config.get('format_version')}, this code reads {FORMAT_VERSION}")
    items = ItemVocabulary.load(directory)
    codes = items.codes
    vocab = config["vocab_sizes"]
    model = GenerativeRetrieval(torch.from_numpy(codes), vocab, GRConfig(**config["gr"]))
    model.load_state_dict(torch.load(directory / "gr.pt", map_location="cpu", weights_only=True))
    scorer, gamma = None, None
    if (directory / "scorer.pt").is_file():
        saved = torch.load(directory / "scorer.pt", map_location="cpu", weights_only=True)
        s = config["scorer"]
        scorer = RefinedScorer(s["dim"], s["heads"], s["hidden"])
        scorer.load_state_dict(saved["state"])
        scorer = scorer.to(device).eval()
        gamma = saved["gamma"].to(device)
    fusion = None
    if (directory / "fusion.pt").is_file():
        saved = torch.load(directory / "fusion.pt", map_location="cpu", weights_only=True)
        weights = saved["weights"]
        if "sasrec" in weights:  # a directory saved before the item head: δ was CE-SASRec's
            weights["dense"] = weights.pop("sasrec")
        sasrec = None
        if "state" in saved:
            sasrec = SASRec(config["fusion"]["num_items"], SASRecConfig(**config["fusion"]["sasrec"]))
            sasrec.load_state_dict(saved["state"])
            sasrec = sasrec.to(device).eval()
        fusion = Fusion(FusionWeights(**weights), sasrec)
    return LoadedModel(directory, config, model.to(device).eval(), SemanticIdTrie(codes, vocab).to(device), scorer,
                       gamma, items, np.load(directory / "popularity.npy"), fusion)  # fmt: skip
