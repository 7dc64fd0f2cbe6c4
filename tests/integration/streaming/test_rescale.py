"""The behavior job rescaled on a session cluster of two TaskManagers, mid-stream: `freshrec stream run --jobmanager
--parallelism 2`, then `freshrec stream rescale` to 1 and to 4, each while the next part of the hostile stream over
the whole Taobao slice is in flight. A rescale stops the job with a savepoint and resubmits it at the new parallelism
from it, each user's state moving to the subtask that owns its key group now. Every user's online features end equal
to the reference's over the input, and the dead letters (the at-least-once sink's repeats folded by source offset)
are exactly the rejected, late and future records: late events and duplicates straddle each rescale, and a user
whose state had not followed its key group would apply them."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from schemas.codec import AvroCodec
from sources.datasets import load
from streaming.flink.session import job_name, parallelism, running_job
from streaming.state.user_state import BehaviorState
from tests.fixtures.flink import FlinkEndpoint
from tests.integration.streaming import adversarial
from tests.integration.streaming.job_output import OnlineReference, read_letters
from tests.integration.streaming.live_job import LiveJob

pytestmark = pytest.mark.integration


def test_rescale_2_to_1_to_4_mid_stream_leaves_every_user_exact(
    kafka: KafkaEndpoint, flink_cluster: FlinkEndpoint, redis_server: RedisEndpoint, redis_client: redis.Redis,
    datasets_dir: Path, tmp_path: Path,
) -> None:  # fmt: skip
    history = load("taobao-2h", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    stream = adversarial.build(history, seed=5)
    codec, reference = AvroCodec("click_event"), BehaviorState()
    expected = stream.expected_letters(reference, codec)
    jobmanager = flink_cluster.jobmanager
    job = LiveJob(f"rescale-{uuid.uuid4().hex[:8]}", kafka, redis_server, tmp_path,
                  args=["--jobmanager", jobmanager, "--parallelism", "2"])  # fmt: skip
    rescale = [*job.command[:2], "rescale", "--jobmanager", jobmanager, "--group", job.group,
               "--snapshot-topic", job.topics["snap"], "--checkpoint-dir", str(job.checkpoints)]  # fmt: skip
    producer, clicks = ordered_producer(kafka.bootstrap_servers), job.topics["clicks"]
    n = len(stream.records)
    cuts = [0, n // 3, 2 * n // 3, n]

    def produce(part: int) -> None:
        for key, value in stream.records[cuts[part] : cuts[part + 1]]:
            producer.produce(clicks, value, key)
        assert producer.flush(60) == 0

    def running_at() -> int:
        job_id = running_job(jobmanager, job_name(job.group))
        assert job_id is not None
        return max(parallelism(jobmanager, job_id).values())

    job.launch()
    try:
        produce(0)
        job.wait(lambda: job.committed() >= cuts[1], 300, "a checkpoint of part 1")
        assert running_at() == 2
        for part, scale in ((1, 1), (2, 4)):
            produce(part)
            time.sleep(1.0)  # the part is being applied when the savepoint is taken
            done = subprocess.run([*rescale, "--parallelism", str(scale)], env=job.env, capture_output=True,
                                  text=True, timeout=300)  # fmt: skip
            assert done.returncode == 0 and f"-> {scale} from savepoint" in done.stdout, done.stdout + done.stderr
            assert running_at() == scale

        online = OnlineReference(redis_client, reference)
        job.wait(online.final_versions, 300, "every user's final version")
        job.wait(lambda: job.committed() >= n, 120, "a checkpoint of the whole input")
        assert job.stop(signal.SIGTERM, 120, group=False) == 0
    finally:
        if job.process is not None:
            job.stop()
    assert "stopped with savepoint" in job.log(1).read_text()  # the run stopped the rescaled job
    assert running_job(jobmanager, job_name(job.group)) is None
    assert online.differing() == {}
    letters = read_letters(kafka.bootstrap_servers, job.topics["dlq"], sum(expected.values()))
    folded = {(letter["partition"], letter["offset"]): letter for letter in letters}
    assert Counter((letter["error_type"], letter["payload"]) for letter in folded.values()) == expected
