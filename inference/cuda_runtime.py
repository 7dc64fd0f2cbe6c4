"""The generative retriever on a CUDA device (`runtimes`' `cuda`): PyTorch eager for the encoder and the first
decoder step, CUDA graphs for the later steps.

Within one batch, a beam search's later decoder steps have fixed shapes (N rows, W beams, level l, the cache's
length): each such shape is captured once as a CUDA graph and replayed after, so a step costs one graph launch
instead of a launch per op (a step is dozens of small kernels: launch-bound at serving batch sizes). The encoder
memory and the decoder cache stay on the device between steps; the host gets what the search and the refined scorer
read (the logits, the memory).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from inference.generative import GenerativeRetrieval

log = logging.getLogger(__name__)

Step = Callable[..., tuple[Tensor, Tensor]]


class CapturedStep:
    """One decoder step's shape as a CUDA graph: static input buffers, refilled per call, then a replay."""

    def __init__(self, step: Step, args: tuple[Tensor, ...]) -> None:
        self.inputs = tuple(arg.clone() for arg in args)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the capture: cuBLAS workspaces, the allocator's pools
            step(*self.inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = step(*self.inputs)

    def __call__(self, args: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        for static, arg in zip(self.inputs, args):
            static.copy_(arg)
        self.graph.replay()
        logits, cache = self.outputs
        return logits, cache.clone()  # the next replay overwrites the graph's own output


class CudaRuntime:
    """`beam_search.StepModel` on `device`: a copy of the model moved there (the caller's stays where it is, for the
    refined scorer)."""

    def __init__(self, model: GenerativeRetrieval, device: torch.device, graphs: bool = True,
                 max_graphs: int = 128) -> None:  # fmt: skip
        """`graphs`: replay the later decoder steps from CUDA graphs (CUDA devices only; elsewhere, and for shapes
        past `max_graphs`, each step runs eagerly: every graph keeps its own buffers on the device)."""
        self.model = copy.deepcopy(model).to(device).eval()
        self.device = device
        self.graphs = graphs and device.type == "cuda"
        self.max_graphs = max_graphs
        levels = [torch.tensor(level, device=device) for level in range(len(self.model.vocab_sizes) - 1)]
        self._steps = [partial(self._step, level, self.model.head_rows(level + 1)) for level in levels]
        self._captured: dict[tuple, CapturedStep | None] = {}
        self._memory: tuple[Tensor, Tensor] | None = None
        self._lock = threading.Lock()

    @property
    def captured(self) -> int:
        """Decoder-step shapes replayed from a CUDA graph."""
        return sum(graph is not None for graph in self._captured.values())

    def encode_memory(self, history: Tensor) -> Tensor:
        memory = self.model.encode_memory(history.to(self.device))
        host = memory.cpu()
        self._memory = (host, memory)
        return host

    def first_step(self, memory: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        logits, cache = self.model.first_step(self._on_device(memory), history.to(self.device))
        return logits.cpu(), cache

    def next_step(self, memory: Tensor, history: Tensor, codes: Tensor, level: int, cache: Tensor, parents: Tensor,
                  ) -> tuple[Tensor, Tensor]:  # fmt: skip
        args = tuple(t.to(self.device) for t in (history, codes, cache, parents))
        args = (self._on_device(memory), *args)
        step = self._steps[int(level)]
        with self._lock:
            graph = self._graph(int(level), step, args) if self.graphs else None
            logits, cache = graph(args) if graph is not None else step(*args)
        return logits.cpu(), cache

    def _step(self, level: Tensor, rows: Tensor, memory: Tensor, history: Tensor, codes: Tensor, cache: Tensor,
              parents: Tensor) -> tuple[Tensor, Tensor]:  # fmt: skip
        return self.model.step_at(memory, history, codes, level, cache, parents, rows)

    def _on_device(self, memory: Tensor) -> Tensor:
        """The device copy of the memory this runtime returned last (no upload per step), else an upload."""
        if self._memory is not None and memory is self._memory[0]:
            return self._memory[1]
        return memory.to(self.device)

    def _graph(self, level: int, step: Step, args: tuple[Tensor, ...]) -> CapturedStep | None:
        key = (level, *(tuple(arg.shape) for arg in args))
        if key not in self._captured and len(self._captured) < self.max_graphs:
            try:
                self._captured[key] = CapturedStep(step, args)
            except RuntimeError as error:  # an op the graph cannot hold: eager (the parity test counts captures)
                log.warning("decoder step %s not captured as a CUDA graph, runs eagerly: %s", key, error)
                self._captured[key] = None
        return self._captured.get(key)
