"""The daily intent run for one date: every user active that day gets tags (agents), a grade (judge), a row in the
`user_intent` offline snapshots and in the online store.

Resumable: each finished user is appended at once to the date's progress folder (`_intent_runs/<date>/`, one
atomically renamed parquet file per flush); a restarted run reads it and skips users already done with the same
prompt and model versions. Users whose LLM answers stayed invalid are recorded with the reason and retried by the
next run. Idempotent: the date's offline output is one file with a fixed name (`part-<date>-intents.parquet`),
replaced on a re-run, and online rows carry the date's end as their version, so re-running converges."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from feature_store.offline import parquet_log
from feature_store.online.validation import rows_to_table
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_INTENT
from intents import agents, judge
from intents.agents import Tag
from intents.catalog import Catalog
from intents.config import IntentConfig
from intents.context import UserContext, build_contexts, day_bounds
from intents.llm import LLMClient, LLMFailure

log = logging.getLogger(__name__)
PROMPT_VERSION = "v2-" + hashlib.sha256((agents.PROMPT_VERSION + judge.CONSISTENCY).encode()).hexdigest()[:10]
PROGRESS = pa.schema([
    ("user_id", pa.int64()), ("tags", pa.list_(pa.string())), ("tag_scores", pa.list_(pa.float32())),
    ("tag_categories", pa.list_(pa.int64())), ("grade", pa.string()), ("personas", pa.list_(pa.string())),
    ("dimensions", pa.string()), ("failure", pa.string()), ("seconds", pa.float64()),
    ("prompt_version", pa.string()), ("model_version", pa.string()), ("event_timestamp", parquet_log.TIMESTAMP),
])  # fmt: skip


@dataclass(frozen=True)
class UserIntent:
    user_id: int
    tags: list[str]
    tag_scores: list[float]
    tag_categories: list[int]
    grade: str
    personas: list[str]
    dimensions: dict[str, float]
    failure: str | None
    seconds: float


@dataclass(frozen=True)
class RunStats:
    day: str
    users: int
    tagged: int
    resumed: int
    failed: dict[int, str]
    seconds: float
    grades: dict[str, int]


def tag_user(client: LLMClient, ctx: UserContext, catalog: Catalog, config: IntentConfig) -> UserIntent:
    """Planner -> one expert per persona -> arbiter -> judge; an LLMFailure becomes a recorded failure."""
    started = time.perf_counter()
    try:
        personas = agents.plan(client, ctx, catalog, config.personas)
        candidates: list[Tag] = []
        for persona in personas:
            candidates += agents.propose(client, ctx, catalog, persona, config.tags_per_expert)
        chosen = agents.arbitrate(client, ctx, candidates, config.top_n)
        verdict = judge.judge(client, ctx, catalog, chosen)
    except LLMFailure as exc:
        return UserIntent(ctx.user_id, [], [], [], "", [], {}, f"{exc.task}: {'; '.join(exc.reasons)}", time.perf_counter() - started)
    ranked = sorted(zip(chosen, verdict.tag_scores), key=lambda pair: -pair[1])  # stable: arbiter order breaks ties
    return UserIntent(ctx.user_id, [t.text for t, _ in ranked], [s for _, s in ranked], [t.category for t, _ in ranked],
                      verdict.grade, [p.name for p in personas], verdict.dimensions, None, time.perf_counter() - started)  # fmt: skip


def run_day(
    events: pa.Table,
    catalog: Catalog,
    day: str,
    client: LLMClient,
    config: IntentConfig,
    offline_dir: Path,
    writer: OnlineWriter | None,
    model_version: str,
    *,
    on_user: Callable[[UserIntent], None] | None = None,
    limit: int | None = None,
    users: set[int] | None = None,
) -> RunStats:
    """Tag every user active on `day` (only `users` / the first `limit` by id when given), resuming a crashed run."""
    started = time.perf_counter()
    contexts = [c for c in build_contexts(events, catalog, day, config.max_events) if users is None or c.user_id in users][:limit]
    progress_dir = offline_dir / "_intent_runs" / day
    done = _finished(progress_dir, model_version)
    stamp = day_bounds(day)[1] - 1
    pending: list[UserIntent] = []
    for ctx in contexts:
        if ctx.user_id in done:
            continue
        result = tag_user(client, ctx, catalog, config)
        if result.failure:
            log.warning("user %d: %s", ctx.user_id, result.failure)
        pending.append(result)
        if len(pending) >= config.flush_users:
            parquet_log.append(progress_dir, _progress_table(pending, model_version, stamp))
            pending = []
        if on_user:
            on_user(result)
    parquet_log.append(progress_dir, _progress_table(pending, model_version, stamp))
    records = _read(progress_dir, model_version)
    final = {r["user_id"]: r for r in records if not r["failure"]}
    wanted = {ctx.user_id for ctx in contexts}
    rows = [row for user, row in sorted(final.items()) if user in wanted]
    failed = {r["user_id"]: r["failure"] for r in records if r["failure"] and r["user_id"] not in final}
    _publish(rows, day, stamp, offline_dir, writer, model_version)
    grades = dict(Counter(row["grade"] for row in rows))
    return RunStats(day, len(contexts), len(rows), len(done), failed, time.perf_counter() - started, grades)


def _progress_table(results: list[UserIntent], model_version: str, stamp: int) -> pa.Table:
    return pa.Table.from_pylist([{
        "user_id": r.user_id, "tags": r.tags, "tag_scores": r.tag_scores, "tag_categories": r.tag_categories,
        "grade": r.grade, "personas": r.personas, "dimensions": json.dumps(r.dimensions), "failure": r.failure,
        "seconds": r.seconds, "prompt_version": PROMPT_VERSION, "model_version": model_version, "event_timestamp": stamp,
    } for r in results], schema=PROGRESS)  # fmt: skip


def _read(progress_dir: Path, model_version: str) -> list[dict]:
    if not any(progress_dir.glob("part-*.parquet")):
        return []
    table = parquet_log.read(progress_dir)
    same = pc.and_(pc.equal(table["prompt_version"], PROMPT_VERSION), pc.equal(table["model_version"], model_version))
    return table.filter(same).to_pylist()


def _finished(progress_dir: Path, model_version: str) -> dict[int, dict]:
    """Users of the date already tagged by this prompt and model version (a user appears once: never re-done)."""
    return {r["user_id"]: r for r in _read(progress_dir, model_version) if not r["failure"]}


def _publish(rows: list[dict], day: str, stamp: int, offline_dir: Path, writer: OnlineWriter | None, model_version: str) -> None:
    online = [{"user_id": r["user_id"], "event_time": stamp, "tags": r["tags"], "tag_scores": r["tag_scores"],
               "tag_categories": r["tag_categories"], "grade": r["grade"], "model_version": model_version, "prompt_version": PROMPT_VERSION, "intent_date": day}
              for r in rows]  # fmt: skip
    table = rows_to_table(USER_INTENT, online)
    offline = parquet_log.snapshots_table(USER_INTENT, table, int(time.time() * 1000))
    parquet_log.write(offline_dir / USER_INTENT.name, f"part-{day}-intents.parquet", offline)
    if writer is not None and table.num_rows:
        writer.write_table(table)
