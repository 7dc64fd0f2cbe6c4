"""The README's demo command, end to end, on private ports and state: every step of the loop has its effect."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from feature_store.store import copy_repo
from infra.config import PROJECT_ROOT, load_settings
from infra.stack.process import free_port
from sources.datasets import load, select, utc_ms

pytestmark = pytest.mark.e2e
DAY = "1997-11-15"


def test_demo_runs_the_whole_loop(tmp_path: Path, datasets_dir: Path) -> None:
    env = {
        **os.environ,
        "FRESHREC_STATE_DIR": str(tmp_path / "state"),
        "FRESHREC_MODELS_DIR": str(tmp_path / "models"),
        "FRESHREC_KAFKA__PORT": str(free_port()),
        "FRESHREC_KAFKA__CONTROLLER_PORT": str(free_port()),
        "FRESHREC_REDIS__PORT": str(free_port()),
        "FRESHREC_SERVING__PORT": str(free_port()),
        "FRESHREC_FEATURE_REPO": str(copy_repo(tmp_path / "repo")),
    }
    try:
        demo = subprocess.run(["bash", str(PROJECT_ROOT / "scripts/demo.sh"), "--day", DAY], env=env,
                              capture_output=True, text=True, timeout=1200)  # fmt: skip
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    finally:
        subprocess.run([str(PROJECT_ROOT / ".venv/bin/freshrec"), "down"], env=env, capture_output=True)
    report = json.loads((tmp_path / "state" / "demo" / "report.json").read_text())
    source = load("movielens", datasets_dir, archives_dir=load_settings().archives_dir)
    assert report["history_events"] == select(source, before_ms=utc_ms(DAY)).num_events  # every rating, once
    before, after, tagged = report["before"], report["after"], report["tagged"]
    assert before["source"] == "generative" and not before["fallback"]
    assert after["feature_version"] > before["feature_version"]
    assert [i["item_id"] for i in after["items"]] != [i["item_id"] for i in before["items"]]  # the clicks changed it
    assert not set(report["live"]["items"]) & {i["item_id"] for i in after["items"]}  # clicked: not recommended
    assert len(report["live"]["fresh_ms"]) == len(report["live"]["items"]) > 0
    assert tagged["intent_tags"] and any(i["source"] == "intent" for i in tagged["items"])
    assert "top-10 before day" in demo.stdout and "click -> fresh result" in demo.stdout and "intent tags:" in demo.stdout
