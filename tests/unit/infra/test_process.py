from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack.kafka import cluster_id
from infra.stack.process import (
    ManagedProcess,
    PortInUseError,
    StackError,
    ensure_port_free,
    free_port,
    free_port_block,
)


def test_port_taken_gives_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is taken.*FRESHREC_KAFKA__PORT"):
            ensure_port_free("127.0.0.1", port, "Kafka", "FRESHREC_KAFKA__PORT")
    ensure_port_free("127.0.0.1", free_port(), "Kafka", "FRESHREC_KAFKA__PORT")


def test_start_and_stop_by_pid(tmp_path: Path) -> None:
    service = ManagedProcess("sleeper", tmp_path)
    pid = service.start([sys.executable, "-c", "import time; time.sleep(60)"])
    assert service.pid() == pid
    assert service.stop() is True
    assert service.pid() is None and not service.pid_file.exists()
    assert service.stop() is False


def test_never_signals_a_process_it_did_not_start(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        service = ManagedProcess("sleeper", tmp_path)
        service.pid_file.write_text(f"{stranger.pid} 1")  # right pid, wrong start time: a recycled pid
        assert service.pid() is None
        assert service.stop() is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_process_that_dies_while_starting_reports_its_log(tmp_path: Path) -> None:
    service = ManagedProcess("crasher", tmp_path)
    service.start([sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"])
    with pytest.raises(StackError, match="boom: bad config"):
        service.wait_until(lambda: False, timeout=10, what="ready")


def test_kafka_cluster_ids_never_read_as_options() -> None:
    ids = [cluster_id() for _ in range(5_000)]  # the old ids started with '-' once in 64
    assert all(len(i) == 22 and not i.startswith("-") for i in ids) and len(set(ids)) == len(ids)


def test_free_port_never_hands_out_the_same_port_twice() -> None:
    ports = [free_port() for _ in range(200)]  # the kernel often re-offers a just-released port
    assert len(set(ports)) == len(ports)


def test_port_blocks_are_free_disjoint_and_below_the_ephemeral_range() -> None:
    ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    bases = [free_port_block(6) for _ in range(50)]
    ports = [base + i for base in bases for i in range(6)]
    assert len(set(ports)) == len(ports) and max(ports) < ephemeral
    for port in ports[:12]:
        ensure_port_free("127.0.0.1", port, "test", "none")
