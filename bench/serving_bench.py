"""Serving load test on loopback: the cached path, the compute path, and the compute path without micro-batching
(the baseline), same model, same machine, same run.

    python -m bench.serving_bench [--model DIR] [--users 30000] [--seconds 15] [--api-workers N]

A private Redis holds `user_realtime` features for real users of the model's dataset (their histories minus the
last item). The API runs as `freshrec serve` in its own process; the load generator (`bench.http_load`, closed
loop, keep-alive) in this one. Phases:
  1. compute, micro-batched: every request for a user not requested before (their result is computed, then
     written back to the cache);
  2. cached: requests for the users of phase 1, at random (each answer comes from the cache): closed loop (the most
     it answers), then paced at `--cached-rate` (the latency at that load, the target's terms);
  3. compute, unbatched baseline: the API restarted with max_batch=1, fresh users, as phase 1.
  4. with `--intent`: every user also gets intent tags (3 categories of the model's catalogue), and the cached phase
     runs again with the intent channel off and on (`serving.intent_items` 0 / its default), ABBA, each in a fresh
     API process: the channel's cost per request.
With `--against DIR` (another model directory trained on the same data, e.g. with latent reasoning): only the
compute path, micro-batched, of both models, ABBA, each phase in a fresh API process; the first two phases on one
half of the users, the last two on the other, so both models answer the same users and every answer is computed.
The refresher's click -> fresh result latency is measured by `bench.freshness_bench`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import orjson
import redis

from bench.http_load import LoadResult, run_load
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import SEQUENCE_LENGTH, USER_INTENT, USER_REALTIME
from inference import artifacts
from inference.item_vocabulary import ItemVocabulary
from inference.model_dirs import newest_model
from inference.pipeline import load_training_data
from inference.sequences import leave_one_out
from infra.config import RedisSettings, load_settings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis


def write_users(client: redis.Redis, histories: list[np.ndarray]) -> None:
    now = int(time.time() * 1000)
    writer = OnlineWriter(client, USER_REALTIME)
    for start in range(0, len(histories), 1_000):
        rows = []
        for user, history in enumerate(histories[start : start + 1_000], start):
            items = history[-SEQUENCE_LENGTH:].tolist()
            row = sample_realtime_row(user, now, n=len(items), seed=user)
            rows.append(row | {"item_ids": items})
        writer.write(rows)


def write_intents(client: redis.Redis, users: int, categories: np.ndarray, rng: np.random.Generator) -> None:
    now = int(time.time() * 1000)
    rows = [{"user_id": user, "event_time": now, "tags": ["bench a", "bench b", "bench c"],
             "tag_scores": [0.9, 0.8, 0.7], "tag_categories": rng.choice(categories, 3).tolist(), "grade": "A",
             "model_version": "bench", "prompt_version": "bench", "intent_date": "2026-01-01"} for user in range(users)]  # fmt: skip
    OnlineWriter(client, USER_INTENT).write(rows)


@contextmanager
def users_in_redis(histories: list[np.ndarray]) -> Iterator[LocalRedis]:
    """A private Redis holding `user_realtime` rows for `histories` (user i: histories[i])."""
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalRedis(RedisSettings(port=free_port()), Path(tmp))
        server.start()
        try:
            write_users(server.client(), histories)
            yield server
        finally:
            server.stop()


@contextmanager
def api(model: Path, redis_port: int, **serving: object) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "FRESHREC_REDIS__PORT": str(redis_port), "FRESHREC_SERVING__MODEL_DIR": str(model),
           **{f"FRESHREC_SERVING__{k.upper()}": str(v) for k, v in serving.items()}}  # fmt: skip
    freshrec = Path(sys.executable).parent / "freshrec"
    process = subprocess.Popen([str(freshrec), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not become ready") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(30)


def bodies(users: Iterator[int], k: int) -> callable:  # noqa: ANN001
    def next_body() -> bytes | None:
        user = next(users, None)
        return None if user is None else orjson.dumps({"user_id": user, "k": k})

    return next_body


def row(name: str, result: LoadResult, baseline: LoadResult | None = None) -> str:
    ratio = f"{result.rate / baseline.rate:.2f}x" if baseline else ""
    paths = ", ".join(f"{p} {n}" for p, n in result.paths.most_common())
    errors = sum(n for s, n in result.statuses.items() if s != 200)
    return (f"| {name} | {result.rate:,.0f} | {result.percentile_ms(50):.1f} | {result.percentile_ms(99):.1f} | "
            f"{ratio} | {paths}; errors {errors} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: the newest)")
    parser.add_argument("--users", type=int, default=30_000, help="at most the dataset's test users")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--compute-concurrency", type=int, default=16)
    parser.add_argument("--cached-concurrency", type=int, default=32)
    parser.add_argument("--cached-rate", type=float, default=5_000, help="offered load of the paced cached phase")
    parser.add_argument("--api-workers", type=int, default=None, help="API processes (default: serving.workers)")
    parser.add_argument("--intent", action="store_true", help="also: the cached path with the intent channel off / on")
    parser.add_argument("--against", type=Path, default=None, help="only: the compute path of --model vs this model")
    args = parser.parse_args()
    settings = load_settings()
    model = args.model or newest_model(settings.models_dir)
    trained = artifacts.load(model).config["pipeline"]
    data = load_training_data(trained["dataset"], trained.get("before"), settings.datasets_dir, settings.archives_dir,
                              settings.offline_dir)  # fmt: skip
    histories = leave_one_out(data).test_history[: args.users]
    half = len(histories) // 2
    rng = np.random.default_rng(0)
    print(f"model {model.name}; {len(histories)} users; beam {settings.serving.beam}; k {args.k}; "
          f"API workers {args.api_workers or settings.serving.workers}; {os.cpu_count()} cores", flush=True)  # fmt: skip

    if args.against is not None:
        compare(model, args.against, histories, args)
        return
    workers = {"workers": args.api_workers} if args.api_workers else {}
    with users_in_redis(histories) as server:
        with api(model, server.settings.port, **workers) as port:
            batched = run_load("127.0.0.1", port, "/recommend", bodies(iter(range(half)), args.k),
                               args.compute_concurrency, args.seconds)  # fmt: skip
            warmed = int(sum(batched.paths.values()))
            time.sleep(1)  # the last write-backs
            cached, paced = (
                run_load("127.0.0.1", port, "/recommend",
                         bodies((int(u) for u in itertools.cycle(rng.integers(0, warmed, 1_000_000))), args.k),
                         concurrency, args.seconds, rate)
                for concurrency, rate in ((args.cached_concurrency, None), (2 * args.cached_concurrency, args.cached_rate))
            )  # fmt: skip
        with api(model, server.settings.port, max_batch=1, **workers) as port:
            unbatched = run_load("127.0.0.1", port, "/recommend", bodies(iter(range(half, len(histories))), args.k),
                                 args.compute_concurrency, args.seconds)  # fmt: skip
        channel = []
        if args.intent:
            categories = ItemVocabulary.load(model).categories
            write_intents(server.client(), warmed, np.unique(categories[categories >= 0]), rng)
            for items in (0, settings.serving.intent_items, settings.serving.intent_items, 0):
                with api(model, server.settings.port, intent_items=items, **workers) as port:
                    users = (int(u) for u in itertools.cycle(rng.integers(0, warmed, 1_000_000)))
                    channel.append((items, run_load("127.0.0.1", port, "/recommend", bodies(users, args.k),
                                                    args.cached_concurrency, args.seconds)))  # fmt: skip
    print("| path | req/s | p50 ms | p99 ms | vs unbatched | answers |")
    print("|---|---:|---:|---:|---:|---|")
    print(row(f"cached (concurrency {args.cached_concurrency})", cached))
    print(row(f"cached, paced at {args.cached_rate:,.0f} req/s", paced))
    print(row(f"compute, micro-batched (max {settings.serving.max_batch}, concurrency {args.compute_concurrency})",
              batched, unbatched))  # fmt: skip
    print(row(f"compute, unbatched baseline (concurrency {args.compute_concurrency})", unbatched, unbatched))
    off = [result for items, result in channel if items == 0]
    for items, result in channel:
        name = f"cached, intent tags, channel {'off' if items == 0 else f'on ({items} of k)'}"
        print(row(name, result, off[0] if items else None))


def compare(model: Path, against: Path, histories: list[np.ndarray], args: argparse.Namespace) -> None:
    """The compute path of two models, ABBA: (model, half 1), (against, half 1), (against, half 2), (model, half 2)."""
    half = len(histories) // 2
    workers = {"workers": args.api_workers} if args.api_workers else {}
    results: dict[Path, list[LoadResult]] = {model: [], against: []}
    with users_in_redis(histories) as server:
        for directory, users in ((model, range(half)), (against, range(half)), (against, range(half, 2 * half)),
                                 (model, range(half, 2 * half))):  # fmt: skip
            with api(directory, server.settings.port, **workers) as port:
                results[directory].append(run_load("127.0.0.1", port, "/recommend", bodies(iter(users), args.k),
                                                   args.compute_concurrency, args.seconds))  # fmt: skip
    print(f"against {against.name}\n")
    print("| model, compute path (ABBA) | req/s | p50 ms | p99 ms | vs --model | answers |")
    print("|---|---:|---:|---:|---:|---|")
    for directory in (model, against):
        for phase, result in zip(("first", "second"), results[directory]):
            baseline = results[model][0 if phase == "first" else 1]
            print(row(f"{directory.name} ({phase} {'A' if directory == model else 'B'})", result, baseline))


if __name__ == "__main__":
    main()
