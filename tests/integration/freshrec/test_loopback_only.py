"""The test services answer on 127.0.0.1 and on no other address of this machine, whichever backend started them:
containers publish their ports on loopback only, local processes bind it."""

from __future__ import annotations

import socket

import pytest

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
