"""Real Apache Kafka brokers in KRaft mode (each a combined broker + controller), run from the verified Maven Central
jars: one broker, or a cluster of several on local ports (`LocalKafkaCluster`) with a controller quorum of all of them,
topics replicated to three brokers by default and acknowledged by two."""

from __future__ import annotations

import base64
import re
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from infra.config import KafkaSettings
from infra.jars import classpath, fetch
from infra.stack.certs import LocalCertificates
from infra.stack.process import ManagedProcess, StackError, ensure_port_free
from schemas.kafka_client import Connection, client_config, servers

HEALTH_TOPIC = "__freshrec_health"
_VERSION_LINE = re.compile(r"Kafka version: (\S+)")

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = warn
"""


def cluster_id() -> str:
    """A random KRaft cluster id, never starting with '-' (as Kafka's Uuid.randomUuid): the storage tool's argument
    parser would read it as an option, one start in 64."""
    while (candidate := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return candidate


@dataclass
class LocalKafka:
    settings: KafkaSettings
    state_dir: Path
    cache_dir: Path
    certificates: LocalCertificates | None = None
    """The broker's TLS certificate and CA: required with `settings.security_protocol` SASL_SSL (`up --secure`)."""
    node_id: int = 1
    voters: str | None = None
    """The controller quorum (`controller.quorum.voters`: ID@HOST:PORT,...) of a cluster; None: this broker alone."""
    cluster: str | None = None
    """The cluster id a member of a cluster formats its storage with (all members share it); None: a new one."""

    def __post_init__(self) -> None:
        name = "kafka" if self.node_id == 1 else f"kafka-{self.node_id}"
        self.home = self.state_dir / name
        self.process = ManagedProcess(name, self.home)

    @property
    def nodes(self) -> list[LocalKafka]:
        return [self]

    @property
    def replication(self) -> int:
        """Replicas of every topic by default (the internal ones included): all brokers, up to three."""
        return min(3, len(self.voters.split(","))) if self.voters else 1

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.bootstrap_servers

    def start(self, timeout: float = 90.0) -> bool:
        """Start and wait until a client can produce and read; False if it was already running."""
        started = self.launch()
        self.wait_healthy(timeout)
        return started

    def launch(self) -> bool:
        """Start the process without waiting (a cluster's member serves only once a quorum runs); False if running."""
        if self.process.pid() is not None:
            return False
        java = _java()
        s = self.settings
        ensure_port_free(s.host, s.port, "Kafka", "FRESHREC_KAFKA__PORT")
        ensure_port_free(s.host, s.controller_port, "Kafka controller", "FRESHREC_KAFKA__CONTROLLER_PORT")
        jars = classpath(fetch("kafka-broker", self.cache_dir))
        props = self._write_config()
        scram = self.home / "data" / ".scram-user"
        if not (self.home / "data" / "meta.properties").is_file():
            self._format(java, jars, props)
            if s.sasl_mechanism:
                scram.write_text(f"{s.sasl_mechanism} {s.sasl_username}\n")
        elif s.sasl_mechanism and not scram.is_file():
            raise StackError(f"the broker's data in {self.home} was formatted without SASL users (a plain `up`): "
                             "`freshrec down`, then remove that folder or use another state_dir")  # fmt: skip
        self.process.start(
            [java, f"-Xmx{s.heap}", "-XX:+UseG1GC", f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
             "-cp", jars, "kafka.Kafka", str(props)]
        )  # fmt: skip
        return True

    def stop(self) -> bool:
        return self.process.stop()

    def wait_healthy(self, timeout: float) -> None:
        self.process.wait_until(self.healthy, timeout, "accepting produce and fetch")

    def healthy(self) -> bool:
        """Round-trip one message through the broker: metadata alone can answer before the broker serves data."""
        return kafka_roundtrip(self.settings.client_config())

    def version(self) -> str | None:
        try:
            found = _VERSION_LINE.findall(self.process.log_file.read_text(errors="replace"))
        except FileNotFoundError:
            return None
        return found[-1] if found else None

    def _write_config(self) -> Path:
        """The broker's properties, in a file readable by this user only (with SASL it holds the broker's own
        credentials)."""
        s = self.settings
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j2.properties").write_text(_LOG4J2)
        props = self.home / "server.properties"
        props.touch(mode=0o600)
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={self.node_id}",
                    f"controller.quorum.voters={self.voters or f'{self.node_id}@{s.host}:{s.controller_port}'}",
                    f"listeners={s.security_protocol}://{s.host}:{s.port},CONTROLLER://{s.host}:{s.controller_port}",
                    f"advertised.listeners={s.security_protocol}://{s.host}:{s.port}",
                    "controller.listener.names=CONTROLLER",
                    f"inter.broker.listener.name={s.security_protocol}",
                    f"listener.security.protocol.map=CONTROLLER:PLAINTEXT,{s.security_protocol}:{s.security_protocol}",
                    *self._security(),
                    f"log.dirs={self.home / 'data'}",
                    f"num.partitions={s.partitions}",
                    f"default.replication.factor={self.replication}",
                    f"min.insync.replicas={min(2, self.replication)}",
                    f"offsets.topic.replication.factor={self.replication}",
                    f"transaction.state.log.replication.factor={self.replication}",
                    f"transaction.state.log.min.isr={min(2, self.replication)}",
                    f"share.coordinator.state.topic.replication.factor={self.replication}",
                    f"share.coordinator.state.topic.min.isr={min(2, self.replication)}",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                ]
            )
            + "\n"
        )
        return props

    def _security(self) -> list[str]:
        """The client listener's TLS and SASL (the local stack: SASL_SSL with SCRAM-SHA-512, `up --secure`); the
        controller listener stays on loopback, plaintext."""
        s = self.settings
        if s.security_protocol == "PLAINTEXT":
            return []
        if s.security_protocol != "SASL_SSL" or s.sasl_mechanism not in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            raise StackError("the local broker secures with SASL_SSL and SCRAM only (kafka.security_protocol, "
                             "kafka.sasl_mechanism)")  # fmt: skip
        if self.certificates is None:
            raise StackError("kafka.security_protocol SASL_SSL needs the local stack's certificates (freshrec up --secure)")
        c = self.certificates
        keystore = self.home / "server-keystore.pem"  # Kafka's PEM key store: the private key, then the chain
        keystore.touch(mode=0o600)
        keystore.write_text(c.server_key.read_text() + c.server_cert.read_text())
        password = s.sasl_password.get_secret_value() if s.sasl_password else ""
        login = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{s.sasl_username}" password="{password}";'
        return [f"sasl.enabled.mechanisms={s.sasl_mechanism}", f"sasl.mechanism.inter.broker.protocol={s.sasl_mechanism}",
                f"listener.name.sasl_ssl.{s.sasl_mechanism.lower()}.sasl.jaas.config={login}",
                "ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}",
                "ssl.truststore.type=PEM", f"ssl.truststore.location={c.ca}", "ssl.client.auth=none"]  # fmt: skip

    def _format(self, java: str, jars: str, props: Path) -> None:
        cmd = [java, "-cp", jars, "kafka.tools.StorageTool", "format", "-t", self.cluster or cluster_id(), "-c", str(props)]
        s = self.settings
        if s.sasl_mechanism and s.sasl_password:  # the SCRAM user, stored in the metadata log from the start
            cmd += ["--add-scram", f"{s.sasl_mechanism}=[name={s.sasl_username},password={s.sasl_password.get_secret_value()}]"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{result.stdout}\n{result.stderr}")


@dataclass
class LocalKafkaCluster:
    """`settings.brokers` local brokers, one controller quorum of all of them, on every other port from
    `settings.port` (and from `settings.controller_port`: with the defaults 9092, 9094, 9096 and controllers 9093,
    9095, 9097); clients bootstrap from every broker (`KafkaSettings.bootstrap_servers`)."""

    settings: KafkaSettings
    state_dir: Path
    cache_dir: Path
    certificates: LocalCertificates | None = None

    def __post_init__(self) -> None:
        s = self.settings
        voters = ",".join(f"{i + 1}@{s.host}:{s.controller_port + 2 * i}" for i in range(s.brokers))
        marker = self.state_dir / "kafka" / ".cluster-id"  # formatted once, by every member with the same id
        marker.parent.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            marker.write_text(cluster_id())
        self.nodes = [LocalKafka(s.model_copy(update={"port": s.port + 2 * i, "controller_port": s.controller_port + 2 * i,
                                                      "brokers": 1}),
                                 self.state_dir, self.cache_dir, self.certificates, node_id=i + 1, voters=voters,
                                 cluster=marker.read_text().strip()) for i in range(s.brokers)]  # fmt: skip

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.bootstrap_servers

    def start(self, timeout: float = 120.0) -> bool:
        """Start every broker, then wait until each serves; False if all were running."""
        launched = [n.launch() for n in self.nodes]
        for node in self.nodes:
            node.wait_healthy(timeout)
        return any(launched)

    def stop(self) -> bool:
        return any([n.stop() for n in self.nodes])


def local_kafka(settings: KafkaSettings, state_dir: Path, cache_dir: Path,
                certificates: LocalCertificates | None = None) -> LocalKafka | LocalKafkaCluster:  # fmt: skip
    """The local broker, or the local cluster when `settings.brokers` > 1."""
    if settings.brokers > 1:
        return LocalKafkaCluster(settings, state_dir, cache_dir, certificates)
    return LocalKafka(settings, state_dir, cache_dir, certificates)


def kafka_roundtrip(kafka: Connection, timeout: float = 5.0) -> bool:
    """Produce one message to the health topic and read it back at its offset; False on any failure."""
    host, _, port = servers(kafka).partition(",")[0].rpartition(":")
    try:  # until the port opens, skip the clients (librdkafka would log a connection error every 50 ms)
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    try:
        if not AdminClient(client_config(kafka, {"log_level": 0})).list_topics(timeout=timeout).brokers:
            return False
        token = uuid.uuid4().hex.encode()
        delivered: list[int] = []
        # Idempotent like every freshrec producer: healthy means producer ids are served too. Quiet while it retries.
        producer = Producer(client_config(kafka, {"enable.idempotence": True, "log_level": 0}))
        producer.produce(HEALTH_TOPIC, token, partition=0, on_delivery=lambda e, m: e or delivered.append(m.offset()))
        if producer.flush(timeout) or not delivered:
            return False
        consumer = Consumer(client_config(kafka, {"group.id": "freshrec-health", "enable.auto.commit": False,
                                                  "log_level": 0}))  # fmt: skip
        try:
            consumer.assign([TopicPartition(HEALTH_TOPIC, 0, delivered[0])])
            message = consumer.poll(timeout)
            return message is not None and message.error() is None and message.value() == token
        finally:
            consumer.close()
    except KafkaException:
        return False


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise StackError("Java is not installed (Kafka needs Java 17+): run scripts/setup.sh or `apt-get install openjdk-17-jre-headless`")
    return java
