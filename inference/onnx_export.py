"""Export the generative retriever to ONNX as two graphs, the way serving runs it: the encoder (once per request)
and one decoder step (per beam level), dynamic in batch, history length, beam width and prefix length.

The TorchScript-based exporter is used (`dynamo=False`): the dynamo exporter needs onnxscript, which the pinned
environment does not carry. Every shape the graphs depend on is computed from tensors, never baked in as a Python
constant, so a graph traced at one shape is exact at any other (the parity tests run other shapes).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from inference.generative import GenerativeRetrieval
from inference.layers import key_mask

OPSET = 17


class EncoderGraph(nn.Module):
    def __init__(self, model: GenerativeRetrieval) -> None:
        super().__init__()
        self.model = model

    def forward(self, history: Tensor) -> Tensor:
        return self.model.encode(history)[0]


class DecoderStepGraph(nn.Module):
    def __init__(self, model: GenerativeRetrieval) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory: Tensor, history: Tensor, tokens: Tensor) -> Tensor:
        """Logits of the next code for (N, W, l + 1) decoder tokens (`decoder_input`): (N * W, sum(vocab))."""
        return self.model.decode_tokens(memory, key_mask(history == 0), tokens, last_only=True)


def export(model: GenerativeRetrieval, directory: Path) -> tuple[Path, Path]:
    """The wrappers are exported in eval mode: the exporter restores each wrapper's mode afterwards, recursively,
    and a wrapper left in training mode would switch the model's dropout back on."""
    model = model.eval()
    directory.mkdir(parents=True, exist_ok=True)
    history = torch.tensor([[0, 0, 3, 5], [1, 2, 3, 4]])
    tokens = model.decoder_input(torch.zeros(2, 3, 1, dtype=torch.long))
    memory = model.encode(history)[0].detach()
    encoder, decoder = directory / "encoder.onnx", directory / "decoder_step.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
        torch.onnx.export(EncoderGraph(model).eval(), (history,), encoder, input_names=["history"], output_names=["memory"],
                          dynamic_axes={"history": {0: "n", 1: "l"}, "memory": {0: "n", 1: "l"}}, opset_version=OPSET,
                          dynamo=False)  # fmt: skip
        torch.onnx.export(DecoderStepGraph(model).eval(), (memory, history, tokens), decoder,
                          input_names=["memory", "history", "tokens"], output_names=["logits"],
                          dynamic_axes={"memory": {0: "n", 1: "l"}, "history": {0: "n", 1: "l"},
                                        "tokens": {0: "n", 1: "w", 2: "p"}, "logits": {0: "nw"}},
                          opset_version=OPSET, dynamo=False)  # fmt: skip
    return encoder, decoder
