"""freshrec's pytest plugin: real Kafka, Redis, the Feast repository, the behaviour job and the ranking API for a
data engineer's own tests (docs/testing.md).

`pytest -p freshrec.testing`; installing freshrec also registers it as the `pytest11` entry point of that name, so
pytest loads it by itself. Nothing starts until a test asks: the services once per session, on the backend
`FRESHREC_TEST_SERVICES` chooses (docker, local or auto; `freshrec.testing.services`), which the header names.

Fixtures:
- `freshrec_kafka`, `freshrec_redis` (session): the endpoints.
- `freshrec_topic`: a new two-partition topic.
- `freshrec_flink` (session): a Flink session cluster (a JobManager, two TaskManagers of two slots) for jobs of your
  own; in containers or as local processes like the other services (`freshrec.testing.flink`); its shape is the
  `freshrec_flink_settings` fixture's.
- `freshrec_stack`: the session's services with Redis emptied and a private copy of freshrec's Feast repository applied
  on them (`FreshrecStack`: the FeatureStore, online reader/writer, settings for freshrec's own code).
- `freshrec_job`: runs the behaviour job bounded over produced click events until every one is applied.
- `freshrec_model_dir` (session): the model the API serves: a tiny random one; override it with yours.
- `freshrec_api`: the ranking API on that model and the stack's Redis, and a client for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from freshrec.testing.api import RankingClient, serve_ranking_api
from freshrec.testing.flink import FlinkEndpoint, choose_flink_backend, flink_service, session_settings
from freshrec.testing.kafka import create_topics, unique_topic
from freshrec.testing.services import (
    Backend,
    KafkaEndpoint,
    RedisEndpoint,
    choose_backend,
    kafka_service,
    redis_service,
)
from freshrec.testing.stack import BehaviorJob, FreshrecStack, JobRun
from infra.config import FlinkSettings

__all__ = ["BehaviorJob", "FlinkEndpoint", "FreshrecStack", "JobRun", "KafkaEndpoint", "RankingClient", "RedisEndpoint",
           "SERVICES_USED"]  # fmt: skip

SERVICES_USED: list[str] = []
"""One line per service this session started, printed at the end of the run."""


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        choose_backend()
    except (RuntimeError, ValueError) as exc:  # a forced backend that cannot run, or a misspelt one: say so, run nothing
        pytest.exit(f"freshrec service backend: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_report_header(config: pytest.Config) -> str:
    backend = choose_backend()
    return f"freshrec service backend: {backend.name} ({backend.why})"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    if SERVICES_USED:
        terminalreporter.section("freshrec services used")
        for line in SERVICES_USED:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def freshrec_backend() -> Backend:
    return choose_backend()


@pytest.fixture(scope="session")
def freshrec_kafka(freshrec_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaEndpoint]:
    with kafka_service(freshrec_backend.name, tmp_path_factory.mktemp("kafka")) as endpoint:
        SERVICES_USED.append(f"kafka: {endpoint.version} at {endpoint.bootstrap_servers} [{endpoint.backend}]")
        yield endpoint


@pytest.fixture(scope="session")
def freshrec_redis(freshrec_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisEndpoint]:
    with redis_service(freshrec_backend.name, tmp_path_factory.mktemp("redis")) as endpoint:
        SERVICES_USED.append(f"redis: {endpoint.version} at {endpoint.host}:{endpoint.port} [{endpoint.backend}]")
        yield endpoint


@pytest.fixture(scope="session")
def freshrec_flink_settings() -> FlinkSettings:
    """The session cluster's settings: free ports, two TaskManagers, no metrics reporter. Override it for another
    shape (`session_settings(metrics=True)`: Prometheus metrics, which listen on every address)."""
    return session_settings()


@pytest.fixture(scope="session")
def freshrec_flink(freshrec_flink_settings: FlinkSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlinkEndpoint]:
    """Jobs submitted here may write under the session's temporary folders (`tmp_path`): the cluster reaches them."""
    backend = choose_flink_backend()
    shared, workdir = [tmp_path_factory.getbasetemp()], tmp_path_factory.mktemp("flink")
    with flink_service(backend.name, freshrec_flink_settings, workdir, shared) as endpoint:
        line = f"flink: {endpoint.version} session cluster at {endpoint.jobmanager} [{endpoint.backend}]"
        SERVICES_USED.append(line if backend.name == choose_backend().name else f"{line} ({backend.why})")
        yield endpoint


@pytest.fixture
def freshrec_topic(freshrec_kafka: KafkaEndpoint, request: pytest.FixtureRequest) -> str:
    """A new two-partition topic named after the test, unique per run."""
    name = unique_topic(f"t-{request.node.name}")
    create_topics(freshrec_kafka.bootstrap_servers, [name])
    return name


@pytest.fixture
def freshrec_stack(freshrec_kafka: KafkaEndpoint, freshrec_redis: RedisEndpoint, tmp_path: Path) -> Iterator[FreshrecStack]:
    stack = FreshrecStack(freshrec_kafka, freshrec_redis, tmp_path / "freshrec")
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def freshrec_job(freshrec_stack: FreshrecStack) -> BehaviorJob:
    return BehaviorJob(freshrec_stack)


@pytest.fixture(scope="session")
def freshrec_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inference.testing import tiny_model_dir  # torch: only suites that serve pay for importing it

    return tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def freshrec_api(freshrec_stack: FreshrecStack, freshrec_model_dir: Path) -> Iterator[RankingClient]:
    with serve_ranking_api(freshrec_stack.client, freshrec_model_dir) as client:
        yield client
