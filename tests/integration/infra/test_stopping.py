"""SIGTERM, as a supervisor sends it to the command's own process: `stream write`, `refresh` and `stream run` finish
the batch in hand, commit it, close their Kafka consumer (the group is empty at once, not after a session timeout)
and exit 0 within 5 s; `serve` (one process or several workers) stops whole within 5 s too."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from freshrec.testing.kafka import ordered_producer
from freshrec.testing.services import KafkaEndpoint, RedisEndpoint
from inference.testing import tiny_model_dir
from infra.config import settings_environment
from infra.stack.process import free_port
from schemas.codec import AvroCodec

pytestmark = pytest.mark.integration


def _snapshot(user: int) -> bytes:
    version = 1_700_000_000_000 + user
    state = {"item_ids": [user], "category_ids": [1], "behaviors": [0], "event_times": [version], "count_pv": 1,
             "count_cart": 0, "count_fav": 0, "count_buy": 0, "interest": [0.0] * 64, "top_categories": [1],
             "summary": "pv 1", "event_time": version, "version": version}  # fmt: skip
    return AvroCodec("user_snapshot").encode({"user_id": user, "s": state})


def _update(user: int) -> bytes:
    return AvroCodec("feature_update").encode({"user_id": user, "version": user, "event_time": int(time.time() * 1000)})


ELECTING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS}
METRICS = {  # what the Prometheus endpoint says once the 500 records are done
    "stream write": ["freshrec_writer_snapshots_total 500.0", "freshrec_writer_dead_letters_total 0.0",
                     "freshrec_writer_store_retries_total 0.0"],
    "refresh": ["freshrec_refresh_lag_seconds_count"],
    "stream run": ["freshrec_writer_batches_total 0.0", "freshrec_writer_store_retries_total 0.0"],  # nothing to write
}  # fmt: skip


@pytest.mark.parametrize("command", ["stream write", "refresh", "stream run"])
def test_sigterm_commits_closes_and_exits(command: str, kafka: KafkaEndpoint, redis_server: RedisEndpoint,
                                          tmp_path: Path) -> None:  # fmt: skip
    name = f"stop-{uuid.uuid4().hex[:8]}"
    topics = {"clicks": name, "dead_letter": f"{name}-dlq", "snapshots": f"{name}-snap",
              "snapshot_dead_letter": f"{name}-snap-dlq", "feature_updates": f"{name}-upd"}  # fmt: skip
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.values()]).values():
        future.result(30)
    host, port = kafka.bootstrap_servers.rsplit(":", 1)
    env = {**os.environ, **settings_environment(kafka={"host": host, "port": port}, topics=topics,
                                                redis={"host": redis_server.host, "port": redis_server.port},
                                                feature_repo=tmp_path / "repo")}  # fmt: skip
    group, watched, records = {
        "stream write": (f"w-{name}", topics["snapshots"], [(b"%d" % u, _snapshot(u)) for u in range(1, 501)]),
        "refresh": (f"r-{name}", topics["feature_updates"], [(b"%d" % u, _update(u)) for u in range(1, 501)]),
        "stream run": ("freshrec-snapshot-writer", topics["snapshots"], []),
    }[command]  # fmt: skip
    metrics_port = free_port()
    args = {"stream write": ["stream", "write", "--group", group, "--metrics-port", str(metrics_port)],
            "refresh": ["refresh", "--group", group, "--model", str(tiny_model_dir(tmp_path / "models" / "tiny", 300)),
                        "--metrics-port", str(metrics_port), "--force"],
            "stream run": ["stream", "run", "--group", f"job-{name}", "--checkpoint-dir", str(tmp_path / "ckpt"),
                           "--metrics-port", str(metrics_port)]}  # fmt: skip
    log = tmp_path / "command.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "freshrec"), *args[command]], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        producer = ordered_producer(kafka.bootstrap_servers)
        for key, value in records:
            producer.produce(watched, value, key)
        assert producer.flush(30) == 0

        def state() -> ConsumerGroupState:
            try:
                return admin.describe_consumer_groups([group])[group].result(10).state
            except KafkaException as exc:  # a new broker still placing the group's coordinator: not known yet
                if exc.args[0].code() in ELECTING:
                    return ConsumerGroupState.UNKNOWN
                raise

        deadline = time.monotonic() + 180
        while state() != ConsumerGroupState.STABLE or _committed(admin, group, watched) < len(records):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{command} never caught up:\n{log.read_text()}"
            time.sleep(0.5)
        if command in METRICS:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
                scraped = response.read().decode()
            assert all(line in scraped for line in METRICS[command]), scraped
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0, log.read_text()
        assert time.monotonic() - started < 5.0
        assert state() == ConsumerGroupState.EMPTY  # the consumer left the group: it was closed
        assert _committed(admin, group, watched) == len(records)
        assert "stopped" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _committed(admin: AdminClient, group: str, topic: str) -> int:
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(2)])]
    result = admin.list_consumer_group_offsets(request)[group].result(10)
    return sum(max(tp.offset, 0) for tp in result.topic_partitions)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_serve(workers: int, redis_server: RedisEndpoint, tmp_path: Path) -> None:
    """`serve`, one process or a supervisor with worker processes: SIGTERM to the command's process ends all of them
    (each worker's service closed by the app's shutdown) with exit status 0 within 5 s."""
    port = free_port()
    env = {**os.environ, **settings_environment(redis={"host": redis_server.host, "port": redis_server.port})}
    model = tiny_model_dir(tmp_path / "models" / "tiny", 300)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "freshrec"), "serve", "--model", str(model),
                                    "--port", str(port), "--workers", str(workers), "--force"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _status(f"http://127.0.0.1:{port}/readyz") != 200:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"serve never became ready:\n{log.read_text()}"
            time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0, log.read_text()
        assert time.monotonic() - started < 5.0
        time.sleep(0.5)
        assert _alive_in_group(process.pid) == []  # no worker outlived it
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def _alive_in_group(group: int) -> list[int]:
    """Processes of the group that still run (a zombie has ended: it only waits for a parent to read its status)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                alive.append(int(stat.parent.name))
    return alive


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None
