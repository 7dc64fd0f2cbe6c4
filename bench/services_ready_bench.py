"""Test services' start-up per backend, same run: seconds from nothing to Kafka (a produce/fetch round trip) and
Redis (PING) both ready, as the test fixtures start them.

    export $(scripts/docker.sh); python -m bench.services_ready_bench [--runs 3] [--backends local,docker]

The local processes are the baseline; the containers' ratio to them is printed last.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from freshrec.testing.services import kafka_service, redis_service


def ready_seconds(backend: str) -> float:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        stack.enter_context(kafka_service(backend, Path(scratch) / "kafka"))
        stack.enter_context(redis_service(backend, Path(scratch) / "redis"))
        return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="local,docker")
    args = parser.parse_args()
    medians = {}
    for backend in args.backends.split(","):
        times = [ready_seconds(backend) for _ in range(args.runs)]
        medians[backend] = statistics.median(times)
        print(f"{backend}: ready in {', '.join(f'{t:.1f}' for t in times)} s (median {medians[backend]:.1f})", flush=True)
    if "local" in medians:
        for backend, median in medians.items():
            print(f"{backend}/local: {median / medians['local']:.2f}x")


if __name__ == "__main__":
    main()
