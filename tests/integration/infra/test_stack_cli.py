"""`freshrec up / status / replay / topics count / down` as an operator runs them, on private ports and state."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack.process import free_port, free_port_block

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "FRESHREC_STATE_DIR": str(tmp_path / "state"),
        "FRESHREC_KAFKA__PORT": str(free_port()),
        "FRESHREC_KAFKA__CONTROLLER_PORT": str(free_port()),
        "FRESHREC_KAFKA__HEAP": "512m",
        "FRESHREC_REDIS__PORT": str(free_port()),
    }
    yield env
    subprocess.run(["freshrec", "down"], env=env, capture_output=True)


def freshrec(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["freshrec", *args], env=env, capture_output=True, text=True, timeout=180)


def _pids(state: Path) -> list[int]:
    return [int(p.read_text().split()[0]) for p in state.rglob("*.pid")]


def test_up_status_replay_down(cli_env: dict[str, str]) -> None:
    up = freshrec(cli_env, "up")
    assert up.returncode == 0, up.stderr
    assert "kafka: started" in up.stdout and "redis: started" in up.stdout
    state = Path(cli_env["FRESHREC_STATE_DIR"])
    pids = _pids(state)
    assert len(pids) == 2

    status = freshrec(cli_env, "status")
    assert status.returncode == 0, status.stdout
    assert "Apache Kafka 4.4.0" in status.stdout and "Redis 7." in status.stdout
    assert f"127.0.0.1:{cli_env['FRESHREC_KAFKA__PORT']}" in status.stdout

    again = freshrec(cli_env, "up")
    assert again.returncode == 0 and "kafka: already running" in again.stdout and _pids(state) == pids

    replay = freshrec(cli_env, "replay", "taobao-head", "--topic", "clicks-cli")
    assert replay.returncode == 0, replay.stderr
    assert "replayed 4321 events" in replay.stdout
    count = freshrec(cli_env, "topics", "count", "clicks-cli")
    assert count.stdout.strip() == "clicks-cli: 4321 records"

    down = freshrec(cli_env, "down")
    assert "kafka: stopped" in down.stdout and "redis: stopped" in down.stdout
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
    assert freshrec(cli_env, "status").returncode == 1


def test_port_taken_is_a_clear_error(cli_env: dict[str, str]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(cli_env["FRESHREC_REDIS__PORT"])))
        squatter.listen()
        result = freshrec(cli_env, "up")
    assert result.returncode == 1
    assert f"port 127.0.0.1:{cli_env['FRESHREC_REDIS__PORT']} is taken" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with freshrec and redis-server but no java
    bin_dir.mkdir()
    for tool in ("freshrec", "redis-server"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = freshrec({**cli_env, "PATH": str(bin_dir)}, "up")
    assert result.returncode == 1
    assert "Java is not installed" in result.stderr and "Traceback" not in result.stderr


def test_up_secure_serves_only_authenticated_encrypted_clients(cli_env: dict[str, str]) -> None:
    """`up --secure --brokers 3` writes the clients' configuration (a cluster of three brokers); with it every command
    connects, without it none does; `down` stops every broker."""
    base = free_port_block(6)  # the brokers take every other port from it: base .. base + 5
    cli_env = {**cli_env, "FRESHREC_KAFKA__PORT": str(base), "FRESHREC_KAFKA__CONTROLLER_PORT": str(base + 1)}
    up = freshrec(cli_env, "up", "--secure", "--brokers", "3")
    assert up.returncode == 0, up.stderr
    config = Path(cli_env["FRESHREC_STATE_DIR"]) / "secure.yaml"
    assert f"FRESHREC_CONFIG={config}" in up.stdout and config.stat().st_mode & 0o777 == 0o600
    secured = {**cli_env, "FRESHREC_CONFIG": str(config)}
    status = freshrec(secured, "status")
    assert status.returncode == 0, status.stdout
    assert f"rediss://127.0.0.1:{cli_env['FRESHREC_REDIS__PORT']}" in status.stdout
    assert all(f"127.0.0.1:{base + 2 * i}" in status.stdout for i in range(3)) and "kafka-3 " in status.stdout
    replay = freshrec(secured, "replay", "taobao-head", "--topic", "clicks-secure")
    assert replay.returncode == 0 and "replayed 4321 events" in replay.stdout, replay.stderr
    assert freshrec(secured, "topics", "count", "clicks-secure").stdout.strip().endswith("4321 records")
    plain = freshrec(cli_env, "topics", "count", "clicks-secure")  # the plaintext settings: refused
    assert plain.returncode != 0
    again = freshrec(cli_env, "up", "--secure")  # the same users, certificates and brokers: nothing restarted
    assert again.returncode == 0 and "kafka: already running" in again.stdout
    down = freshrec(cli_env, "down")  # the plain settings (one broker) still stop all three
    assert down.returncode == 0 and "kafka: stopped" in down.stdout
    assert freshrec(secured, "status").returncode == 1


def test_up_redis_cluster_serves_every_command(cli_env: dict[str, str]) -> None:
    """`up --redis-cluster 3` runs three masters and a replica each; with FRESHREC_REDIS__CLUSTER=true the commands
    use it (Feast's registry applied, its online store a cluster); `down` stops every node."""
    base = free_port_block(12)  # six nodes and their cluster bus ports
    cli_env = {**cli_env, "FRESHREC_REDIS__PORT": str(base)}
    up = freshrec(cli_env, "up", "--redis-cluster", "3")
    assert up.returncode == 0, up.stderr
    assert "redis: started" in up.stdout and "FRESHREC_REDIS__CLUSTER=true" in up.stdout
    clustered = {**cli_env, "FRESHREC_REDIS__CLUSTER": "true"}
    status = freshrec(clustered, "status")
    assert status.returncode == 0, status.stdout
    assert all(f"redis-{i + 1} " in status.stdout and f"127.0.0.1:{base + i}" in status.stdout for i in range(6))
    apply = freshrec(clustered, "features", "apply")
    assert apply.returncode == 0, apply.stderr
    again = freshrec(clustered, "up")
    assert again.returncode == 0 and "redis: already running" in again.stdout
    down = freshrec(cli_env, "down")  # the plain settings: every node stops all the same
    assert "redis: stopped" in down.stdout
    assert freshrec(clustered, "status").returncode == 1
