"""Export the generative retriever to ONNX as three graphs, the way the beam search runs it (`StepModel`): the encoder
(once per request), the decoder's first step (BOS) and its next step (one new token per beam over the self-attention
cache), dynamic in batch, history length, beam width and prefix length.

The TorchScript-based exporter is used (`dynamo=False`): the dynamo exporter needs onnxscript, which the pinned
environment does not carry. Every shape the graphs depend on is computed from tensors, never baked in as a Python
constant, so a graph traced at one shape is exact at any other (the parity tests run other shapes).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from inference.generative import GenerativeRetrieval

OPSET = 17


class _Graph(nn.Module):
    def __init__(self, model: GenerativeRetrieval) -> None:
        super().__init__()
        self.model = model


class EncoderGraph(_Graph):
    def forward(self, history: Tensor) -> Tensor:
        return self.model.encode(history)[0]


class FirstStepGraph(_Graph):
    def forward(self, memory: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.first_step(memory, history)


class NextStepGraph(_Graph):
    def forward(self, memory: Tensor, history: Tensor, codes: Tensor, level: Tensor, cache: Tensor, parents: Tensor,
                ) -> tuple[Tensor, Tensor]:  # fmt: skip
        return self.model.next_step(memory, history, codes, level, cache, parents)


GRAPHS = ("encoder.onnx", "first_step.onnx", "next_step.onnx")
EXPORT_VERSION = 3
"""Bumped whenever the graphs' inputs, outputs or meaning change: a model directory's older export is rebuilt
(`exported`), never run against a beam search that expects something else (v2: per-level logits; v3: the hybrid
input's older items weighted right at any history length)."""
STAMP = "export.json"


def exported(directory: Path) -> bool:
    """Does `directory` hold every graph of the current export version?"""
    try:
        stamp = json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("version") == EXPORT_VERSION and all((directory / name).is_file() for name in GRAPHS)


def stamp(directory: Path) -> None:
    (directory / STAMP).write_text(json.dumps({"version": EXPORT_VERSION, "opset": OPSET}))


def export(model: GenerativeRetrieval, directory: Path) -> list[Path]:
    """The wrappers are exported in eval mode: the exporter restores each wrapper's mode afterwards, recursively,
    and a wrapper left in training mode would switch the model's dropout back on."""
    model = model.eval()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in GRAPHS]
    history = torch.tensor([[0, 0, 3, 5], [1, 2, 3, 4]])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
        memory = model.encode(history)[0]
        _, cache = model.first_step(memory, history)
        codes, parents = torch.tensor([[1, 2, 0], [3, 1, 1]]), torch.tensor([0, 0, 0, 1, 1, 1])
        n, cache_axes = {0: "n", 1: "l"}, {1: "rows", 2: "positions"}
        torch.onnx.export(EncoderGraph(model).eval(), (history,), paths[0], input_names=["history"],
                          output_names=["memory"], dynamic_axes={"history": n, "memory": n}, opset_version=OPSET,
                          dynamo=False)  # fmt: skip
        torch.onnx.export(FirstStepGraph(model).eval(), (memory, history), paths[1], input_names=["memory", "history"],
                          output_names=["logits", "cache"],
                          dynamic_axes={"memory": n, "history": n, "logits": {0: "n"}, "cache": {1: "n"}},
                          opset_version=OPSET, dynamo=False)  # fmt: skip
        torch.onnx.export(NextStepGraph(model).eval(), (memory, history, codes, torch.tensor(0), cache, parents),
                          paths[2], input_names=["memory", "history", "codes", "level", "cache", "parents"],
                          output_names=["logits", "next_cache"],
                          dynamic_axes={"memory": n, "history": n, "codes": {0: "n", 1: "w"}, "cache": cache_axes,
                                        "parents": {0: "nw"}, "logits": {0: "nw"}, "next_cache": {1: "nw", 2: "p"}},
                          opset_version=OPSET, dynamo=False)  # fmt: skip
    stamp(directory)
    return paths
