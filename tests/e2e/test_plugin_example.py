"""docs/testing.md's example, run as a user's project runs it: the file alone in a directory outside the repository,
plain `pytest` finding freshrec's plugin through the installed entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "test_user_engagement.py"

pytestmark = pytest.mark.e2e


def test_the_documented_example_passes_in_a_users_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLE, project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLE.name],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 passed" in output and "freshrec services used" in output, output
