"""The behavior job (Kafka -> JVM operators: state, coalescing -> snapshot writer -> Redis) against its three baselines,
same run, same synthetic events, Kafka and Redis local on this machine, checkpoints on.

    python -m bench.streaming_bench [--events 500000] [--rates 2000,10000|none] [--seconds 20]
        [--baselines naive,feast,plain] [--state-ttl-s 2592000,0] [--event-log on,off] [--parallelism 1,2]

Freshness first (on a quiet broker), then throughput. Throughput: each system starts on a topic already holding `--events` events (Zipf users and items); progress is the
number of events whose effect is visible in Redis (for the job: the sum of all-time behaviour counts of the rows the
writer has stored), and the rate is measured from the first write to the last event visible (startup excluded),
capped at `--cap` seconds for the slow baselines. Freshness: the job alone, fed at a fixed rate by a paced producer
whose events carry the time they are due to be sent as event time (made before the window, sent in 10 ms ticks);
per event, the time from its event time until the first stored snapshot that contains it (event time -> visible in
Redis), p50/p99 over `--seconds` after a warm-up at the same rate (`WARMUP_S`, its p99 reported too). The writer runs
as `freshrec stream run` runs it: it also appends its snapshots to the offline log and compacts the event log. With
the event log on (as `stream run`), the job also writes the applied clicks' part files (parts close every 10 s here,
`LOG_ROLL_MS`, so commits and compaction fall inside the measured window).
With `--parallelism`: the job alone (no writer; its snapshots stay in Kafka) at each parallelism, its progress read
from its own applied-clicks counter on its Prometheus reporter, the first row the ratios' base.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench import streaming_baselines as baselines
from feature_store.offline import event_log
from feature_store.online.writer import OnlineWriter
from feature_store.store import apply, copy_repo, open_store
from feature_store.views import USER_REALTIME
from infra.config import KafkaSettings, RedisSettings, load_settings
from infra.jars import fetch
from infra.stack.kafka import LocalKafka
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from sources.datasets import SyntheticSource
from streaming.config import StreamSettings
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.replay import PRODUCER_DEFAULTS, produce_all, replay, user_keys
from streaming.snapshot_writer import SnapshotWriter


@dataclass
class Progress:
    """(time, events visible) samples; the rate from the first write on."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def __call__(self, applied: int) -> None:
        if applied and (not self.samples or applied != self.samples[-1][1]):
            self.samples.append((time.perf_counter(), applied))

    @property
    def applied(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, a0), (t1, a1) = self.samples[0], self.samples[-1]
        return (a1 - a0) / (t1 - t0)


class Visibility:
    """Snapshot-writer observer: events made visible per stored batch (throughput) and their freshness."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress
        self.totals: dict[int, int] = {}
        self.newest: dict[int, int] = {}
        self.applied = 0
        self.latencies: list[int] | None = None

    def __call__(self, table: pa.Table, written_ms: int, _seconds: float) -> None:
        """Called in the writer's thread: per row in Python, per event in numpy, so that the measurement takes
        little of the writer's time (it shares the GIL)."""
        users = table["user_id"].to_pylist()
        totals = sum(table[f"count_{b}"].to_numpy() for b in ("pv", "cart", "fav", "buy")).tolist()
        seen = np.array([self.newest.get(user, 0) for user in users], dtype=np.int64)
        if self.latencies is not None:
            times = table["event_times"].combine_chunks()
            flat = times.flatten().to_numpy()
            fresh = flat > np.repeat(seen, np.diff(times.offsets.to_numpy()))
            self.latencies.extend((written_ms - flat[fresh]).tolist())
        for user, total, newest, before in zip(users, totals, table["event_time"].to_pylist(), seen.tolist()):
            self.applied += total - self.totals.get(user, 0)
            self.totals[user] = total
            self.newest[user] = max(before, newest)
        if self.progress:
            self.progress(self.applied)


APPLIED = re.compile(rb"^flink_taskmanager_job_task_operator_freshrec_clicksApplied\{[^}]*\} (\S+)$", re.M)


