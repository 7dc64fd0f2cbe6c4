"""Click -> fresh result: how long after a click the user's cached recommendations reflect it, at a fixed click rate,
through the whole real path on this machine:

    clicks (Kafka) -> behavior job (Flink, checkpoints on) -> snapshot writer -> Redis + feature-updates
                   -> refresher (features read, ranked, cached with the feature version)

The refresher runs in a process of its own, as deployed (`freshrec refresh`); the writer and the click producer
share this one.

    python -m bench.freshness_bench [--model DIR] [--rate 1000] [--seconds 30] [--users 5000]

Clicks come from real users of the model's dataset: `--users` users, each clicking the items of their own history in
order, users interleaved at random, `--rate` clicks/s, event time = send time. Two lags, each measured from the event
time of the newest click a snapshot holds, the first 5 s (warm-up) dropped:
- features stored: the snapshot is in Redis and its feature-update acknowledged. From then on every request gets a
  result that reflects the click: the refresher's cached one, or, for an update it shed, one the API computes;
- fresh result cached: the refresher has written the user's new top-K with that feature version.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from inference import artifacts
from inference.model_dirs import newest_model
from inference.pipeline import load_training_data
from inference.sequences import leave_one_out
from inference.serving.config import ServingConfig
from inference.serving.loading import open_ranker
from inference.serving.refresher import Refresher
from inference.serving.result_cache import ResultCache
from infra.config import KafkaSettings, RedisSettings, load_settings
from infra.jars import fetch
from infra.stack.kafka import LocalKafka
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from schemas.codec import AvroCodec
from schemas.topics import DEFAULT_TOPICS
from streaming.flink.environment import job_jar
from streaming.jobs.behavior_job import JobConfig, start
from streaming.snapshot_writer import SnapshotWriter

WARM_UP_S = 5


def produce_clicks(bootstrap: str, topic: str, histories: list[np.ndarray], rate: int, seconds: float) -> int:
    """`rate` clicks/s in 10 ms ticks; returns how many were sent."""
    codec = AvroCodec("click_event")
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
    rng = np.random.default_rng(0)
    position = np.zeros(len(histories), dtype=np.int64)
    sent, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for user in rng.integers(0, len(histories), int(rate * elapsed) - sent):
            item = int(histories[user][position[user] % len(histories[user])])
            position[user] += 1
            event = {"event_id": uuid.uuid4().hex, "user_id": int(user), "item_id": item, "category_id": 0,
                     "behavior": "PV", "event_time": int(time.time() * 1000)}  # fmt: skip
            producer.produce(topic, codec.encode(event), b"%d" % user)
            sent += 1
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=64, help="refresher batch size")
    parser.add_argument("--workers", type=int, default=2, help="refresher threads")
    parser.add_argument("--max-lag-ms", type=int, default=500, help="refresher: shed updates older than this")
    args = parser.parse_args()
    settings = load_settings()
    model = args.model or newest_model(settings.models_dir)
    trained = artifacts.load(model).config["pipeline"]
    data = load_training_data(trained["dataset"], trained.get("before"), settings.datasets_dir, settings.archives_dir,
                              settings.offline_dir)  # fmt: skip
    histories = leave_one_out(data).test_history[: args.users]
    config = settings.serving.model_copy(update={"model_dir": model})

    with tempfile.TemporaryDirectory() as tmp:
        kafka = LocalKafka(KafkaSettings(port=free_port(), controller_port=free_port()), Path(tmp), settings.cache_dir)
        store = LocalRedis(RedisSettings(port=free_port()), Path(tmp))
        kafka.start()
        store.start()
        bootstrap, client = kafka.bootstrap_servers, redis.Redis(port=store.settings.port)
        topics = DEFAULT_TOPICS
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(t, 2, 1) for t in topics.names()]).values():
            future.result(30)
        jars = [*sorted(fetch("flink-connectors", settings.cache_dir).glob("*.jar")), job_jar()]
        job = start(JobConfig(bootstrap), jars)
        stop = threading.Event()
        visible: list[tuple[int, np.ndarray]] = []  # (stored ms, event times of the batch's snapshots)
        writer = SnapshotWriter(bootstrap, OnlineWriter(client, USER_REALTIME), None,
                                on_written=lambda table, ms, _s: visible.append((ms, table["event_time"].to_numpy())))  # fmt: skip
        spawn = multiprocessing.get_context("spawn")
        ready, stop_refresher, outcome = spawn.Event(), spawn.Event(), spawn.Queue()
        refresher = spawn.Process(target=refresh_process, args=(
            bootstrap, topics.feature_updates, store.settings.port, config, settings.models_dir, args, ready, stop_refresher, outcome))  # fmt: skip
        results = {}
        writing = threading.Thread(target=lambda: results.__setitem__("writer", writer.run(should_stop=stop.is_set)))
        try:
            refresher.start()
            if not ready.wait(120):
                raise RuntimeError("the refresher process did not start")
            writing.start()
            time.sleep(5)  # the job's first checkpoint and the consumers' partition assignment
            started_ms = int(time.time() * 1000)
            sent = produce_clicks(bootstrap, topics.clicks, histories, args.rate, args.seconds)
            time.sleep(5)  # let the last clicks through
            stop_refresher.set()
            results["refresher"] = outcome.get(timeout=60)  # before joining: its stats travel through the queue
        finally:
            stop.set()
            stop_refresher.set()
            if writing.ident is not None:
                writing.join(60)
            refresher.join(60)
            if refresher.is_alive():
                refresher.terminate()
            job.cancel()
            kafka.stop()
            store.stop()
    stats = results["refresher"]
    after_warm_up = started_ms + WARM_UP_S * 1000
    stored = np.concatenate([ms - times[times >= after_warm_up] for ms, times in visible])
    lags = list(stats.lag_ms)
    cached = np.asarray(lags[len(lags) * WARM_UP_S // int(args.seconds + 5) :])
    print(f"model {model.name}; runtime {config.runtime}; beam {config.beam}; {sent} clicks in {args.seconds:.0f} s "
          f"({sent / args.seconds:,.0f}/s) from {len(histories)} users; started {started_ms}")  # fmt: skip
    print(f"snapshots written {results['writer'].snapshots}; feature updates {stats.updates}; users refreshed "
          f"{stats.users} ({stats.users / max(stats.updates, 1):.1%}); results cached {stats.written}; "
          f"shed (older than {args.max_lag_ms} ms) {stats.shed}")  # fmt: skip
    for name, lag in (("click -> features stored (fresh on request)", stored), ("click -> fresh result cached", cached)):
        p50, p99 = np.percentile(lag, [50, 99])
        print(f"{name}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {lag.max():.0f} ms ({len(lag)} after the "
              f"{WARM_UP_S} s warm-up)")  # fmt: skip


def refresh_process(bootstrap: str, topic: str, redis_port: int, config: ServingConfig, models_dir: Path,
                    args: argparse.Namespace, ready, stop, outcome) -> None:  # noqa: ANN001  (multiprocessing primitives)
    """The refresher as `freshrec refresh` runs it: its own process, its own interpreter lock."""
    client = redis.Redis(port=redis_port)
    refresher = Refresher(bootstrap, topic, OnlineReader(client, [USER_REALTIME]), open_ranker(config, models_dir),
                          ResultCache(client, 3600), batch_size=args.batch, workers=args.workers, max_lag_ms=args.max_lag_ms)  # fmt: skip
    ready.set()
    outcome.put(refresher.run(should_stop=stop.is_set))


if __name__ == "__main__":
    main()
