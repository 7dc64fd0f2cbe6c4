"""The behavior job submitted to a standalone Flink session cluster (`--jobmanager`): it runs there, not in this
process, and every user's state equals the reference; the cluster's processes serve their metrics for Prometheus
(`flink.metrics_ports`); as local processes, they keep their temporary files in the cluster's own folder, not in
the machine's temp folder (where a killed cluster would leave them for good)."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from freshrec.testing.services import KafkaEndpoint
from infra.config import load_settings
from infra.jars import fetch
from sources.datasets import load
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.replay import replay
from streaming.state.user_state import BehaviorState
from tests.fixtures.flink import FlinkEndpoint
from tests.integration.streaming.job_output import FIELDS, latest_per_user

pytestmark = pytest.mark.integration


def open_files(pid: int) -> list[Path]:
    """What a live process holds open; a descriptor it closes while they are listed is skipped."""
    paths = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            paths.append(Path(os.readlink(fd)))
        except FileNotFoundError:
            continue
    return paths


def test_job_runs_on_the_session_cluster(kafka: KafkaEndpoint, flink_cluster: FlinkEndpoint, topic: str,
                                         datasets_dir: Path) -> None:  # fmt: skip
    source = load("taobao-head", datasets_dir)
    replay(source, topic, {"bootstrap.servers": kafka.bootstrap_servers})
    names = {"dlq": f"{topic}-dlq", "snapshots": f"{topic}-snap"}
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(n, 2, 1) for n in names.values()]).values():
        future.result(30)
    config = JobConfig(kafka.bootstrap_servers, topic, names["dlq"], names["snapshots"], f"job-{topic}", bounded=True,
                       jobmanager=flink_cluster.jobmanager, stream=load_settings().stream)  # fmt: skip
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    job = start(config, jars)
    job_id = job.job_id
    job.wait(300_000)

    with urllib.request.urlopen(f"http://{flink_cluster.jobmanager}/jobs/{job_id}", timeout=10) as response:
        assert json.loads(response.read())["state"] == "FINISHED"  # the cluster ran it
    got = latest_per_user(kafka.bootstrap_servers, names["snapshots"])
    reference = BehaviorState(out_of_orderness_ms=config.stream.out_of_orderness_ms)
    reference.apply(source.table.to_pylist())  # type: ignore[attr-defined]
    assert set(got) == set(reference.users) and len(got) == 43
    for user in reference.users:
        want = reference.snapshot(user)
        assert {f: got[user]["s"][f] for f in FIELDS} == {f: want[f] for f in FIELDS}, user
        np.testing.assert_allclose(got[user]["s"]["interest"], want["interest"], rtol=1e-5, atol=1e-6)

    served = b"".join(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
                      for port in str(flink_cluster.settings.metrics_ports).split(","))  # fmt: skip
    assert b"\nflink_jobmanager_numRegisteredTaskManagers{" in served and b"\nflink_taskmanager_Status_JVM_" in served

    if flink_cluster.backend == "local":  # each JVM holds the RPC system's jar it copied into its io.tmp.dirs
        jars = [path for pid in flink_cluster.pids for path in open_files(pid) if "flink-rpc" in str(path)]
        assert len(jars) == len(flink_cluster.pids), jars
        assert all(jar.parent != Path(tempfile.gettempdir()) and jar.parent.name == "tmp" for jar in jars), jars
        # the scripts record the processes in pid files of the cluster's own, not in /tmp's shared ones
        in_tmp = [f for f in Path(tempfile.gettempdir()).glob("flink-*.pid") if set(f.read_text().split()) & {str(p) for p in flink_cluster.pids}]
        assert not in_tmp, in_tmp
