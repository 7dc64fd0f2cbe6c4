"""The streaming path against a secured stack, as deployments run it: Kafka with SASL_SSL (SCRAM-SHA-512) and no
plaintext listener, Redis with TLS and an ACL user. Replay (librdkafka), the behavior job (the Kafka Java client of
the Flink connector) and the snapshot writer connect through the one typed configuration; every user's online
features equal the reference, whether the job's properties hold the password or, as on Kubernetes, only a reference
to a mounted Secret's file; plaintext and wrong-password clients are refused; no secret is in any process's arguments
or environment, nor in the servers' logs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from infra.config import KafkaSettings, RedisSettings, load_settings
from infra.jars import fetch
from infra.stack.kafka import kafka_roundtrip
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.replay import replay
from streaming.snapshot_writer import SnapshotWriter
from streaming.state.user_state import BehaviorState
from tests.fixtures.processes import arguments_and_environments
from tests.fixtures.secure import SecureStack

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(secure_stack: SecureStack, secure_redis: RedisSettings) -> tuple[KafkaSettings, RedisSettings]:
    return secure_stack.kafka, secure_redis


@pytest.mark.parametrize("secrets", ["inline", "mounted"])
def test_replay_job_and_writer_over_sasl_ssl_and_tls(stack: tuple[KafkaSettings, RedisSettings], datasets_dir: Path,
                                                     secrets: str, tmp_path: Path) -> None:  # fmt: skip
    kafka, redis_settings = stack
    connection = kafka.client_config()
    clicks, dlq, snapshots, updates = names = [f"{n}-{uuid.uuid4().hex[:6]}" for n in ("clicks", "dlq", "snap", "upd")]
    admin = AdminClient(connection)  # held: a collected client fails its futures
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in names]).values():
        future.result(30)
    source = load("taobao-head", datasets_dir)
    assert replay(source, clicks, connection).events == source.table.num_rows  # type: ignore[attr-defined]

    properties = kafka.java_properties()
    if secrets == "mounted":  # a Secret's files, as Kubernetes mounts a Strimzi KafkaUser's (infra/deploy/kafka.yaml)
        (tmp_path / "password").write_text(kafka.sasl_password.get_secret_value())  # type: ignore[union-attr]
        properties = kafka.java_properties(secrets_dir=tmp_path)
        assert all(kafka.sasl_password.get_secret_value() not in v for v in properties.values())  # type: ignore[union-attr]
    config = JobConfig(kafka.bootstrap_servers, clicks, dlq, snapshots, f"job-{clicks}", bounded=True,
                       stream=load_settings().stream, kafka_properties=properties)  # fmt: skip
    start(config, [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]).wait(300_000)
    client = redis_settings.client()
    SnapshotWriter(connection, OnlineWriter(client, USER_REALTIME), None, snapshots, updates,
                   group=f"writer-{clicks}").run(idle_stop_s=5)  # fmt: skip

    reference = BehaviorState(out_of_orderness_ms=config.stream.out_of_orderness_ms)
    reference.apply(source.table.to_pylist())  # type: ignore[attr-defined]
    reader = OnlineReader(client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    vectors = reader.read_many(sorted(reference.users))
    assert len(vectors) == len(reference.users) > 40
    for vector in vectors:
        want, got = reference.snapshot(vector.entity_id), vector["user_realtime"]
        assert got.status == "present" and got.version == want["version"]
        assert got.values["item_ids"].tolist() == want["item_ids"]


def test_plaintext_and_wrong_passwords_are_refused(stack: tuple[KafkaSettings, RedisSettings]) -> None:
    kafka, _ = stack
    assert kafka_roundtrip(kafka.client_config())
    assert not kafka_roundtrip(kafka.bootstrap_servers, timeout=3)  # no plaintext listener
    wrong = kafka.model_copy(update={"sasl_password": SecretStr("wrong")})
    assert not kafka_roundtrip(wrong.client_config(), timeout=3)


def test_no_secret_in_any_process_arguments_environment_or_log(secure_stack: SecureStack) -> None:
    shown = arguments_and_environments()
    logs = secure_stack.logs()
    assert shown and logs and len(secure_stack.secrets) == 2
    for secret in secure_stack.secrets:
        assert secret.encode() not in shown and secret.encode() not in logs
