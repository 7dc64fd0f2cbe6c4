"""docs/testing.md's example, run as a user's project runs it: freshrec installed from its wheel into a virtualenv of
its own, the example file alone in a directory outside the repository, plain `pytest` finding freshrec's plugin
through the installed entry point."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_user_engagement.py"

pytestmark = pytest.mark.e2e


def _run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return subprocess.run([str(c) for c in command], env=env, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def _user_venv(tmp_path: Path) -> Path:
    """freshrec's wheel installed into a new virtualenv. Its dependencies come from this suite's environment, added as
    a plain path: the checkout's editable install there is a `.pth` hook, which a path does not run, so `freshrec`
    can only come from the wheel."""
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "wheel",
                  ROOT], timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (packages / "suite_dependencies.pth").write_text("".join(f"{p}\n" for p in site.getsitepackages()))
    (wheel,) = (tmp_path / "wheel").glob("freshrec-*.whl")
    installed = _run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-deps", wheel],
                     timeout=300)  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def test_the_documented_example_passes_in_a_users_project(tmp_path: Path) -> None:
    venv = _user_venv(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLE, project)
    where = _run([venv / "bin" / "python", "-c", "import freshrec.testing, streaming; print(freshrec.testing.__file__)"],
                 cwd=project, timeout=120)  # fmt: skip
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's, not the checkout's
    done = _run([venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLE.name], cwd=project,
                timeout=900)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 passed" in output and "freshrec services used" in output, output
