"""A test's view of freshrec on the session's Kafka and Redis: a private, applied Feast repository, the online store,
and the behaviour job run bounded over click events the test produces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.store import apply, copy_repo, open_store
from feature_store.views import ITEM, USER_INTENT, USER_REALTIME, ViewSpec
from freshrec.testing.kafka import create_topics, ordered_producer, unique_topic
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from infra.config import KafkaSettings, RedisSettings, Settings, settings_environment
from schemas.codec import AvroCodec

if TYPE_CHECKING:
    from feast import FeatureStore, FeatureView

JOB_TIMEOUT_S = 600.0
"""A bounded run's start (~20 s), its work, and its quiet period before it stops (20 s): minutes at most in tests."""


class FreshrecStack:
    """The session's services with Redis emptied and a private copy of freshrec's Feast repository (own registry and
    offline store under `workdir`) applied on them."""

    def __init__(self, kafka: KafkaEndpoint, redis_endpoint: RedisEndpoint, workdir: Path) -> None:
        self.kafka, self.redis, self.workdir = kafka, redis_endpoint, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.client = redis.Redis(host=redis_endpoint.host, port=redis_endpoint.port)
        self.client.flushdb()
        self.repo = copy_repo(workdir / "repo")
        apply(self.store)

    @cached_property
    def store(self) -> FeatureStore:
        """Feast on the repository copy, its online store this Redis."""
        return open_store(self.repo, f"{self.redis.host}:{self.redis.port}")

    def apply(self, *objects: Any) -> None:
        """Register Feast objects of your own (feature views, on-demand views, entities) beside freshrec's."""
        self.store.apply(list(objects))

    def feature_view(self, name: str) -> FeatureView:
        """A registered feature view (freshrec's `user_realtime`, `user_intent`, `item`), e.g. as your view's source."""
        return self.store.get_feature_view(name)

    def reader(self, *views: ViewSpec) -> OnlineReader:
        """freshrec's online reader (what the ranking API reads with) of `views`, default all three."""
        return OnlineReader(self.client, views or (USER_REALTIME, USER_INTENT, ITEM))

    def writer(self, view: ViewSpec) -> OnlineWriter:
        """freshrec's online writer of `view`: Feast's layout, versions checked, a row at a time or in batches."""
        return OnlineWriter(self.client, view)

    @property
    def settings(self) -> Settings:
        """freshrec's settings pointing at this stack, for calling freshrec's own code in the test process."""
        host, port = self.kafka.bootstrap_servers.split(",")[0].rsplit(":", 1)
        return Settings(kafka=KafkaSettings(host=host, port=int(port)),
                        redis=RedisSettings(host=self.redis.host, port=self.redis.port),
                        feature_repo=self.repo, state_dir=self.workdir / "state", models_dir=self.workdir / "models")  # fmt: skip

    def environment(self, **topics: str) -> dict[str, str]:
        """The same as `FRESHREC_*` variables, for the `freshrec` command; `topics` override topic names
        (`clicks=...`)."""
        s = self.settings
        return settings_environment(kafka={"host": s.kafka.host, "port": s.kafka.port},
                                    redis={"host": s.redis.host, "port": s.redis.port}, feature_repo=s.feature_repo,
                                    state_dir=s.state_dir, models_dir=s.models_dir, topics=topics)  # fmt: skip

    def produce_clicks(self, topic: str, events: Iterable[Mapping[str, Any]]) -> int:
        """Click events (`click_event` fields) to `topic`, Avro as the job reads them, keyed by user, in order;
        returns how many."""
        codec, producer, count = AvroCodec("click_event"), ordered_producer(self.kafka.bootstrap_servers), 0
        for event in events:
            producer.produce(topic, codec.encode(event), str(event["user_id"]).encode())
            producer.poll(0)
            count += 1
        if producer.flush(60):
            raise RuntimeError(f"clicks not delivered to {topic} within 60 s")
        return count

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class JobRun:
    topics: dict[str, str]
    """The run's own topics: clicks, dead_letter, snapshots, feature_updates."""
    produced: int
    output: str
    """What `freshrec stream run --bounded` printed (its summary last)."""


class BehaviorJob:
    """freshrec's behaviour job (Flink) and snapshot writer on the stack, as `freshrec stream run --bounded` runs them:
    each `run` on new topics and with its own checkpoints, so runs in one test do not see each other's clicks but do
    share the online store."""

    def __init__(self, stack: FreshrecStack) -> None:
        self.stack = stack

    def run(self, events: Iterable[Mapping[str, Any]], args: Sequence[str] = (), timeout_s: float = JOB_TIMEOUT_S) -> JobRun:
        """Produce `events`, then run the job until they are all applied (or dead-lettered) and written to the online
        store; raises with the command's output if it fails."""
        clicks = unique_topic("clicks")
        topics = {"clicks": clicks, "dead_letter": f"{clicks}-dlq", "snapshots": f"{clicks}-snap",
                  "feature_updates": f"{clicks}-upd"}  # fmt: skip
        create_topics(self.stack.kafka.bootstrap_servers, list(topics.values()))
        produced = self.stack.produce_clicks(clicks, events)
        env = os.environ | self.stack.environment(clicks=clicks, dead_letter=topics["dead_letter"],
                                                  feature_updates=topics["feature_updates"])  # fmt: skip
        command = [_freshrec(), "stream", "run", "--bounded", "--group", f"job-{clicks}",
                   "--snapshot-topic", topics["snapshots"],
                   "--checkpoint-dir", str(self.stack.workdir / "checkpoints" / clicks), *args]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` exited {done.returncode}:\n{output[-4000:]}")
        return JobRun(topics, produced, output)


def _freshrec() -> str:
    """The `freshrec` command of the running interpreter's environment (a virtualenv need not be on PATH)."""
    beside = Path(sys.executable).parent / "freshrec"
    found = str(beside) if beside.exists() else shutil.which("freshrec")
    if found is None:
        raise RuntimeError("the `freshrec` command is not installed in this environment")
    return found
