"""The README's demo command, end to end, on private ports and state."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from feature_store.store import copy_repo
from infra.config import PROJECT_ROOT
from infra.stack.process import free_port

pytestmark = pytest.mark.e2e


def test_demo_script_replays_taobao_and_counts_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FRESHREC_STATE_DIR": str(tmp_path / "state"),
        "FRESHREC_KAFKA__PORT": str(free_port()),
        "FRESHREC_KAFKA__CONTROLLER_PORT": str(free_port()),
        "FRESHREC_REDIS__PORT": str(free_port()),
        "FRESHREC_FEATURE_REPO": str(copy_repo(tmp_path / "repo")),
    }
    try:
        demo = subprocess.run(
            ["bash", str(PROJECT_ROOT / "scripts/demo.sh")], env=env, capture_output=True, text=True, timeout=600
        )
        assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
        assert "replayed 110300 events to clicks" in demo.stdout
        assert "clicks: 110300 records" in demo.stdout
        assert "110300 events, 66454 users" in demo.stdout
        assert "user_realtime: present" in demo.stdout and "item_ids = [1715]" in demo.stdout
    finally:
        subprocess.run([str(PROJECT_ROOT / ".venv/bin/freshrec"), "down"], env=env, capture_output=True)
