"""Soak: the whole live path under steady load for `--minutes`, checked against ground truth kept from the input.

    python -m bench.soak [--minutes 10] [--rate 10000] [--api-rate 50] [--users 20000]

Clicks (paced in 10 ms ticks, event time = send time, random users and behaviours, items of the served model) ->
`freshrec stream run` (the job and the writer, a process tree of their own, as an operator runs it) -> Redis; meanwhile
`freshrec serve` (its own process) answers /recommend for random users at `--api-rate`. Reported: clicks sent, the
API's answers by status and their p99, the RSS of each process tree once warm (after a minute, or half a shorter
run) and at the end, how long the job took to catch up after the last click, and how many users' online features
differ from the truth (last 50 items, counts per behaviour) kept while sending. `tests/integration/streaming/test_soak.py` runs it for a
minute; results of longer runs are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from feature_store.online.reader import OnlineReader
from feature_store.views import USER_REALTIME
from inference.testing import tiny_model_dir
from infra.config import KafkaSettings, RedisSettings, load_settings, settings_environment
from infra.stack.kafka import LocalKafka
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from schemas.topics import TopicSettings
from streaming.replay import PRODUCER_DEFAULTS, produce_all, user_keys

BEHAVIORS = np.array(["PV", "CART", "FAV", "BUY"])
WEIGHTS = (0.85, 0.07, 0.05, 0.03)
ITEMS = 300
HISTORY = 50


@dataclass
class Truth:
    """Per user, from the clicks as sent: the last HISTORY items and the count of each behaviour."""

    items: dict[int, list[int]] = field(default_factory=dict)
    counts: dict[int, Counter[str]] = field(default_factory=dict)

    def add(self, users: np.ndarray, items: np.ndarray, behaviors: np.ndarray) -> None:
        for user, item, behavior in zip(users.tolist(), items.tolist(), behaviors.tolist()):
            history = self.items.setdefault(user, [])
            history.append(item)
            if len(history) > 2 * HISTORY:
                del history[:HISTORY]
            self.counts.setdefault(user, Counter())[behavior] += 1

    def matches(self, user: int, values: dict) -> bool:
        counts = {b: int(values[f"count_{b.lower()}"]) for b in BEHAVIORS}
        return values["item_ids"].tolist() == self.items[user][-HISTORY:] and \
            counts == {b: self.counts[user][b] for b in BEHAVIORS}  # fmt: skip


@dataclass
class SoakReport:
    minutes: float
    clicks: int
    users: int
    answers: Counter[int]
    p99_ms: float
    rss_mb: dict[str, tuple[float, float]]
    """per process tree: (once warm, at the end)."""
    catch_up_s: float
    mismatched: int

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.answers.items() if status != 200)

    def growth(self, tree: str) -> float:
        warm, end = self.rss_mb[tree]
        return end / warm - 1


def tree_rss_mb(group: int) -> float:
    """Resident memory of every process of a process group (a command started in a session of its own)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == group:
                status = (stat.parent / "status").read_text()
                total += int(status.split("VmRSS:")[1].split()[0]) if "VmRSS:" in status else 0
    return total / 1024


