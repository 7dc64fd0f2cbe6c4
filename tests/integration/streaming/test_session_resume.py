"""`freshrec stream run --jobmanager` on a real session cluster keeps its state across stops: stopped by SIGTERM it
stops the job with a savepoint and the next run resumes from it; a job cancelled on the cluster is resumed from its
retained checkpoint. Each part of the Taobao histories is produced while a different submission runs, and every user
ends equal to the ground truth from the CSV (a resubmission that started empty would have cut the histories). A start
with empty state over a store that holds snapshots is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from sources.datasets import load
from tests.fixtures.flink import FlinkEndpoint
from tests.integration.streaming.live_job import LiveJob
from tests.integration.streaming.slice_truth import matches, produce, truth

pytestmark = pytest.mark.integration


def _running_job(jobmanager: str) -> str:
    with urllib.request.urlopen(f"http://{jobmanager}/jobs/overview", timeout=10) as response:
        (job,) = [j["jid"] for j in json.loads(response.read())["jobs"] if j["state"] == "RUNNING"]
    return job


def test_session_job_resumes_after_a_stop_and_after_a_cancel(
    kafka: KafkaEndpoint, flink_cluster: FlinkEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis,
    datasets_dir: Path, tmp_path: Path,
) -> None:  # fmt: skip
    table = load("taobao-head", datasets_dir).table  # type: ignore[attr-defined]
    jobmanager = flink_cluster.jobmanager
    job = LiveJob(f"session-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path, args=["--jobmanager", jobmanager])
    cuts = [0, table.num_rows // 3, 2 * table.num_rows // 3, table.num_rows]
    want, users = truth(table), sorted(truth(table))
    reader = OnlineReader(redis_client, [USER_REALTIME], max_age={"user_realtime": timedelta(days=10**5)})
    try:
        job.launch()
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(0, cuts[1]))
        job.wait(lambda: job.committed() >= cuts[1], 180, "a checkpoint of part 1")
        assert job.stop(signal.SIGTERM, 120, group=False) == 0, job.log(1).read_text()
        assert "stopped with savepoint" in job.log(1).read_text()

        job.launch()
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(cuts[1], cuts[2] - cuts[1]))
        job.wait(lambda: job.committed() >= cuts[2], 180, "a checkpoint of part 2")
        request = urllib.request.Request(f"http://{jobmanager}/jobs/{_running_job(jobmanager)}?mode=cancel", method="PATCH")
        urllib.request.urlopen(request, timeout=10).close()  # cancelled on the cluster (`flink cancel`)
        job.stop()

        job.launch()
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(cuts[2]))
        job.wait(lambda: all(matches(v, want[v.entity_id]) for v in reader.read_many(users)), 240, "every user equal")
        assert job.stop(signal.SIGTERM, 120, group=False) == 0
    finally:
        if job.process is not None:
            job.stop()
    assert f"resumed from {job.checkpoints / 'savepoints'}" in job.log(2).read_text()
    assert "/chk-" in job.log(3).read_text().split("resumed from", 1)[1].split(";", 1)[0]

    empty = [*job.command[: job.command.index("--checkpoint-dir") + 1], str(tmp_path / "elsewhere"),
             "--jobmanager", jobmanager]  # fmt: skip
    refused = subprocess.run(empty, env=job.env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "refusing to start with empty state" in refused.stderr, refused.stderr
