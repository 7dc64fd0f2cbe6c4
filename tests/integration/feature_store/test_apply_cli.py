"""Both ways of registering the repository work: plain `feast apply` and `freshrec features apply`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from feature_store.store import copy_repo
from freshrec.testing.services import RedisEndpoint

pytestmark = pytest.mark.integration


def _repo_on(redis_server: RedisEndpoint, target: Path) -> Path:
    repo = copy_repo(target)
    yaml = repo / "feature_store.yaml"
    yaml.write_text(yaml.read_text().replace('"127.0.0.1:6379"', f'"{redis_server.host}:{redis_server.port}"'))
    return repo


def test_plain_feast_apply(redis_server: RedisEndpoint, tmp_path: Path) -> None:
    repo = _repo_on(redis_server, tmp_path / "repo")
    applied = subprocess.run(["feast", "apply"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr[-2000:]
    listed = subprocess.run(["feast", "feature-views", "list"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert all(view in listed.stdout for view in ("user_realtime", "user_intent", "item"))


def test_freshrec_features_apply_and_get(redis_server: RedisEndpoint, tmp_path: Path) -> None:
    env = {**os.environ, "FRESHREC_FEATURE_REPO": str(copy_repo(tmp_path / "repo")), "FRESHREC_REDIS__PORT": str(redis_server.port)}
    applied = subprocess.run(["freshrec", "features", "apply"], env=env, capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert "user_realtime" in applied.stdout and (tmp_path / "repo/data/registry.db").is_file()
    got = subprocess.run(["freshrec", "features", "get", "424242"], env=env, capture_output=True, text=True, timeout=300)
    assert "user_realtime: missing" in got.stdout
