"""Runtimes of the generative retriever behind one contract (`beam_search.StepModel`), chosen by name at serving.

- `torch`: the PyTorch reference model itself.
- `onnx`: the exported encoder and decoder-step graphs (`onnx_export`) on onnxruntime, the CPU default.
- `onnx-int8`: the same graphs with int8 weights and dynamically quantized activations (onnxruntime's
  `quantize_dynamic`): ~1.4x faster on this CPU (VNNI); scores move by the quantization error, so its parity test
  bounds the top-K overlap instead of requiring equality, and docs/serving.md reports its Recall@10.
- `cuda`: the PyTorch model on a CUDA device, each decoder step's shape captured once as a CUDA graph and replayed.
- `tensorrt`, `tensorrt-fp16`: the `onnx` graphs on onnxruntime's TensorRT execution provider, engines cached in the
  model directory (built per input shape on first sight, loaded from disk after).

Each returns torch tensors on the host where the search reads them (logits, encoder memory), so the beam search, the
refined scorer and the filters are the same code for all of them; the parity tests hold every runtime to the
reference's top-K and scores. `RUNTIMES` is the registry, name → maker: the serving settings and the CLI take their
choices from it, so this module imports torch and onnxruntime only when a runtime is made. The GPU runtimes raise
`RuntimeUnavailable`, saying what is missing, where their hardware or libraries are not there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import Tensor

    from inference.artifacts import LoadedModel
    from inference.beam_search import StepModel


class RuntimeUnavailable(RuntimeError):
    """A runtime's hardware or libraries are not on this machine."""


class OnnxRuntime:
    """The three ONNX graphs on onnxruntime. Inputs and outputs cross as zero-copy numpy views."""

    def __init__(self, directory: Path, threads: int = 1, providers: Sequence[str | tuple[str, dict]] = ("CPUExecutionProvider",),
                 ) -> None:  # fmt: skip
        """`threads`: intra-op threads per call; serving runs one batch at a time, so this is the cores it may use.
        `providers`: onnxruntime's execution providers, in order of preference."""
        import onnxruntime as ort

        from inference.onnx_export import GRAPHS

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.encoder, self.first, self.next = (
            ort.InferenceSession(str(directory / name), options, providers=list(providers)) for name in GRAPHS
        )

    def encode_memory(self, history: Tensor) -> Tensor:
        return _torch(self.encoder.run(None, {"history": _numpy(history)}))[0]

    def first_step(self, memory: Tensor, history: Tensor) -> tuple[Tensor, Tensor]:
        logits, cache = _torch(self.first.run(None, {"memory": _numpy(memory), "history": _numpy(history)}))
        return logits, cache

    def next_step(self, memory: Tensor, history: Tensor, codes: Tensor, level: int, cache: Tensor, parents: Tensor,
                  ) -> tuple[Tensor, Tensor]:  # fmt: skip
        feed = {"memory": _numpy(memory), "history": _numpy(history), "codes": _numpy(codes),
                "level": np.array(level, dtype=np.int64), "cache": _numpy(cache), "parents": _numpy(parents)}  # fmt: skip
        logits, cache = _torch(self.next.run(None, feed))
        return logits, cache


def _reference(loaded: LoadedModel, threads: int) -> StepModel:
    return loaded.model


def _onnx(loaded: LoadedModel, threads: int) -> StepModel:
    return OnnxRuntime(_exported(loaded), threads)


def _onnx_int8(loaded: LoadedModel, threads: int) -> StepModel:
    from inference.onnx_export import exported

    source, quantized = _exported(loaded), loaded.directory / "onnx-int8"
    if not exported(quantized):
        _atomically(quantized, lambda staging: quantize(source, staging))
    return OnnxRuntime(quantized, threads)


