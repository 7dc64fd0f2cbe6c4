"""`freshrec serve` refuses an open API beyond loopback (the rule itself: tests/unit/inference/serving/test_exposure.py)
and a runtime this machine cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from inference.testing import tiny_model_dir
from infra.cli import main


def test_serve_refuses_to_start_on_all_interfaces_without_a_key() -> None:
    """Before it loads anything: no model or store is needed to refuse."""
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"FRESHREC_SERVING__API_KEY": ""})
    assert result.exit_code != 0 and "refusing to serve on 0.0.0.0 without an API key" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device: the runtime starts")
def test_serve_names_what_a_gpu_runtime_misses(tmp_path: Path) -> None:
    model = tiny_model_dir(tmp_path / "tiny")
    result = CliRunner().invoke(main, ["serve", "--model", str(model), "--runtime", "cuda"])
    assert result.exit_code == 1 and "runtime 'cuda' needs a CUDA device" in result.output, result.output
