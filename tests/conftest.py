"""Shared fixtures: real services (tests/fixtures), the datasets folder, and a report of which backend ran."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.config import load_settings
from tests.fixtures.services import choose_backend

pytest_plugins = ["tests.fixtures.kafka", "tests.fixtures.redis", "tests.fixtures.feast", "tests.fixtures.flink", "tests.fixtures.llm",
                  "tests.fixtures.secure"]

_REPORT: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`long` tests keep CI within its time budget: they run with FRESHREC_LONG_TESTS=1, else skip saying so."""
    if os.environ.get("FRESHREC_LONG_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="long run (tens of minutes on 2 cores): FRESHREC_LONG_TESTS=1 scripts/test.sh runs it")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        choose_backend()
    except (RuntimeError, ValueError) as exc:  # a forced backend that cannot run, or a misspelt one: say so, run nothing
        pytest.exit(f"freshrec service backend: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_report_header(config: pytest.Config) -> str:
    backend = choose_backend()
    return f"freshrec service backend: {backend.name} ({backend.why})"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    if _REPORT:
        terminalreporter.section("freshrec services used")
        for line in _REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def service_backend() -> str:
    return choose_backend().name


@pytest.fixture(scope="session")
def service_report() -> list[str]:
    return _REPORT


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    path = load_settings().datasets_dir
    if not path.is_dir():
        pytest.fail(f"datasets folder {path} is missing: set FRESHREC_DATASETS_DIR")
    return path
