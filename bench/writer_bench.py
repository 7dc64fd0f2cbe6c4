"""The snapshot writer's cost per snapshot, step by step, without Kafka: where a batch's time goes.

    python -m bench.writer_bench [--users 20000] [--batch 5000] [--small-batch 200] [--rounds 3]

Snapshots as the behavior job sends them (schemas/avro/user_snapshot.v1.avsc, Avro single-object encoding; 50 items
each, the view's maximum), in batches of the writer's size, through the writer's steps: parse (the batch decode,
newest per user, `sid_codes` from a semantic-id table of 1M items), validate,
store (the versioned Lua batch write on a local Redis), encode the feature-updates, append the offline snapshots
(parquet, zstd). The offline append is timed twice in the same run: with dictionary pages on every column (the
baseline: parquet's default, what the writer used before) and as `parquet_log.write` writes it (dictionary pages on
scalar columns only). The decode alone is timed twice too: the same snapshots as JSON parsed in Arrow (the baseline:
the wire format before, floats with 9 significant digits as the job wrote them) and decoded from Avro
(`schemas.columnar_decode`). Best of `--rounds` per step. Then all the batches through all the steps twice per round,
each batch's steps in turn (the writer's arrangement before) and pipelined as the writer now runs them (batch N+1
parsed and N appended to parquet while Redis applies N): the ratio of the two, same run, same tables. Last, the
offline step for batches of `--small-batch` snapshots (a poll's worth when the writer keeps up): a part per batch
(the baseline: the writer before) and gathered into parts (`streaming.snapshot_parts`, as the writer now does).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import redis

from feature_store.offline import parquet_log
from feature_store.online.validation import validate
from feature_store.online.writer import OnlineWriter, PendingWrite
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_REALTIME
from infra.config import RedisSettings
from infra.stack.process import free_port
from infra.stack.redis import LocalRedis
from schemas.arrow import arrow_schema
from schemas.codec import AvroCodec
from schemas.columnar import encode_batch
from schemas.columnar_decode import decode_batch
from schemas.ragged import decimal_ascii
from schemas.registry import default_registry
from streaming.snapshot_parts import SnapshotParts
from streaming.snapshot_writer import SNAPSHOT, snapshots_table
from streaming.state.representation import ArraySemanticIds

STATE_FIELDS = [f["name"] for f in next(f for f in SNAPSHOT.schema["fields"] if f["name"] == "s")["type"]["fields"]]


def snapshot(user: int, now: int) -> dict:
    row = sample_realtime_row(user, now - 1000, version=now, n=50, seed=user)
    row["item_ids"] = [i % 1_000_000 + 1 for i in row["item_ids"]]
    return {"user_id": user, "s": {name: row[name] for name in STATE_FIELDS}}


def as_json(record: dict) -> bytes:
    """The snapshot as the job wrote it before it wrote Avro: JSON, floats with 9 significant digits."""
    text = json.dumps(record, separators=(",", ":"))
    interest = record["s"]["interest"]
    floats = ",".join(f"{v:.9g}" for v in np.asarray(interest, dtype=np.float32))
    return text.replace(json.dumps(interest, separators=(",", ":")), f"[{floats}]").encode()


JSON_PARSE = pa_json.ParseOptions(explicit_schema=arrow_schema(SNAPSHOT.schema))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--small-batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    records = [snapshot(u, now) for u in range(1, args.users + 1)]
    codec = AvroCodec("user_snapshot")
    values, texts = [codec.encode(r) for r in records], [as_json(r) for r in records]
    semantic_ids = ArraySemanticIds(np.random.default_rng(0).integers(0, 255, (1_000_001, 4)), version="bench")
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalRedis(RedisSettings(port=free_port()), Path(tmp))
        server.start()
        try:
            client = redis.Redis(port=server.settings.port)
            steps = measure(values, texts, args.batch, args.rounds, semantic_ids, client, Path(tmp))
            arrangements = measure_arrangements(values, args.batch, args.rounds, semantic_ids, client, Path(tmp))
            offline = measure_parts(values, args.small_batch, args.rounds, semantic_ids, Path(tmp))
        finally:
            server.stop()
    per = {name: seconds / args.users * 1e6 for name, seconds in steps.items()}
    common = sum(v for k, v in per.items() if not k.startswith(("offline", "decode")))
    avro, text = sum(map(len, values)) / len(values), sum(map(len, texts)) / len(texts)
    print(f"{args.users:,} snapshots of 50 items ({avro:,.0f} bytes as Avro, {text:,.0f} as JSON), batches of "
          f"{args.batch:,}, best of {args.rounds} rounds\n")
    print("| step | us per snapshot |\n|---|---:|")
    for name, us in per.items():
        print(f"| {name} | {us:.1f} |")
    before, after = common + per["offline, dictionary on every column"], common + per["offline, as parquet_log writes"]
    print(f"\nwriter steps, baseline offline append: {before:.1f} us ({1e6 / before:,.0f} snapshots/s)")
    print(f"writer steps, parquet_log's append: {after:.1f} us ({1e6 / after:,.0f} snapshots/s): {before / after:.2f}x")
    json_us, avro_us = per["decode only, JSON in Arrow"], per["decode only, Avro batch"]
    print(f"decode only: Avro batch {avro_us:.1f} us, JSON in Arrow {json_us:.1f} us: {json_us / avro_us:.2f}x")
    print("\n| batches (parse, validate, store, feature-updates, offline append) | us per snapshot | snapshots/s "
          "| vs in turn |")
    print("|---|---:|---:|---:|")
    for name, seconds in arrangements.items():
        us = seconds / args.users * 1e6
        print(f"| {name} | {us:.1f} | {1e6 / us:,.0f} | {arrangements['in turn'] / seconds:.2f}x |")
    print(f"\n| offline step, batches of {args.small_batch} | us per snapshot | parts | vs a part per batch |")
    print("|---|---:|---:|---:|")
    for name, (seconds, parts) in offline.items():
        us = seconds / args.users * 1e6
        print(f"| {name} | {us:.1f} | {parts:,} | {offline['a part per batch'][0] / seconds:.2f}x |")


def measure(values: list[bytes], texts: list[bytes], batch: int, rounds: int, semantic_ids: ArraySemanticIds,
            client: redis.Redis, tmp: Path) -> dict[str, float]:  # fmt: skip
    """Per step, the best round's seconds over all the snapshots (`texts`: the same ones as JSON)."""
    writer, updates = OnlineWriter(client, USER_REALTIME), default_registry().latest("feature_update")
    best: dict[str, float] = {}
    for round_ in range(rounds):
        client.flushdb()
        spent: dict[str, float] = {}
        for start in range(0, len(values), batch):
            marks = [time.perf_counter()]
            pa_json.read_json(io.BytesIO(b"\n".join(texts[start : start + batch])), parse_options=JSON_PARSE)
            marks.append(time.perf_counter())
            decode_batch(SNAPSHOT, values[start : start + batch])
            marks.append(time.perf_counter())
            table = snapshots_table(values[start : start + batch], semantic_ids)
            marks.append(time.perf_counter())
            validate(USER_REALTIME, table)
            marks.append(time.perf_counter())
            writer.write_table(table)
            marks.append(time.perf_counter())
            encode_batch(updates, table.select(["user_id", "version", "event_time"])).rows()
            decimal_ascii(table["user_id"].to_numpy()).rows()
            marks.append(time.perf_counter())
            offline = parquet_log.snapshots_table(USER_REALTIME, table, int(time.time() * 1000))
            pq.write_table(offline, tmp / f"baseline-{round_}-{start}.parquet", compression="zstd")
            marks.append(time.perf_counter())
            parquet_log.append_snapshots(tmp / f"round-{round_}", USER_REALTIME, table)
            marks.append(time.perf_counter())
            names = ["decode only, JSON in Arrow", "decode only, Avro batch", "parse", "validate", "store (Redis)",
                     "feature-updates encoding", "offline, dictionary on every column",
                     "offline, as parquet_log writes"]  # fmt: skip
            for name, a, b in zip(names, marks, marks[1:]):
                spent[name] = spent.get(name, 0.0) + b - a
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
    return best


