"""A standalone Flink session cluster (one JobManager, one TaskManager) from the Flink distribution PyFlink ships.

The processes run the distribution's own `jobmanager.sh` / `taskmanager.sh start-foreground` (the JVM memory flags
are computed by those scripts), with a config directory of ours under state_dir: the same cluster shape a data
engineer runs by hand or the Kubernetes operator runs in pods, so `freshrec stream run --jobmanager` is tested against
a real remote submission (REST, jars shipped through the blob server), not the in-process mini-cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import FlinkSettings
from infra.stack.process import ManagedProcess, ensure_port_free
from streaming.flink.environment import prometheus_reporter


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


@dataclass
class LocalFlinkCluster:
    settings: FlinkSettings
    state_dir: Path

    def __post_init__(self) -> None:
        self.home = self.state_dir / "flink"
        self.jobmanager = ManagedProcess("flink-jobmanager", self.home / "jobmanager")
        self.taskmanagers = [ManagedProcess(f"flink-taskmanager{'' if i == 0 else f'-{i + 1}'}", self.home / "taskmanager")
                             for i in range(self.settings.taskmanagers)]  # fmt: skip

    def start(self, timeout: float = 120.0) -> bool:
        """Start the processes and wait until every TaskManager's slots are registered; False if already running."""
        if all(p.pid() is not None for p in (self.jobmanager, *self.taskmanagers)):
            self.jobmanager.wait_until(self.healthy, timeout, "serving with its TaskManagers")
            return False
        s = self.settings
        if all(p.pid() is None for p in (self.jobmanager, *self.taskmanagers)):  # what a killed earlier run left
            shutil.rmtree(self.tmp, ignore_errors=True)
        env = self._environment()
        scripts = flink_home() / "bin"
        if self.jobmanager.pid() is None:
            ensure_port_free(s.host, s.rest_port, "Flink REST", "FRESHREC_FLINK__REST_PORT")
            ensure_port_free(s.host, s.rpc_port, "Flink RPC", "FRESHREC_FLINK__RPC_PORT")
            self.jobmanager.start(["bash", str(scripts / "jobmanager.sh"), "start-foreground"], env)
        for taskmanager in self.taskmanagers:
            if taskmanager.pid() is None:
                taskmanager.start(["bash", str(scripts / "taskmanager.sh"), "start-foreground"], env)
        self.jobmanager.wait_until(self.healthy, timeout, "serving with its TaskManagers")
        return True

    def stop(self) -> bool:
        stopped = [p.stop() for p in self.taskmanagers]
        return self.jobmanager.stop() or any(stopped)

    def healthy(self) -> bool:
        return serving(self.settings) is not None

    def overview(self) -> dict[str, Any] | None:
        return overview(self.settings.jobmanager)

    @property
    def tmp(self) -> Path:
        """The processes' `io.tmp.dirs` (the RPC system's jar, blob and network buffers' files): Flink removes them on
        a clean stop only, so under the cluster's own folder, emptied by the next start, rather than in /tmp."""
        return self.home / "tmp"

    def _environment(self) -> dict[str, str]:
        conf, logs = self.home / "conf", self.home / "log"
        for folder in (conf, logs, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        shipped = flink_home() / "conf"
        config = yaml.safe_load((shipped / "config.yaml").read_text())
        for key, value in (cluster_options(self.settings) | {"io.tmp.dirs": str(self.tmp.resolve())}).items():
            *path, leaf = key.split(".")
            node = config
            for name in path:
                node = node.setdefault(name, {})
            node[leaf] = value
        (conf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        for name in ("log4j-console.properties", "logback-console.xml"):
            (conf / name).write_text((shipped / name).read_text())
        # the scripts' pid files in the cluster's folder: Flink's default, /tmp, is shared by every cluster of the user
        return {**os.environ, "FLINK_HOME": str(flink_home()), "FLINK_CONF_DIR": str(conf), "FLINK_LOG_DIR": str(logs),
                "FLINK_PID_DIR": str(self.home)}  # fmt: skip


def overview(jobmanager: str) -> dict[str, Any] | None:
    """The cluster's /overview (version, TaskManagers, slots, jobs), None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{jobmanager}/overview", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def serving(s: FlinkSettings) -> dict[str, Any] | None:
    """The overview of the cluster of `s` once every TaskManager's slots are registered, else None."""
    answer = overview(s.jobmanager)
    return answer if answer is not None and answer.get("slots-total", 0) >= s.slots * s.taskmanagers else None


def cluster_options(s: FlinkSettings) -> dict[str, str]:
    """The cluster's configuration beyond the distribution's defaults, whoever runs it (these processes, or the
    test fixtures' containers): every address and bind address on `s.host`, the ports, slots and memory."""
    options = {
        "jobmanager.bind-host": s.host,
        "jobmanager.rpc.address": s.host,
        "jobmanager.rpc.port": str(s.rpc_port),
        "jobmanager.memory.process.size": s.jobmanager_memory,
        "taskmanager.bind-host": s.host,
        "taskmanager.host": s.host,
        "taskmanager.numberOfTaskSlots": str(s.slots),
        "taskmanager.memory.process.size": s.taskmanager_memory,
        "rest.address": s.host,
        "rest.bind-address": s.host,
        "rest.port": str(s.rest_port),
    }
    return options | (prometheus_reporter(s.metrics_ports) if s.metrics_ports else {})
