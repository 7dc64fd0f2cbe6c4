"""The test services answer on 127.0.0.1 and on no other address of this machine, whichever backend started them:
containers publish their ports on loopback only (Flink's run on the host's network and bind it), local processes bind
it."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from freshrec.testing.flink import FlinkEndpoint, choose_flink_backend, flink_service, session_settings
from freshrec.testing.services import LOOPBACK, KafkaEndpoint, RedisEndpoint

pytestmark = pytest.mark.integration


def _outward_address() -> str | None:
    """This machine's address on its default route (a UDP connect only picks the route; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:  # no route beyond this machine
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_services_answer_on_loopback_only(kafka: KafkaEndpoint, redis_server: RedisEndpoint) -> None:
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback to try the services' ports on")
    ports = {"kafka": int(kafka.bootstrap_servers.rsplit(":", 1)[1]), "redis": redis_server.port}
    for name, port in ports.items():
        assert _answers(LOOPBACK, port), f"{name} does not answer on {LOOPBACK}:{port}"
        assert not _answers(address, port), f"{name} answers on {address}:{port}, beyond this machine"


def _descendants(pids: tuple[int, ...]) -> set[int]:
    assert pids and all(pid > 0 for pid in pids), pids  # 0 would stand for every process
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # a process that ended meanwhile
            continue
    found, frontier = set(pids), set(pids)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _listening(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the processes listen on (`ss`, which names each socket's owners)."""
    lines = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    sockets = set()
    for line in lines:
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            address, _, port = line.split()[3].rpartition(":")
            sockets.add((address.strip("[]").removeprefix("::ffff:"), int(port)))
    return sockets


def test_flink_listens_on_loopback_only_but_for_its_metrics(flink_cluster: FlinkEndpoint) -> None:
    """Every port the JobManager and the TaskManagers open (REST, RPC, blob server, data exchange) is bound to
    127.0.0.1, whichever backend runs them; only the Prometheus reporter's, which Flink gives no bind address, are
    not (one per JVM, among the configured ones; this suite turns the reporter on, the plugin's default is off)."""
    settings = flink_cluster.settings
    sockets = _listening(_descendants(flink_cluster.pids))
    assert (LOOPBACK, settings.rest_port) in sockets and (LOOPBACK, settings.rpc_port) in sockets
    elsewhere = {port for address, port in sockets if address != LOOPBACK}
    metrics = {int(port) for port in (settings.metrics_ports or "").split(",") if port}
    assert elsewhere <= metrics and len(elsewhere) == (1 + settings.taskmanagers if metrics else 0), sorted(sockets)
    assert len(sockets) > len(elsewhere) + 2, sorted(sockets)  # the blob server and the TaskManagers' own ports too


def test_the_plugins_flink_cluster_listens_on_loopback_only(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The plugin's default shape (no metrics reporter): not one port beyond 127.0.0.1."""
    backend, settings = choose_flink_backend().name, session_settings(taskmanagers=1)
    workdir = tmp_path_factory.mktemp("flink-default")
    with flink_service(backend, settings, workdir, [tmp_path_factory.getbasetemp()]) as cluster:
        sockets = _listening(_descendants(cluster.pids))
    assert (LOOPBACK, settings.rest_port) in sockets and {address for address, _ in sockets} == {LOOPBACK}, sorted(sockets)