def measure_arrangements(values: list[bytes], batch: int, rounds: int, semantic_ids: ArraySemanticIds,
                         client: redis.Redis, tmp: Path) -> dict[str, float]:  # fmt: skip
    """All the batches through every step, best round's seconds: each batch's steps in turn (the writer before), and
    pipelined as `SnapshotWriter` runs them (batch N+1 parsed and N appended while Redis applies N)."""
    writer, updates = OnlineWriter(client, USER_REALTIME), default_registry().latest("feature_update")
    chunks = [values[start : start + batch] for start in range(0, len(values), batch)]

    def acknowledge(table: pa.Table) -> None:
        encode_batch(updates, table.select(["user_id", "version", "event_time"])).rows()
        decimal_ascii(table["user_id"].to_numpy()).rows()

    def in_turn(directory: Path) -> None:
        for chunk in chunks:
            table = snapshots_table(chunk, semantic_ids)
            validate(USER_REALTIME, table)
            writer.write_table(table)
            acknowledge(table)
            parquet_log.append_snapshots(directory, USER_REALTIME, table)

    def pipelined(directory: Path) -> None:
        pending: tuple[PendingWrite, pa.Table] | None = None
        for chunk in [*chunks, None]:
            table = snapshots_table(chunk, semantic_ids) if chunk is not None else None
            if table is not None:
                validate(USER_REALTIME, table)
            if pending is not None:
                pending[0].result()
                acknowledge(pending[1])
            if table is not None:
                pending = writer.send_table(table), table
                parquet_log.append_snapshots(directory, USER_REALTIME, table)

    best: dict[str, float] = {}
    for round_ in range(rounds):
        for name, run in (("in turn", in_turn), ("pipelined", pipelined)):
            client.flushdb()
            started = time.perf_counter()
            run(tmp / f"{name}-{round_}")
            best[name] = min(time.perf_counter() - started, best.get(name, float("inf")))
    return best


def measure_parts(values: list[bytes], small: int, rounds: int, semantic_ids: ArraySemanticIds,
                  tmp: Path) -> dict[str, tuple[float, int]]:  # fmt: skip
    """The offline step over batches of `small` snapshots, best round's seconds and the parts made: a part per batch,
    and gathered by `SnapshotParts` (its default size)."""
    tables = [snapshots_table(values[start : start + small], semantic_ids) for start in range(0, len(values), small)]

    def per_batch(directory: Path) -> None:
        for i, table in enumerate(tables):
            parquet_log.append_snapshots(directory, USER_REALTIME, table, ("snapshots", {0: i}))

    def gathered(directory: Path) -> None:
        parts = SnapshotParts(directory, USER_REALTIME, "snapshots")
        for i, table in enumerate(tables):
            parts.add(table, {0: i})
        parts.flush()

    best: dict[str, tuple[float, int]] = {}
    for round_ in range(rounds):
        for name, run in (("a part per batch", per_batch), ("gathered into parts", gathered)):
            directory = tmp / f"parts-{round_}-{name[0]}"
            started = time.perf_counter()
            run(directory)
            seconds = time.perf_counter() - started
            made = len(list((directory / USER_REALTIME.name).glob("part-*.parquet")))
            best[name] = min((seconds, made), best.get(name, (float("inf"), 0)))
    return best


if __name__ == "__main__":
    main()