def _cuda(loaded: LoadedModel, threads: int) -> StepModel:
    import torch

    from inference.cuda_runtime import CudaRuntime

    if not torch.cuda.is_available():
        raise RuntimeUnavailable("runtime 'cuda' needs a CUDA device visible to PyTorch (torch.cuda.is_available() "
                                 f"is False; torch {torch.__version__}, built for CUDA {torch.version.cuda})")  # fmt: skip
    return CudaRuntime(loaded.model, torch.device("cuda"))


def _tensorrt(fp16: bool) -> Callable[[LoadedModel, int], StepModel]:
    def make(loaded: LoadedModel, threads: int) -> StepModel:
        import onnxruntime as ort

        if "TensorrtExecutionProvider" not in ort.get_available_providers():
            raise RuntimeUnavailable(
                f"runtime 'tensorrt' needs onnxruntime's TensorrtExecutionProvider (onnxruntime-gpu and the TensorRT "
                f"libraries); this onnxruntime {ort.__version__} has {', '.join(ort.get_available_providers())}")
        engines = loaded.directory / ("tensorrt-fp16" if fp16 else "tensorrt")
        engines.mkdir(exist_ok=True)
        options = {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(engines), "trt_fp16_enable": fp16}
        # what TensorRT cannot run falls back to CUDA, then the CPU, node by node
        providers = [("TensorrtExecutionProvider", options), "CUDAExecutionProvider", "CPUExecutionProvider"]
        return OnnxRuntime(_exported(loaded), threads, providers)

    return make


RUNTIMES: dict[str, Callable[[LoadedModel, int], StepModel]] = {
    "torch": _reference, "onnx": _onnx, "onnx-int8": _onnx_int8, "cuda": _cuda,
    "tensorrt": _tensorrt(fp16=False), "tensorrt-fp16": _tensorrt(fp16=True),
}  # fmt: skip


def make_runtime(name: str, loaded: LoadedModel, threads: int = 1) -> StepModel:
    """The named runtime for a loaded model directory; the ONNX ones export the graphs into it on first use.

    PyTorch's own intra-op pool is sized to `threads` for every runtime: the beam search's glue ops run in torch,
    and with the default (one OpenMP thread per core) each serving worker's tiny ops would spin up and busy-wait a
    pool that competes with the other workers for the same cores."""
    import torch

    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}: one of {', '.join(RUNTIMES)}")
    torch.set_num_threads(threads)
    return RUNTIMES[name](loaded, threads)


def _exported(loaded: LoadedModel) -> Path:
    """The model's ONNX graphs, exported on first use."""
    from inference.onnx_export import export, exported

    directory = loaded.directory / "onnx"
    if not exported(directory):
        _atomically(directory, lambda staging: export(loaded.model, staging))
    return directory


def quantize(source: Path, target: Path) -> None:
    """int8 weights, activations quantized per call (no calibration data needed); stamped as its source."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from inference.onnx_export import GRAPHS, stamp

    advice = logging.Filter()
    advice.filter = lambda record: not any(  # its advice for vision models, and integer tensors it rightly skips
        noise in record.getMessage() for noise in ("pre-processing", "unsupported type to quantize"))
    logging.getLogger().addFilter(advice)
    try:
        for graph in GRAPHS:
            quantize_dynamic(str(source / graph), str(target / graph), weight_type=QuantType.QInt8)
    finally:
        logging.getLogger().removeFilter(advice)
    stamp(target)


def _atomically(directory: Path, make: Callable[[Path], object]) -> None:
    """Build beside `directory`, then rename: API workers starting together never read a half-written graph. An
    out-of-date build in the way is removed first."""
    from inference.onnx_export import exported

    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        make(staging)
        if directory.exists() and not exported(directory):
            shutil.rmtree(directory)
        os.rename(staging, directory)
    except OSError:  # another process renamed its build first: use that one
        if not exported(directory):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _torch(arrays: list[np.ndarray]) -> list[Tensor]:
    import torch

    return [torch.from_numpy(a) for a in arrays]


def _numpy(tensor: Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy())
