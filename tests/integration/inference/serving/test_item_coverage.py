"""A model that does not know the streamed items refuses to start, naming the coverage it sampled from the online
store; --force starts it anyway; a model trained on what streams starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from inference.item_vocabulary import ItemVocabulary
from inference.serving.coverage import check_coverage, streamed_items
from inference.testing import tiny_model_dir
from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from tests.integration.inference.serving.conftest import write_user

pytestmark = pytest.mark.integration

RAW = 7_000_000 + 13 * np.arange(300)  # the model's 300 items as the click events number them


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """A store of its own: the check samples whatever users it holds."""
    local = LocalRedis(RedisSettings(port=free_port()), tmp_path_factory.mktemp("coverage"))
    local.start()
    try:
        yield local.client()
    finally:
        local.stop()


def test_coverage_is_sampled_from_the_stored_histories(store: redis.Redis, tmp_path: Path) -> None:
    store.flushall()
    items = ItemVocabulary.load(tiny_model_dir(tmp_path / "tiny", 300, raw_ids=RAW))
    store.set(b"not-a-user", b"x")  # other keys are skipped
    for user in range(40):  # 40 users x 3 known + 40 x 1 unknown items
        write_user(store, user, [int(RAW[user]), int(RAW[user + 1]), 10**9 + user, int(RAW[user + 2])])
    streamed = streamed_items(OnlineReader(store, [USER_REALTIME]), users=1_000)
    assert len(streamed) == 160 and check_coverage(items, streamed, 0.75) == 0.75
    assert len(streamed_items(OnlineReader(store, [USER_REALTIME]), users=10)) == 40


def _serve(store: redis.Redis, model: Path, *flags: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "FRESHREC_REDIS__PORT": str(store.connection_pool.connection_kwargs["port"])}
    process = subprocess.Popen([str(Path(sys.executable).parent / "freshrec"), "serve", "--model", str(model),
                                "--runtime", "torch", "--port", str(port), *flags], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    return process, port


def _ready(process: subprocess.Popen, port: int) -> str:
    """Waits until the API answers /readyz, stops it; what it printed."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as reply:
                if reply.status == 200:
                    break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
            time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=30)[0]


def test_a_model_of_other_items_refuses_to_start_unless_forced(store: redis.Redis, tmp_path: Path) -> None:
    store.flushall()
    for user in range(30):
        write_user(store, user, [1 + user, 2 + user, 3 + user])  # the plain 1..300 numbering, not the model's
    renumbered = tiny_model_dir(tmp_path / "renumbered", 300, raw_ids=RAW)
    refused, _ = _serve(store, renumbered)
    out = refused.communicate(timeout=120)[0]
    assert refused.returncode == 1 and "knows 0.0% of 90 item ids sampled" in out and "--force" in out, out
    assert "knows 0.0%" not in _ready(*_serve(store, renumbered, "--force"))
    plain = tiny_model_dir(tmp_path / "plain", 300)
    assert "the model knows 100.0% of 90 streamed item ids sampled" in _ready(*_serve(store, plain))
