"""The one typed Kafka configuration, mapped once to librdkafka (the Python clients) and once to the Kafka Java
client of the Flink job: SASL (PLAIN, SCRAM, OAUTHBEARER), TLS and mutual TLS, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.config import KafkaSettings
from infra.stack.kafka import LocalKafka, LocalKafkaCluster, local_kafka
from schemas.kafka_client import client_config
from streaming.jobs.behavior_job import JobConfig, read_properties

SHADED = "org.apache.flink.kafka.shaded.org.apache.kafka.common.security"


def test_plaintext_is_the_bootstrap_servers_alone() -> None:
    local = KafkaSettings()
    assert local.client_config() == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}
    assert local.java_properties() == {"security.protocol": "PLAINTEXT"}
    assert KafkaSettings(servers="a:9093,b:9093").bootstrap_servers == "a:9093,b:9093"


def test_scram_over_tls_in_both_clients(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    kafka = KafkaSettings(servers="k:9093", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                          sasl_username="freshrec", sasl_password='pa"ss\\word', ssl_ca_location=ca,
                          properties={"client.id": "freshrec"})  # fmt: skip
    assert kafka.client_config() == {
        "bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "freshrec", "sasl.password": 'pa"ss\\word', "ssl.ca.location": str(ca), "client.id": "freshrec",
    }  # fmt: skip
    java = kafka.java_properties()
    assert java["sasl.mechanism"] == "SCRAM-SHA-512" and java["security.protocol"] == "SASL_SSL"
    assert java["sasl.jaas.config"] == (f'{SHADED}.scram.ScramLoginModule required username="freshrec" '
                                        'password="pa\\"ss\\\\word";')  # fmt: skip
    assert (java["ssl.truststore.type"], java["ssl.truststore.location"]) == ("PEM", str(ca))
    assert "ss\\" not in repr(kafka) and "ss\\" not in kafka.model_dump_json()  # the secret is never printed


def test_oauthbearer_client_credentials() -> None:
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="OAUTHBEARER",
                          oauth_token_endpoint="https://idp/token", oauth_client_id="svc", oauth_client_secret="s",
                          oauth_scope="kafka")  # fmt: skip
    rdkafka = kafka.client_config()
    assert (rdkafka["sasl.oauthbearer.method"], rdkafka["sasl.oauthbearer.client.secret"]) == ("oidc", "s")
    java = kafka.java_properties()
    assert java["sasl.login.callback.handler.class"] == f"{SHADED}.oauthbearer.OAuthBearerLoginCallbackHandler"
    assert java["sasl.jaas.config"] == (f'{SHADED}.oauthbearer.OAuthBearerLoginModule required clientId="svc" '
                                        'clientSecret="s" scope="kafka";')  # fmt: skip


def test_mutual_tls_gives_the_java_client_an_inline_pem_key_store(tmp_path: Path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    kafka = KafkaSettings(security_protocol="SSL", ssl_certificate_location=cert, ssl_key_location=key)
    assert kafka.client_config()["ssl.key.location"] == str(key)
    java = kafka.java_properties()
    assert (java["ssl.keystore.type"], java["ssl.keystore.key"]) == ("PEM", key.read_text())


@pytest.mark.parametrize("fields", [
    {"security_protocol": "SASL_SSL"},  # no mechanism
    {"sasl_mechanism": "PLAIN"},  # a mechanism without SASL
    {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": "u"},  # no password
    {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"},  # no client credentials
    {"security_protocol": "SSL", "ssl_key_location": "k.pem"},  # a key without its certificate
])  # fmt: skip
def test_incomplete_security_is_refused_at_load(fields: dict) -> None:
    with pytest.raises(ValidationError):
        KafkaSettings(**fields)


def test_every_client_gets_the_connection_and_keeps_its_own_properties() -> None:
    connection = KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u",
                               sasl_password="p").client_config()  # fmt: skip
    merged = client_config(connection, {"group.id": "g"})
    assert merged["group.id"] == "g" and merged["sasl.password"] == "p"
    assert client_config("h:1", {"group.id": "g"}) == {"bootstrap.servers": "h:1", "group.id": "g"}
    with pytest.raises(ValueError, match="group.id"):
        client_config({**connection, "group.id": "other"}, {"group.id": "g"})


def test_the_job_gets_the_java_properties_as_kafka_options(tmp_path: Path) -> None:
    java = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="u",
                         sasl_password="p").java_properties()  # fmt: skip
    options = JobConfig("k:9093", kafka_properties=java).jvm_options()
    assert {name.removeprefix("kafka."): v for name, v in options.items() if name.startswith("kafka.")} == java
    file = tmp_path / "kafka.properties"  # the Kubernetes route: a mounted Secret, not the command line
    file.write_text("# from a Secret\nsecurity.protocol=SASL_SSL\n\nsasl.jaas.config=a required b=\"c=d\";\n")
    assert read_properties(file) == {"security.protocol": "SASL_SSL", "sasl.jaas.config": 'a required b="c=d";'}


def test_a_local_cluster_is_one_quorum_and_clients_bootstrap_from_every_broker(tmp_path: Path) -> None:
    settings = KafkaSettings(port=9092, controller_port=9093, brokers=3)
    assert settings.bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    cluster = local_kafka(settings, tmp_path, tmp_path)
    assert isinstance(cluster, LocalKafkaCluster) and cluster.bootstrap_servers == settings.bootstrap_servers
    configs = [dict(line.split("=", 1) for line in n._write_config().read_text().splitlines()) for n in cluster.nodes]
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["controller.quorum.voters"] for c in configs} == {"1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"}
    assert [c["listeners"].split(",")[0] for c in configs] == [f"PLAINTEXT://127.0.0.1:{p}" for p in (9092, 9094, 9096)]
    assert all(c["default.replication.factor"] == c["offsets.topic.replication.factor"] == "3" for c in configs)
    assert all(c["min.insync.replicas"] == "2" for c in configs)
    assert len({n.cluster for n in cluster.nodes}) == 1 and len({n.home for n in cluster.nodes}) == 3
    single = local_kafka(KafkaSettings(), tmp_path, tmp_path)
    assert isinstance(single, LocalKafka) and single.replication == 1