def applied_clicks(port: int) -> int:
    """The job's applied clicks, summed over its subtasks, as its Prometheus reporter on `port` serves them."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:  # not serving yet: the reporter starts with the mini-cluster
        return 0
    return int(sum(float(v) for v in APPLIED.findall(text)))


def wait_for(progress: Progress, target: int, cap_s: float, stop: threading.Event) -> None:
    deadline = None
    while progress.applied < target:
        if progress.samples and deadline is None:
            deadline = time.perf_counter() + cap_s
        if deadline is not None and time.perf_counter() > deadline:
            break
        time.sleep(0.05)
    stop.set()


def in_thread(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


class Bench:
    def __init__(self, tmp: Path, kafka: LocalKafka, redis_server: LocalRedis, events: int,
                 checkpoint_interval_ms: int) -> None:  # fmt: skip
        self.tmp, self.kafka, self.redis_server, self.events = tmp, kafka, redis_server, events
        self.checkpoint_interval_ms = checkpoint_interval_ms
        self.bootstrap = kafka.bootstrap_servers
        self.client = redis.Redis(port=redis_server.settings.port)
        self.jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap})
        self.count = 0

    def topic(self, preload: bool) -> str:
        self.count += 1
        name = f"bench-{self.count}"
        for future in self.admin.create_topics([NewTopic(name, 2, 1)]).values():
            future.result(30)
        if preload:
            replay(SyntheticSource(self.events), name, {"bootstrap.servers": self.bootstrap})
        return name

    def job(self, clicks: str, visibility: Visibility, stop: threading.Event,
            stream: StreamSettings | None = None, log: bool = True) -> Callable[[], None]:  # fmt: skip
        """Start the behavior job (with the event log, with `log`) and the snapshot writer on `clicks`, as `freshrec
        stream run` does: the writer appends its snapshots to the offline log and compacts the event log; returns a
        function that stops them."""
        snapshots, offline = f"{clicks}-snap", self.tmp / f"offline-{clicks}"
        for future in self.admin.create_topics([NewTopic(snapshots, 2, 1), NewTopic(f"{clicks}-upd", 2, 1)]).values():
            future.result(30)
        stream = (stream or StreamSettings()).model_copy(update={"checkpoint_interval_ms": self.checkpoint_interval_ms})
        config = JobConfig(self.bootstrap, clicks, f"{clicks}-dlq", snapshots, f"job-{clicks}", stream=stream,
                           checkpoint_dir=self.tmp / f"chk-{clicks}",
                           event_log_dir=offline / event_log.STREAMED if log else None)  # fmt: skip
        job = start(config, self.jars)
        writer = SnapshotWriter(self.bootstrap, OnlineWriter(self.client, USER_REALTIME), offline, snapshots,
                                f"{clicks}-upd", group=f"writer-{clicks}", on_written=visibility)  # fmt: skip
        threads = [in_thread(lambda: writer.run(should_stop=stop.is_set))]

        def stop_all() -> None:
            stop.set()
            for thread in threads:
                thread.join(30)
            job.cancel()

        return stop_all

    def throughput_job(self, cap_s: float, stream: StreamSettings, log: bool) -> Progress:
        self.client.flushdb()
        progress, stop = Progress(), threading.Event()
        clicks = self.topic(preload=True)
        stop_all = self.job(clicks, Visibility(progress), stop, stream, log)
        wait_for(progress, self.events, cap_s, stop)
        stop_all()
        if log:  # the parts still open when the job was cancelled are not committed: all but those
            logged = event_log.compact(self.tmp / f"offline-{clicks}")
            parts = list((self.tmp / f"offline-{clicks}" / event_log.EVENTS).glob("part-*.parquet"))
            print(f"event log: {logged:,} more events compacted after the job was cancelled, {len(parts)} parts")
        return progress

    def throughput_alone(self, parallelism: int, cap_s: float) -> Progress:
        clicks, progress, port = self.topic(preload=True), Progress(), free_port()
        for future in self.admin.create_topics([NewTopic(f"{clicks}-snap", 2, 1)]).values():
            future.result(30)
        config = JobConfig(self.bootstrap, clicks, f"{clicks}-dlq", f"{clicks}-snap", f"job-{clicks}",
                           stream=StreamSettings(checkpoint_interval_ms=self.checkpoint_interval_ms),
                           checkpoint_dir=self.tmp / f"chk-{clicks}",
                           parallelism=parallelism, metrics_port=port)  # fmt: skip
        job = start(config, self.jars)
        deadline = time.perf_counter() + 300
        while progress.applied < self.events and time.perf_counter() < deadline:
            if progress.samples and time.perf_counter() - progress.samples[0][0] > cap_s:
                break
            progress(applied_clicks(port))
            time.sleep(0.2)
        job.cancel()
        return progress

    def throughput_consumer(self, write: Callable[[list[dict]], None], cap_s: float) -> Progress:
        self.client.flushdb()
        topic, progress, stop = self.topic(preload=True), Progress(), threading.Event()
        thread = in_thread(lambda: baselines.consume_and_write(self.bootstrap, topic, write, progress, stop.is_set))
        wait_for(progress, self.events, cap_s, stop)
        thread.join(30)
        return progress

    def throughput_naive(self, cap_s: float) -> Progress:
        self.client.flushdb()
        topic, progress, stop = self.topic(preload=True), Progress(), threading.Event()
        client = baselines.start_naive_job(self.jars, self.bootstrap, topic, self.redis_server.settings.port,
                                           self.tmp / f"chk-{topic}")  # fmt: skip
        thread = in_thread(lambda: baselines.follow_counter(self.client, progress, stop.is_set))
        wait_for(progress, self.events - 100, cap_s, stop)
        thread.join(10)
        client.cancel()
        return progress

    def freshness(self, rates: list[int], seconds: float) -> dict[int, tuple[float, float, int, float]]:
        """Per rate: (p50, p99, events sent) over the measured window, and the p99 of its warm-up before it."""
        self.client.flushdb()
        topic, stop, visibility = self.topic(preload=False), threading.Event(), Visibility()
        stop_all = self.job(topic, visibility, stop)
        out = {}
        try:
            paced(self.bootstrap, topic, 2_000, 15.0, offset=0)  # job start-up, not measured
            for i, rate in enumerate(rates):
                visibility.latencies = []
                paced(self.bootstrap, topic, rate, WARMUP_S, offset=(i + 1) * 10**7)
                warm_up, visibility.latencies = np.array(visibility.latencies), []
                sent = paced(self.bootstrap, topic, rate, seconds, offset=(i + 1) * 10**7 + 10**6)
                time.sleep(2.0)  # the last events' snapshots
                latencies, visibility.latencies = np.array(visibility.latencies), None
                p50, p99 = np.percentile(latencies, [50, 99])
                out[rate] = (float(p50), float(p99), sent, float(np.percentile(warm_up, 99)))
        finally:
            stop_all()
        return out


WARMUP_S = 10.0
"""Each rate runs this long before its measured window: when the rate rises, the JIT compilers of the broker and of the
job's JVM take up to a core for some seconds, longest on a cold machine (docs/benchmarks.md). The steady state is the
target; the warm-up's own p99 is reported beside it, not hidden."""

