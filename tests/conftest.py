"""Shared fixtures: real services (freshrec's pytest plugin, `freshrec.testing`, and tests/fixtures), the datasets
folder, and the `long` marker's switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from freshrec.testing import SERVICES_USED
from infra.config import load_settings

# Jobs in this suite checkpoint every 2 s, not the default 10: a bounded run ends at its next checkpoint and the crash
# tests wait for one, so the default would add seconds to each. Jobs started here take it from the settings (in
# process: `load_settings().stream`; `freshrec stream run`: this environment).
os.environ.setdefault("FRESHREC_STREAM__CHECKPOINT_INTERVAL_MS", "2000")

pytest_plugins = ["freshrec.testing", "tests.fixtures.kafka", "tests.fixtures.redis", "tests.fixtures.feast",
                  "tests.fixtures.flink", "tests.fixtures.llm", "tests.fixtures.secure"]  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`long` tests keep CI within its time budget: they run with FRESHREC_LONG_TESTS=1, else skip saying so."""
    if os.environ.get("FRESHREC_LONG_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="long run (tens of minutes on 2 cores): FRESHREC_LONG_TESTS=1 scripts/test.sh runs it")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def service_report() -> list[str]:
    """Where fixtures beyond the plugin's (Redis Cluster, the LLM server) list what they started."""
    return SERVICES_USED


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    path = load_settings().datasets_dir
    if not path.is_dir():
        pytest.fail(f"datasets folder {path} is missing: set FRESHREC_DATASETS_DIR")
    return path
