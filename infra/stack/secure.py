"""The local stack secured as production runs it (`freshrec up --secure`): Kafka's client listener on SASL_SSL with
a SCRAM-SHA-512 user, Redis on TLS only with an ACL user (the default user off), certificates of a local CA.

The generated passwords and every client setting go to one configuration file in the state folder (mode 600): point
`FRESHREC_CONFIG` at it and every freshrec command connects the secured way; a second `up --secure` reuses it."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from infra.config import KafkaSettings, RedisSettings, Settings
from infra.stack.certs import LocalCertificates

USER = "freshrec"


def secure_config(settings: Settings) -> tuple[Settings, LocalCertificates, Path]:
    """`settings` with secured Kafka and Redis sections, the certificates, and the configuration file holding them
    (made once, then reused: the servers keep their users and clients their trust)."""
    certificates = LocalCertificates(settings.state_dir / "certs").ensure()
    path = settings.state_dir / "secure.yaml"
    if path.is_file():
        sections = yaml.safe_load(path.read_text())
    else:
        kafka = {**_plain(settings.kafka), "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                 "sasl_username": USER, "sasl_password": secrets.token_urlsafe(24), "ssl_ca_location": str(certificates.ca)}  # fmt: skip
        redis = {**_plain(settings.redis), "tls": True, "tls_ca": str(certificates.ca), "username": USER,
                 "password": secrets.token_urlsafe(24)}  # fmt: skip
        sections = {"kafka": kafka, "redis": redis, "state_dir": str(settings.state_dir)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("# freshrec up --secure: the local stack's secured clients (secrets: keep this file private)\n"
                        + yaml.safe_dump(sections, sort_keys=False))  # fmt: skip
    secured = settings.model_copy(update={"kafka": KafkaSettings(**sections["kafka"]),
                                          "redis": RedisSettings(**sections["redis"])})  # fmt: skip
    return secured, certificates, path


def _plain(section: KafkaSettings | RedisSettings) -> dict:
    """The section's where and how much (host, ports, brokers, memory), without any security setting."""
    keep = {"host", "port", "controller_port", "brokers", "heap", "partitions", "socket_timeout_s", "connect_timeout_s", "maxmemory",
            "cluster", "cluster_masters", "cluster_replicas", "cluster_node_timeout_ms"}
    return {k: v for k, v in section.model_dump(mode="json").items() if k in keep}
