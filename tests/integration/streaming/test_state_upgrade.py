"""A job upgraded over its own checkpoint keeps every user: the state written by the previous release's job (users
kept by Flink's POJO serializer) is restored by this one (`UserBehaviorSerializer`, compatible after migration), and
once the replay is finished every user of the Taobao slice has exactly the sequence and counts computed from the CSV.
The previous release runs from a git worktree of its commit, with its own job jar built there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from sources.datasets import load
from streaming.flink.checkpoints import latest_checkpoint
from tests.integration.streaming.live_job import LiveJob
from tests.integration.streaming.slice_truth import all_match, produce

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
POJO_STATE = "a30838fa3fd742ce5e7a7e9fb4e14342d4256371"
"""The last commit whose job kept users with Flink's POJO serializer."""


@pytest.fixture
def previous_release(tmp_path: Path) -> Iterator[Path]:
    """A worktree of `POJO_STATE` with its job jar built."""
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{POJO_STATE}^{{commit}}"],
                      capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip(f"not a git checkout holding {POJO_STATE[:12]} (a source archive, or a shallow clone)")
    tree = tmp_path / "previous"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), POJO_STATE], check=True,
                   capture_output=True)  # fmt: skip
    try:
        subprocess.run(["mvn", "-q", "-B", "-o", "-f", str(tree / "streaming/jvm/pom.xml"), "package"], check=True,
                       capture_output=True)  # fmt: skip
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


def serializers(checkpoint: Path | None) -> set[bytes]:
    """Which of the two serializers' snapshots the checkpoint's state files name."""
    assert checkpoint is not None
    data = b"".join(f.read_bytes() for f in checkpoint.rglob("*") if f.is_file())
    return {name for name in (b"PojoSerializerSnapshot", b"UserBehaviorSerializer") if name in data}


def test_a_checkpoint_of_the_previous_release_restores_every_user(
    previous_release: Path, kafka: KafkaEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis,
    datasets_dir: Path, tmp_path: Path,
) -> None:  # fmt: skip
    table = load("taobao-2h", datasets_dir).table  # type: ignore[attr-defined]
    (tmp_path / "job").mkdir()
    job = LiveJob(f"upgrade-{os.getpid()}-{time.monotonic_ns() % 10**6}", kafka, redis_server, tmp_path / "job")
    current = job.command
    # -P: the previous release's modules, not the working directory's
    job.command = [sys.executable, "-P", "-c", "from infra.cli import main; main()", *current[1:]]
    # the previous release knows no `JobConfig.tmp_dir`: its JVM's temp folder (the default of Flink's io.tmp.dirs,
    # which a killed job leaves behind) in this test's folder, not the machine's
    (jvm_tmp := tmp_path / "jvm-tmp").mkdir()
    job.env = {**job.env, "PYTHONPATH": str(previous_release), "JAVA_TOOL_OPTIONS": f"-Djava.io.tmpdir={jvm_tmp}"}
    first = 55_000
    job.launch()
    try:
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(0, first))
        job.wait(lambda: job.committed() >= first, 180, "a checkpoint of the first part")
    finally:
        job.stop()
    resumed_from = latest_checkpoint(job.checkpoints)
    assert resumed_from is not None
    assert serializers(resumed_from) == {b"PojoSerializerSnapshot"}, "the first part did not run the previous job"

    job.command, job.env = current, {k: v for k, v in job.env.items() if k not in ("PYTHONPATH", "JAVA_TOOL_OPTIONS")}
    job.launch()
    try:
        produce(kafka.bootstrap_servers, job.topics["clicks"], table.slice(first))
        job.wait(all_match(redis_client, table), 240, "every user's features equal to the CSV's")
    finally:
        job.stop(signal.SIGTERM)
    assert f"resumed from {resumed_from}" in job.log(2).read_text()
    assert serializers(latest_checkpoint(job.checkpoints)) == {b"UserBehaviorSerializer"}