def _recommend(url: str, user: int) -> tuple[int, float]:
    request = urllib.request.Request(f"{url}/recommend", json.dumps({"user_id": user, "k": 10}).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0  # no answer at all
    return status, time.perf_counter() - started


def run_soak(bootstrap: str, redis_host: str, redis_port: int, workdir: Path, minutes: float, rate: int,
             api_rate: int, users: int) -> SoakReport:  # fmt: skip
    name = f"soak-{os.getpid()}-{int(time.time())}"
    topics = TopicSettings(clicks=name, dead_letter=f"{name}-dlq", snapshots=f"{name}-snap",
                           snapshot_dead_letter=f"{name}-snap-dlq", feature_updates=f"{name}-upd")  # fmt: skip
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.names()]).values():
        future.result(30)
    host, port = bootstrap.rsplit(":", 1)
    names = {k: v for k, v in topics.model_dump().items() if isinstance(v, str)}
    env = {**os.environ, **settings_environment(kafka={"host": host, "port": port}, topics=names,
                                                redis={"host": redis_host, "port": redis_port},
                                                feature_repo=workdir / "repo")}  # fmt: skip
    freshrec = str(Path(sys.executable).parent / "freshrec")
    api_port = free_port()
    model = tiny_model_dir(workdir / "models" / "tiny", ITEMS)
    commands = {
        "stream run": [freshrec, "stream", "run", "--group", name, "--checkpoint-dir", str(workdir / "checkpoints")],
        "serve": [freshrec, "serve", "--model", str(model), "--port", str(api_port), "--force"],
    }
    processes = {tree: subprocess.Popen(argv, env=env, stdout=open(workdir / f"{tree.replace(' ', '-')}.log", "w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
                 for tree, argv in commands.items()}  # fmt: skip
    url = f"http://127.0.0.1:{api_port}"
    truth, answers, latencies = Truth(), Counter[int](), []
    try:
        _wait_ready(url, processes)
        time.sleep(5)  # the job's first checkpoint and the writer's partitions
        sending = threading.Event()
        sending.set()
        api = threading.Thread(target=_api_load, args=(url, api_rate, users, sending, answers, latencies))
        api.start()
        rss: dict[str, list[float]] = {tree: [] for tree in processes}
        seconds, sent = minutes * 60, 0
        try:
            sent = _produce(bootstrap, topics.clicks, rate, seconds, users, truth,
                            lambda: [rss[t].append(tree_rss_mb(p.pid)) for t, p in processes.items()])  # fmt: skip
            finished = time.monotonic()
            client = RedisSettings(host=redis_host, port=redis_port).client()
            reader = OnlineReader(client, [USER_REALTIME], max_age={USER_REALTIME.name: timedelta(days=10**5)})
            mismatched = _wait_equal(reader, truth, processes, deadline=finished + 600)
            catch_up = time.monotonic() - finished
        finally:
            sending.clear()
            api.join(30)
        warm = {tree: samples[min(len(samples) // 2, 12)] for tree, samples in rss.items()}  # after min(1 min, half)
        end = {tree: tree_rss_mb(p.pid) for tree, p in processes.items()}
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    return SoakReport(minutes, sent, len(truth.items), answers, float(np.percentile(latencies, 99) * 1000) if latencies else 0.0,
                      {tree: (warm[tree], end[tree]) for tree in processes}, catch_up, mismatched)  # fmt: skip


def _wait_ready(url: str, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + 180
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        for tree, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"`freshrec {tree}` exited with {process.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not become ready within 180 s")
        time.sleep(0.5)


def _produce(bootstrap: str, topic: str, rate: int, seconds: float, users: int, truth: Truth, sample: Callable[[], object]) -> int:
    """`rate` clicks/s for `seconds`, in 10 ms ticks, each tick one columnar batch; `sample()` every 5 s."""
    producer = Producer({**PRODUCER_DEFAULTS, "bootstrap.servers": bootstrap, "linger.ms": 5})
    schema = default_registry().latest("click_event")
    rng = np.random.default_rng(0)
    sent, started, sampled = 0, time.perf_counter(), 0.0
    while (elapsed := time.perf_counter() - started) < seconds:
        n = int(rate * elapsed) - sent
        if n > 0:
            user_ids = rng.integers(1, users + 1, n)
            items = rng.integers(1, ITEMS + 1, n)
            behaviors = BEHAVIORS[rng.choice(4, n, p=WEIGHTS)]
            now = int(time.time() * 1000)
            batch = pa.table({"event_id": [f"s{sent + i}" for i in range(n)], "user_id": user_ids, "item_id": items,
                              "category_id": items % 20, "behavior": behaviors, "event_time": np.full(n, now)})  # fmt: skip
            produce_all(producer, topic, encode_batch(schema, batch).rows(), user_keys(batch))
            truth.add(user_ids, items, behaviors)
            sent += n
        if elapsed - sampled >= 5:
            sample()
            sampled = elapsed
        time.sleep(0.01)
    if producer.flush(60):
        raise RuntimeError("clicks not acknowledged")
    return sent


def _api_load(url: str, rate: int, users: int, running: threading.Event, answers: Counter[int], latencies: list[float]) -> None:
    rng = np.random.default_rng(1)
    while running.is_set():
        started = time.perf_counter()
        status, latency = _recommend(url, int(rng.integers(1, users + 1)))
        answers[status] += 1
        latencies.append(latency)
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))


def _wait_equal(reader: OnlineReader, truth: Truth, processes: dict[str, subprocess.Popen], deadline: float) -> int:
    """Until every user's online features equal the truth (0), or the deadline: how many differ then."""
    users = sorted(truth.items)
    while True:
        mismatched = 0
        for start in range(0, len(users), 2_000):
            for vector in reader.read_many(users[start : start + 2_000]):
                row = vector[USER_REALTIME.name]
                mismatched += row.status != "present" or not truth.matches(vector.entity_id, row.values)
        if mismatched == 0 or time.monotonic() > deadline:
            return mismatched
        if any(p.poll() is not None for p in processes.values()):
            raise RuntimeError("a command exited during the soak")
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10_000, help="clicks/s")
    parser.add_argument("--api-rate", type=int, default=50, help="requests/s to /recommend")
    parser.add_argument("--users", type=int, default=20_000)
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory() as tmp:
        kafka = LocalKafka(KafkaSettings(port=free_port(), controller_port=free_port()), Path(tmp), settings.cache_dir)
        store = LocalRedis(RedisSettings(port=free_port()), Path(tmp))
        kafka.start()
        store.start()
        try:
            report = run_soak(kafka.bootstrap_servers, store.settings.host, store.settings.port, Path(tmp),
                              args.minutes, args.rate, args.api_rate, args.users)  # fmt: skip
        finally:
            kafka.stop()
            store.stop()
    print(f"{report.clicks:,} clicks in {report.minutes:g} min ({report.clicks / report.minutes / 60:,.0f}/s) from "
          f"{report.users:,} users; API answers {dict(report.answers)} (p99 {report.p99_ms:.0f} ms), errors "
          f"{report.errors}; caught up {report.catch_up_s:.1f} s after the last click; users differing from the "
          f"truth: {report.mismatched}")  # fmt: skip
    for tree, (warm, end) in report.rss_mb.items():
        print(f"RSS {tree}: {warm:.0f} MB once warm -> {end:.0f} MB at the end ({report.growth(tree):+.1%})")


if __name__ == "__main__":
    main()
