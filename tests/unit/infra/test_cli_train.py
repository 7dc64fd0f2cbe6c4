"""`freshrec train`'s stage switches change only what they name, on top of the preset's own settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from inference import pipeline
from inference.fusion import KAPPA
from inference.pipeline import PRESETS, PipelineConfig
from infra.cli import main


class _Ran(Exception):
    pass


def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> PipelineConfig:
    seen: list[PipelineConfig] = []

    def run(config: PipelineConfig, *_: object) -> Path:
        seen.append(config)
        raise _Ran

    monkeypatch.setattr(pipeline, "run", run)
    result = CliRunner().invoke(main, ["train", *args, "--models-dir", str(tmp_path)])
    assert isinstance(result.exception, _Ran), result.output
    return seen[0]


def test_stage_switches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    full = PRESETS["full"]
    assert configured(monkeypatch, tmp_path, "--preset", "full") == full
    ldpo = configured(monkeypatch, tmp_path, "--preset", "full", "--ldpo", "--rsp")
    assert (ldpo.ldpo, ldpo.rsp, ldpo.fusion, ldpo.gr, ldpo.sasrec) == (True, True, full.fusion, full.gr, full.sasrec)
    assert configured(monkeypatch, tmp_path, "--preset", "full", "--no-fusion").fusion is None
    smoke = configured(monkeypatch, tmp_path, "--preset", "smoke", "--no-fusion", "--no-ldpo")
    assert (smoke.fusion, smoke.ldpo, smoke.rsp) == (None, False, PRESETS["smoke"].rsp)
    assert configured(monkeypatch, tmp_path, "--preset", "smoke", "--fusion").fusion == PRESETS["smoke"].fusion == KAPPA
    item = configured(monkeypatch, tmp_path, "--preset", "full", "--item-loss", "0.25")
    assert (item.gr.item_loss, item.gr.reasoning, item.sasrec) == (0.25, full.gr.reasoning, full.sasrec)