LOG_ROLL_MS = 10_000
"""Event-log parts close every 10 s here (60 s by default) so that commits and compaction fall inside a throughput
run of a minute or two, as they do in a long-running job."""


def paced(bootstrap: str, topic: str, rate: int, seconds: float, offset: int) -> int:
    """Produce `rate` events/s for `seconds` in 10 ms ticks, each event stamped with the time its tick is due; returns
    the count. The events are made and encoded before the first tick: the load generator is not the system under
    test, and made tick by tick it took CPU from it (docs/benchmarks.md). An event sent after its tick was due still
    carries the due time, so a generator that falls behind adds to the measured latency, never hides any."""
    producer = Producer({**PRODUCER_DEFAULTS, "bootstrap.servers": bootstrap, "linger.ms": 1})
    per_tick = max(1, rate // 100)
    ticks = max(1, int(rate * seconds) // per_tick)
    n = ticks * per_tick
    events = pa.concat_tables(SyntheticSource(n, seed=offset % 1000 + 1).batches(n))
    ids = pa.array([f"p{offset + i}" for i in range(n)])
    events = events.set_column(events.schema.get_field_index("event_id"), "event_id", ids)
    keys = user_keys(events)
    started = time.time() + ENCODE_LEAD_S
    due_ms = int(started * 1000) + (np.arange(n, dtype=np.int64) // per_tick) * 10
    events = events.set_column(events.schema.get_field_index("event_time"), "event_time", pa.array(due_ms))
    values = encode_batch(default_registry().latest("click_event"), events).rows()
    for tick in range(ticks):
        wait = started + tick / 100 - time.time()
        if wait > 0:
            time.sleep(wait)
        produce_all(producer, topic, values[tick * per_tick : (tick + 1) * per_tick],
                    keys[tick * per_tick : (tick + 1) * per_tick])  # fmt: skip
    producer.flush(30)
    return n


ENCODE_LEAD_S = 0.5
"""The first tick is due this long after the events are stamped: enough for their encoding, a vectorised pass."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--rates", default="2000,10000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cap", type=float, default=30.0, help="seconds a baseline is followed at most")
    parser.add_argument("--baselines", default="naive,feast,plain", help="comma list, or none")
    parser.add_argument("--checkpoint-interval-ms", type=int, default=StreamSettings().checkpoint_interval_ms)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--state-ttl-s", default=str(StreamSettings().state_ttl_s),
                        help="comma list: one behavior-job row per state TTL (0: none), the first the ratios' base")
    parser.add_argument("--parallelism", default="none", help="comma list: one row per parallelism of the job alone, "
                        "the first the ratios' base; none: no such rows")  # fmt: skip
    parser.add_argument("--event-log", default="on", help="comma list of on|off: one behavior-job row per setting, "
                        "after the TTL rows (on: as `freshrec stream run`)")  # fmt: skip
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        kafka = LocalKafka(KafkaSettings(port=free_port(), controller_port=free_port()), tmp, settings.cache_dir)
        redis_server = LocalRedis(RedisSettings(port=free_port()), tmp)
        kafka.start()
        redis_server.start()
        try:
            run(Bench(tmp, kafka, redis_server, args.events, args.checkpoint_interval_ms), args)
        finally:
            kafka.stop()
            redis_server.stop()


def run(bench: Bench, args: argparse.Namespace) -> None:
    print(f"Kafka {bench.kafka.version()}, Redis {bench.redis_server.version()}, job checkpoints every "
          f"{bench.checkpoint_interval_ms:,} ms\n")  # fmt: skip
    if args.rates != "none":  # first: on a quiet broker
        print(f"| rate (events/s) | events | freshness p50 (ms) | p99 (ms) | p99 of the {WARMUP_S:.0f} s warm-up (ms) |")
        print("|---:|---:|---:|---:|---:|")
        rates = [int(r) for r in args.rates.split(",")]
        for rate, (p50, p99, sent, warm_p99) in bench.freshness(rates, args.seconds).items():
            print(f"| {rate:,} | {sent:,} | {p50:.0f} | {p99:.0f} | {warm_p99:.0f} |")
        print()
    if not args.skip_throughput:
        throughput(bench, args)
    if args.parallelism != "none":
        alone(bench, [int(p) for p in args.parallelism.split(",")], args.cap)


def alone(bench: Bench, parallelisms: list[int], cap_s: float) -> None:
    print(f"\nThe job alone, {bench.events:,} synthetic events preloaded per row\n")
    print("| parallelism | events applied | seconds | events/s | vs first row |")
    print("|---:|---:|---:|---:|---:|")
    base = None
    for parallelism in parallelisms:
        progress = bench.throughput_alone(parallelism, cap_s)
        seconds = progress.samples[-1][0] - progress.samples[0][0] if len(progress.samples) > 1 else 0.0
        rate = progress.rate()
        base = base or rate
        print(f"| {parallelism} | {progress.applied:,} | {seconds:.1f} | {rate:,.0f} | {rate / base:.2f}x |")


def throughput(bench: Bench, args: argparse.Namespace) -> None:
    print(f"{bench.events:,} synthetic events preloaded per system\n")
    results = [(f"freshrec behavior job (JVM operators + snapshot writer), state TTL {ttl} s, event log {log}",
                bench.throughput_job(120, StreamSettings(state_ttl_s=int(ttl), event_log_roll_ms=LOG_ROLL_MS), log == "on"))
               for ttl in args.state_ttl_s.split(",") for log in args.event_log.split(",")]  # fmt: skip
    chosen = args.baselines.split(",")
    if "naive" in chosen:
        results.append(("(1) naive PyFlink KeyedProcessFunction", bench.throughput_naive(args.cap)))
    if "feast" in chosen:
        store = open_store(copy_repo(bench.tmp / "feast-repo"), f"127.0.0.1:{bench.redis_server.settings.port}")
        apply(store)
        results.append(("(2) Feast push consumer", bench.throughput_consumer(baselines.feast_pusher(store), args.cap)))
    if "plain" in chosen:
        results.append(("(3) plain Python consumer", bench.throughput_consumer(baselines.codec_writer(bench.client), args.cap)))
    job_rate = results[0][1].rate()
    print("| system | events visible | seconds | events/s | job / system |")
    print("|---|---:|---:|---:|---:|")
    for name, progress in results:
        seconds = progress.samples[-1][0] - progress.samples[0][0] if len(progress.samples) > 1 else 0.0
        rate = progress.rate()
        ratio = f"{job_rate / rate:.1f}x" if rate else "-"
        print(f"| {name} | {progress.applied:,} | {seconds:.1f} | {rate:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
