"""The whole local stack as one unit: `up` is idempotent, `down` stops only what it started, `status` tells the truth."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import Settings
from infra.jars import BUNDLES, fetch
from infra.stack.certs import LocalCertificates
from infra.stack.kafka import LocalKafka, local_kafka
from infra.stack.process import ManagedProcess
from infra.stack.redis import LocalRedis, LocalRedisCluster, local_redis


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    address: str
    version: str | None = None
    pid: int | None = None
    detail: str = ""


class LocalStack:
    def __init__(self, settings: Settings, certificates: LocalCertificates | None = None) -> None:
        """`certificates`: the local CA's, for a secured stack (`infra.stack.secure`)."""
        self.settings = settings
        self.kafka = local_kafka(settings.kafka, settings.state_dir, settings.cache_dir, certificates)
        self.redis = local_redis(settings.redis, settings.state_dir, certificates)

    @staticmethod
    def _broker(node: LocalKafka) -> ServiceStatus:
        pid = node.process.pid()
        version = node.version() if pid else None
        return ServiceStatus(node.process.name, pid is not None, node.bootstrap_servers,
                             f"Apache Kafka {version}" if version else None, pid, str(node.process.log_file))  # fmt: skip

    def up(self) -> dict[str, bool]:
        """Fetch jars, start Redis and Kafka, return {service: started now}; a second call starts nothing."""
        for bundle in BUNDLES:
            fetch(bundle, self.settings.cache_dir)
        return {"redis": self.redis.start(), "kafka": self.kafka.start()}

    def down(self) -> dict[str, bool]:
        """Stop what this state directory started; {service: was running}. Every broker and Redis node a cluster's
        `up` started stops too, whatever `kafka.brokers` and `redis.cluster` say now."""
        state = self.settings.state_dir
        brokers = [self.kafka.stop(), *(ManagedProcess(pid.stem, pid.parent).stop() for pid in state.glob("kafka-*/kafka-*.pid"))]
        redis = [self.redis.stop(), *(ManagedProcess(pid.stem, pid.parent).stop() for pid in state.glob("redis-*/redis-*.pid"))]
        return {"kafka": any(brokers), "redis": any(redis)}

    @staticmethod
    def _redis(node: LocalRedis) -> ServiceStatus:
        pid = node.process.pid()
        version = node.version() if pid else None
        return ServiceStatus(node.process.name, pid is not None, node.url, f"Redis {version}" if version else None, pid,
                             str(node.process.log_file))  # fmt: skip

    def status(self) -> list[ServiceStatus]:
        connectors = BUNDLES["flink-connectors"].directory(self.settings.cache_dir)
        jars = sorted(p.name for p in connectors.glob("*.jar"))
        return [
            *(self._broker(node) for node in self.kafka.nodes),
            *(self._redis(node) for node in (self.redis.nodes if isinstance(self.redis, LocalRedisCluster) else [self.redis])),
            ServiceStatus(
                "flink-connectors", (connectors / ".verified").is_file(), str(connectors),
                ", ".join(jars) or None, None, "jars for PyFlink jobs (pipeline.jars)",
            ),
        ]  # fmt: skip
