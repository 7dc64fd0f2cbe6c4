"""Replay throughput against a bare confluent-kafka producer loop, same broker, same producer config, same run.

    python -m bench.replay_bench [--events 1000000] [--rounds 5]

The baseline produces already-encoded messages and keys from Python lists: the ceiling of any Python producer on this
machine. The replay does everything `freshrec replay` does (generate or slice the dataset, columnar Avro encoding,
keys, produce, wait for every acknowledgement). After one untimed warm-up, rounds alternate baseline/replay on
fresh topics; medians reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from confluent_kafka import Producer

from infra.config import KafkaSettings, load_settings
from infra.stack.kafka import LocalKafka
from infra.stack.process import free_port
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from sources.datasets import ClickSource, SyntheticSource, load
from streaming.replay import PRODUCER_DEFAULTS, produce_all, replay, user_keys


def bare_producer_rate(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes]) -> float:
    producer = Producer({**PRODUCER_DEFAULTS, "bootstrap.servers": bootstrap})
    started = time.perf_counter()
    produce_all(producer, topic, values, keys)
    if producer.flush(60):
        raise RuntimeError("baseline: undelivered messages")
    return len(values) / (time.perf_counter() - started)


def pre_encoded(source: ClickSource) -> tuple[list[bytes], list[bytes]]:
    table = pa.concat_tables(source.batches())
    return encode_batch(default_registry().latest("click_event"), table).rows(), user_keys(table)


def measure(bootstrap: str, name: str, source: ClickSource, rounds: int) -> tuple[str, float, float, int]:
    values, keys = pre_encoded(source)
    bare_producer_rate(bootstrap, f"bench-{name}-warmup", values, keys)  # broker and page cache warm, not timed
    base, ours = [], []
    for r in range(rounds):
        base.append(bare_producer_rate(bootstrap, f"bench-{name}-base-{r}", values, keys))
        ours.append(replay(source, f"bench-{name}-replay-{r}", {"bootstrap.servers": bootstrap}).rate)
    return name, statistics.median(base), statistics.median(ours), len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="synthetic events per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory() as tmp:
        broker = LocalKafka(KafkaSettings(port=free_port(), controller_port=free_port(), heap="1g"), Path(tmp), settings.cache_dir)
        broker.start()
        try:
            rows = [
                measure(broker.bootstrap_servers, "taobao-2h", load("taobao-2h", settings.datasets_dir), args.rounds),
                measure(broker.bootstrap_servers, "synthetic", SyntheticSource(num_events=args.events), args.rounds),
            ]
            version = broker.version()
        finally:
            broker.stop()
    print(f"Apache Kafka {version} local broker, {args.rounds} rounds, medians\n")
    print("| dataset | events | bare producer (ev/s) | freshrec replay (ev/s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, base, ours, n in rows:
        print(f"| {name} | {n:,} | {base:,.0f} | {ours:,.0f} | {ours / base:.2f} |")


if __name__ == "__main__":
    main()
