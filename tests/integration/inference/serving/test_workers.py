"""`freshrec serve --workers 2`: two API processes on one port, one model each, metrics summed across them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freshrec.testing.services import RedisEndpoint
from infra.stack.process import free_port
from tests.integration.inference.serving.conftest import get, post

pytestmark = pytest.mark.integration


def test_two_workers_share_the_port_and_their_metrics(redis_server: RedisEndpoint, model_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "FRESHREC_REDIS__HOST": redis_server.host, "FRESHREC_REDIS__PORT": str(redis_server.port),
           "FRESHREC_SERVING__BEAM": "20", "FRESHREC_SERVING__MAX_K": "20"}  # fmt: skip
    freshrec = Path(sys.executable).parent / "freshrec"
    process = subprocess.Popen([str(freshrec), "serve", "--model", str(model_dir), "--workers", "2", "--port", str(port), "--force"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if get(f"{url}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        for user in range(40):  # new connections: the kernel spreads them over both workers
            status, body = post(f"{url}/recommend", {"user_id": 10_000 + user, "k": 3})
            assert status == 200 and body["path"] == "cold"
        status, text = get(f"{url}/metrics")
        served = re.search(rb'freshrec_results_total\{path="cold"\} (\S+)', text)
        assert status == 200 and served is not None and float(served.group(1)) == 40
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "with 2 workers" in output, output
