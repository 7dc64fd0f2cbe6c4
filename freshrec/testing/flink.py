"""A real Flink session cluster for tests: a JobManager and TaskManagers, so a job is submitted over REST (its jars
through the blob server) and runs at a parallelism up to their slots, across processes.

- `docker`: the JobManager and each TaskManager in a container of `FRESHREC_TEST_FLINK_IMAGE` (the official
  `flink:<version>-java17` by default; `freshrec images build` makes one here without a registry), on the host's
  network with every address Flink lets one choose on 127.0.0.1, so the TaskManagers reach Kafka at the address the
  test itself uses. The folders a job writes to (checkpoints, savepoints, the event log) are mounted at the same path,
  and the containers run as this user, so what they write is the test's to read and delete.
- `local`: the distribution PyFlink ships, as local processes (`infra.stack.flink.LocalFlinkCluster`, what
  `freshrec up` runs).

Either way the cluster's options are `infra.stack.flink.cluster_options`. Flink's Prometheus reporter has no bind
address: its ports, when configured, listen on every address (both backends).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from freshrec.testing.services import Backend, choose_backend, configure_testcontainers, image_available
from infra.config import FlinkSettings
from infra.images.build import FLINK_VERSION
from infra.stack.flink import LocalFlinkCluster, cluster_options, overview, serving
from infra.stack.process import StackError, free_port

READY_S = 120.0


@dataclass(frozen=True)
class FlinkEndpoint:
    jobmanager: str
    """HOST:PORT of the REST endpoint (`freshrec stream run --jobmanager`)."""
    backend: str
    version: str
    settings: FlinkSettings
    pids: tuple[int, ...] = field(default=())
    """The JobManager's and TaskManagers' processes, as this machine sees them."""


def flink_image() -> str:
    return os.environ.get("FRESHREC_TEST_FLINK_IMAGE", f"flink:{FLINK_VERSION}-java17")


@cache
def choose_flink_backend() -> Backend:
    mode = os.environ.get("FRESHREC_TEST_SERVICES", "auto")
    return select_flink_backend(choose_backend(), mode, flink_image(), image_available)


def select_flink_backend(services: Backend, mode: str, image: str, available: Callable[[str], bool]) -> Backend:
    """Containers where the session's services run in containers (`services`) and, under auto, the Flink image is
    there too; the local processes otherwise."""
    if services.name == "local":
        return services
    if mode == "docker":
        return Backend("docker", f"FRESHREC_TEST_SERVICES=docker: {image}")
    if available(image):
        return Backend("docker", f"a Docker engine answers and has {image}")
    return Backend("local", f"{image} is neither present nor pullable: PyFlink's distribution as local processes")


def session_settings(taskmanagers: int = 2, metrics: bool = False) -> FlinkSettings:
    """A cluster on free ports: `taskmanagers` of two slots each; with `metrics`, each JVM's metrics served for
    Prometheus (on every address: the reporter has no bind address)."""
    ports = ",".join(str(free_port()) for _ in range(taskmanagers + 1)) if metrics else None
    return FlinkSettings(rest_port=free_port(), rpc_port=free_port(), taskmanagers=taskmanagers, metrics_ports=ports)


@contextmanager
def flink_service(
    backend: str, settings: FlinkSettings, workdir: Path, shared: Sequence[Path]
) -> Iterator[FlinkEndpoint]:
    """The cluster of `settings` until the block ends; `shared`: the host folders its jobs write to (the containers
    mount them; local processes reach them anyway)."""
    if backend == "docker":
        configure_testcontainers()
        yield from _in_containers(settings, shared)
        return
    cluster = LocalFlinkCluster(settings, workdir)
    cluster.start(READY_S)
    try:
        version = (overview(settings.jobmanager) or {}).get("flink-version", "?")
        pids = tuple(p.pid() for p in (cluster.jobmanager, *cluster.taskmanagers))
        if None in pids:
            raise StackError(f"a process of the Flink cluster under {workdir} is not running")
        yield FlinkEndpoint(settings.jobmanager, "local", f"Apache Flink {version}", settings, pids)  # type: ignore[arg-type]
    finally:
        cluster.stop()


def _in_containers(settings: FlinkSettings, shared: Sequence[Path]) -> Iterator[FlinkEndpoint]:
    # The official image pins the blob server to 6124: any free port instead, so clusters side by side do not clash.
    properties = "\n".join(f"{k}: {v}" for k, v in (cluster_options(settings) | {"blob.server.port": "0"}).items())
    with ExitStack() as stack:
        roles = ["jobmanager", *["taskmanager"] * settings.taskmanagers]
        containers = [stack.enter_context(_container(role, properties, shared)) for role in roles]
        deadline = time.monotonic() + READY_S
        while (answer := serving(settings)) is None:
            if time.monotonic() > deadline:
                logs = b"".join(containers[0].get_logs()).decode(errors="replace")[-3000:]
                raise StackError(f"{flink_image()} cluster not serving its slots after {READY_S:.0f}s:\n{logs}")
            time.sleep(0.5)
        pids = tuple(_pid(c.get_wrapped_container()) for c in containers)
        yield FlinkEndpoint(settings.jobmanager, "docker", f"Apache Flink {answer['flink-version']} ({flink_image()})",
                            settings, pids)  # fmt: skip


def _pid(container: Any) -> int:
    """The container's first process as this machine numbers it (its attributes as of now, not of its creation)."""
    container.reload()
    pid = int(container.attrs["State"]["Pid"])
    if pid <= 0:
        raise StackError(f"container {container.name} is not running: {container.attrs['State']}")
    return pid


def _container(role: str, properties: str, shared: Sequence[Path]) -> Any:
    """One process of the cluster, not started (a context manager that starts and removes it)."""
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(flink_image()).with_command(role).with_env("FLINK_PROPERTIES", properties)
    container.with_kwargs(network_mode="host", user=f"{os.getuid()}:{os.getgid()}")
    for folder in shared:
        container.with_volume_mapping(str(folder), str(folder), "rw")
    return container
