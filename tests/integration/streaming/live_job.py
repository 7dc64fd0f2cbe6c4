"""`freshrec stream run` as an operator runs it (its own process group, checkpoints on disk), for crash tests: start
it, kill -9 it, wait for what it committed or wrote."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from freshrec.testing.kafka import create_topics
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from infra.config import settings_environment


class LiveJob:
    """The behavior job and its writer on fresh topics (`partitions` each), checkpointing under `workdir`."""

    def __init__(self, name: str, kafka: KafkaEndpoint, redis: RedisEndpoint, workdir: Path, partitions: int = 2,
                 env: dict[str, str] | None = None, args: list[str] | None = None):  # fmt: skip
        self.bootstrap, self.workdir, self.partitions = kafka.bootstrap_servers, workdir, partitions
        self.topics = {"clicks": name, "dlq": f"{name}-dlq", "snap": f"{name}-snap", "upd": f"{name}-upd"}
        create_topics(self.bootstrap, list(self.topics.values()), partitions)
        host, port = self.bootstrap.rsplit(":", 1)
        topics = {"clicks": name, "dead_letter": self.topics["dlq"], "feature_updates": self.topics["upd"]}
        self.env = {**os.environ, **settings_environment(kafka={"host": host, "port": port},
                                                         redis={"host": redis.host, "port": redis.port},
                                                         topics=topics, feature_repo=workdir / "repo"), **(env or {})}  # fmt: skip
        self.group, self.checkpoints = f"job-{name}", workdir / "checkpoints"
        self.command = [str(Path(sys.executable).parent / "freshrec"), "stream", "run", "--group", self.group,
                        "--snapshot-topic", self.topics["snap"], "--checkpoint-dir", str(self.checkpoints),
                        *(args or [])]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.launches = 0

    def launch(self) -> None:
        self.launches += 1
        with open(self.log(self.launches), "w") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip

    def log(self, launch: int) -> Path:
        return self.workdir / f"run-{launch}.log"

    def stop(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 60, group: bool = True) -> int:
        """Signal the whole process group (the Flink mini-cluster's JVM included), or with `group=False` the command's
        own process only (as a supervisor does), and wait for the exit; returns its status."""
        assert self.process is not None
        os.killpg(self.process.pid, sig) if group else self.process.send_signal(sig)
        status = self.process.wait(timeout)
        self.process = None
        return status

    def committed(self) -> int:
        """Offsets the job committed on the clicks topic: it commits on each completed checkpoint."""
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        offsets = consumer.committed([TopicPartition(self.topics["clicks"], p) for p in range(self.partitions)],
                                     timeout=10)  # fmt: skip
        consumer.close()
        return sum(max(o.offset, 0) for o in offsets)

    def wait(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert self.process is None or self.process.poll() is None, f"the job exited while waiting for {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.5)
