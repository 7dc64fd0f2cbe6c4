"""The plugin as pytest finds it: by name with `-p` (autoload off) and through the installed entry point, its fixtures
listed without starting a service; docs/testing.md shows the example CI runs, verbatim."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import freshrec.testing

ROOT = Path(__file__).parents[3]
FIXTURES = ("freshrec_kafka", "freshrec_redis", "freshrec_flink", "freshrec_topic", "freshrec_stack", "freshrec_job",
            "freshrec_model_dir", "freshrec_api")  # fmt: skip


def test_the_entry_point_names_the_plugin_module() -> None:
    (point,) = [p for p in entry_points(group="pytest11") if p.value == "freshrec.testing"]
    assert point.name == "freshrec.testing" and point.load() is freshrec.testing  # so `-p freshrec.testing` finds it


def test_minus_p_loads_the_fixtures_without_starting_services(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                                                                           "FRESHREC_TEST_SERVICES": "local"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "freshrec.testing", "-p", "no:cacheprovider",
                           "--fixtures"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(f"{name} " in done.stdout for name in FIXTURES), done.stdout
    assert "freshrec service backend: local (FRESHREC_TEST_SERVICES=local)" in done.stdout
    assert "freshrec services used" not in done.stdout


def test_the_testing_guide_shows_the_example_ci_runs() -> None:
    example = (ROOT / "docs" / "examples" / "test_user_engagement.py").read_text()
    assert f"```python\n{example.rstrip()}\n```" in (ROOT / "docs" / "testing.md").read_text()
