"""How freshrec's Kafka clients connect: one set of connection properties (librdkafka's names: `bootstrap.servers`,
`security.protocol`, SASL, TLS), built once from the typed settings (`infra.config.KafkaSettings.client_config`) and
merged into each client's own properties. A plain "host:port" stands for an unsecured cluster (the local stack,
tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Connection = str | Mapping[str, str]
"""Bootstrap servers, or the whole set of connection properties."""


def client_config(connection: Connection, own: Mapping[str, Any]) -> dict[str, Any]:
    """A client's properties: its `own` (group, acks, timeouts) and the connection's."""
    properties = {"bootstrap.servers": connection} if isinstance(connection, str) else dict(connection)
    clash = sorted(set(own) & set(properties))
    if clash:
        raise ValueError(f"connection properties may not set a client's own {clash}")
    return {**own, **properties}


def servers(connection: Connection) -> str:
    """The bootstrap servers of a connection."""
    return connection if isinstance(connection, str) else connection["bootstrap.servers"]
