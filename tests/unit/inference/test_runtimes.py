"""Every runtime against the PyTorch reference: the same top-K items and scores within tolerance, end to end
(trie-constrained beam search + refined scorer), on a saved model directory."""

from __future__ import annotations

import json

import pytest
import torch

from inference import artifacts
from inference.beam_search import StepModel
from inference.cuda_runtime import CudaRuntime
from inference.evaluation import seen_mask
from inference.onnx_export import EXPORT_VERSION, STAMP
from inference.retriever import Retriever
from inference.runtimes import RuntimeUnavailable, make_runtime
from inference.testing import tiny_model_dir

NUM_ITEMS = 300


@pytest.fixture(scope="module", params=["raw", "hybrid"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> artifacts.LoadedModel:
    """The raw-input model fused with a CE-SASRec, and the hybrid-input one (its m = 5 recent items: longer than the
    export's history) fused with its own item head."""
    directory = tmp_path_factory.mktemp("models") / request.param
    hybrid = request.param == "hybrid"
    return artifacts.load(tiny_model_dir(directory, NUM_ITEMS, hybrid=hybrid, dense="item-head" if hybrid else "CE-SASRec"))


def candidates(loaded: artifacts.LoadedModel, name: str, step_model: StepModel | None = None) -> tuple[torch.Tensor, ...]:
    """(seen, reference items, reference scores, runtime items, runtime scores) for nine histories; `step_model`:
    the runtime already made."""
    generator = torch.Generator().manual_seed(1)
    history = torch.randint(1, NUM_ITEMS + 1, (9, 12), generator=generator)
    history[:3, :8] = 0  # short histories
    seen = seen_mask([h[h > 0].numpy() for h in history], NUM_ITEMS)
    reference = loaded.retriever(20)
    runtime = loaded.retriever(20, step_model or make_runtime(name, loaded))
    return seen, *reference.candidates(history, seen), *runtime.candidates(history, seen)


def test_onnx_runtime_matches_the_reference(loaded: artifacts.LoadedModel) -> None:
    seen, want_items, want_scores, got_items, got_scores = candidates(loaded, "onnx")
    assert torch.equal(got_items[:, :10], want_items[:, :10])
    torch.testing.assert_close(got_scores, want_scores, atol=1e-4, rtol=1e-4)
    assert not seen.gather(1, got_items).any()  # the filters hold in every runtime


def test_quantized_runtime_stays_close_to_the_reference(loaded: artifacts.LoadedModel) -> None:
    """int8 moves scores by the quantization error: most of the reference top-10 stays in its top-20."""
    seen, want_items, want_scores, got_items, got_scores = candidates(loaded, "onnx-int8")
    kept = [len(set(w[:10].tolist()) & set(g[:20].tolist())) / 10 for w, g in zip(want_items, got_items)]
    assert sum(kept) / len(kept) >= 0.7, kept
    assert (got_scores[:, 0] - want_scores[:, 0]).abs().max() < 0.5
    assert not seen.gather(1, got_items).any()


def test_an_out_of_date_export_is_rebuilt(tmp_path_factory: pytest.TempPathFactory) -> None:
    loaded = artifacts.load(tiny_model_dir(tmp_path_factory.mktemp("models") / "stale", NUM_ITEMS))
    make_runtime("onnx", loaded)
    stamp = loaded.directory / "onnx" / STAMP
    stamp.write_text(json.dumps({"version": EXPORT_VERSION - 1}))
    (loaded.directory / "onnx" / "next_step.onnx").write_bytes(b"an older graph")
    runtime = Retriever(loaded.model, loaded.trie, 10, runtime=make_runtime("onnx", loaded))
    assert json.loads(stamp.read_text())["version"] == EXPORT_VERSION
    history = torch.randint(1, NUM_ITEMS + 1, (2, 12))
    runtime.candidates(history, seen_mask([h.numpy() for h in history], NUM_ITEMS))


def test_cuda_runtime_steps_match_the_reference_off_the_gpu(loaded: artifacts.LoadedModel) -> None:
    """The `cuda` runtime's own code (its model copy, the memory kept on the device, the level-specialised steps) on
    the CPU device, where no graph is captured: the same search as the reference."""
    generator = torch.Generator().manual_seed(2)
    history = torch.randint(1, NUM_ITEMS + 1, (5, 12), generator=generator)
    seen = seen_mask([h.numpy() for h in history], NUM_ITEMS)
    reference = loaded.retriever(20)
    runtime = CudaRuntime(loaded.model, torch.device("cpu"))
    ported = loaded.retriever(20, runtime)
    (want_items, want_scores), (got_items, got_scores) = reference.candidates(history, seen), ported.candidates(history, seen)
    assert torch.equal(got_items, want_items)
    torch.testing.assert_close(got_scores, want_scores)
    assert runtime.captured == 0 and runtime.model is not loaded.model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to PyTorch on this machine")
def test_cuda_runtime_matches_the_reference(loaded: artifacts.LoadedModel) -> None:
    """On a GPU: every later decoder step replayed from a CUDA graph, twice (capture, then replay), same top-K."""
    runtime = make_runtime("cuda", loaded)
    for _ in range(2):
        seen, want_items, want_scores, got_items, got_scores = candidates(loaded, "cuda", runtime)
        assert torch.equal(got_items[:, :10], want_items[:, :10])
        torch.testing.assert_close(got_scores, want_scores, atol=1e-3, rtol=1e-3)
    assert runtime.captured == loaded.trie.levels - 1, "a decoder step fell back to eager: see the warning"


def tensorrt_missing() -> str | None:
    import onnxruntime as ort

    providers = ort.get_available_providers()
    return None if "TensorrtExecutionProvider" in providers else f"onnxruntime here has only {', '.join(providers)}"


@pytest.mark.skipif(tensorrt_missing() is not None, reason=f"no TensorRT execution provider: {tensorrt_missing()}")
@pytest.mark.parametrize("name", ["tensorrt", "tensorrt-fp16"])
def test_tensorrt_runtime_matches_the_reference(loaded: artifacts.LoadedModel, name: str) -> None:
    seen, want_items, want_scores, got_items, got_scores = candidates(loaded, name)
    kept = [len(set(w[:10].tolist()) & set(g[:20].tolist())) / 10 for w, g in zip(want_items, got_items)]
    assert sum(kept) / len(kept) >= (0.9 if name == "tensorrt" else 0.7), kept  # TF32 / FP16 arithmetic
    assert not seen.gather(1, got_items).any()
    assert any((loaded.directory / name).iterdir()), "no engine cached on disk"


@pytest.mark.parametrize("name", ["cuda", "tensorrt"])
def test_a_gpu_runtime_without_its_gpu_says_what_is_missing(loaded: artifacts.LoadedModel, name: str) -> None:
    missing = {"cuda": None if torch.cuda.is_available() else "CUDA device", "tensorrt": tensorrt_missing()}[name]
    if missing is None:
        pytest.skip(f"{name} runs on this machine (its parity test covers it)")
    with pytest.raises(RuntimeUnavailable, match=name):
        make_runtime(name, loaded)
