"""`freshrec intents run` for real: the embedded llama.cpp server, the offline event log, Redis. A run killed after
its first user resumes without redoing it; the date's output has every active user once, validated and graded,
offline and online alike; re-running the date replaces rather than duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import redis
from click.testing import CliRunner

from feature_store.offline import parquet_log
from feature_store.online.reader import OnlineReader
from feature_store.views import USER_INTENT
from freshrec.testing.services import RedisEndpoint
from infra.cli import main
from infra.stack.llm import MODEL_VERSION
from intents.catalog import coded_catalog
from intents.context import build_contexts, day_bounds, events_between
from intents.judge import tag_category
from sources.datasets import load
from tests.fixtures.llm import LLMEndpoint

pytestmark = pytest.mark.integration
DAY, USERS = "2017-12-01", 3


def test_killed_run_resumes_and_the_date_is_tagged_once(llm_server: LLMEndpoint, redis_server: RedisEndpoint,
                                                         redis_client: redis.Redis, feast_store, datasets_dir: Path) -> None:  # noqa: ANN001
    repo = Path(feast_store.repo_path)
    offline = repo / "data" / "offline"
    events = load("taobao-head", datasets_dir).table  # type: ignore[attr-defined]
    parquet_log.append(offline / "events", events.append_column("event_timestamp", events["event_time"].cast(parquet_log.TIMESTAMP)))
    env = {**os.environ, "FRESHREC_FEATURE_REPO": str(repo), "FRESHREC_REDIS__HOST": redis_server.host,
           "FRESHREC_REDIS__PORT": str(redis_server.port), "FRESHREC_INTENTS__LLM__BASE_URL": llm_server.base_url,
           "FRESHREC_INTENTS__LLM__API_KEY": llm_server.api_key,
           "FRESHREC_INTENTS__LLM__STRUCTURED_OUTPUT": "json_object", "FRESHREC_INTENTS__LLM__MODEL": MODEL_VERSION}  # fmt: skip
    command = [str(Path(sys.executable).with_name("freshrec")), "intents", "run", "--date", DAY, "--limit", str(USERS)]
    progress = offline / "_intent_runs" / DAY
    day_end = day_bounds(DAY)[1]

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(progress.glob("part-*.parquet")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, f"the run ended before it could be killed:\n{first.stdout.read().decode()}"  # type: ignore[union-attr]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_after = len(list(progress.glob("part-*.parquet")))
    assert 1 <= killed_after < USERS

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{USERS} tagged ({killed_after} from an earlier run)" in second.stdout

    expected_users = [c.user_id for c in build_contexts(events, coded_catalog(events), DAY)][:USERS]
    done = parquet_log.read(progress).to_pylist()
    assert sorted(r["user_id"] for r in done if not r["failure"]) == sorted(expected_users)  # nobody redone or lost

    output = offline / USER_INTENT.name / f"part-{DAY}-intents.parquet"
    rows = pq.read_table(output).to_pylist()
    assert [r["user_id"] for r in rows] == sorted(expected_users)
    day_categories = {c.user_id: set(c.categories) for c in build_contexts(events, coded_catalog(events), DAY)}
    for row in rows:
        assert row["tags"] and len(row["tag_scores"]) == len(row["tags"]) and row["grade"] in {"S", "A", "B"}
        assert {tag_category(t, coded_catalog(events)) for t in row["tags"]} <= day_categories[row["user_id"]]
        assert (row["intent_date"], row["model_version"]) == (DAY, MODEL_VERSION)

    reader = OnlineReader(redis_client, [USER_INTENT], max_age={USER_INTENT.name: timedelta(days=10**5)})
    for vector, row in zip(reader.read_many(sorted(expected_users)), rows):
        online = vector[USER_INTENT.name]
        assert online.status == "present"
        assert (list(online.values["tags"]), online.values["grade"]) == (row["tags"], row["grade"])

    # Feast itself reads the same rows back, point-in-time offline and online
    entity = pd.DataFrame({"user_id": sorted(expected_users), "event_timestamp": pd.Timestamp(f"{DAY}T23:59:59.999Z")})
    features = [f"{USER_INTENT.name}:{name}" for name in ("tags", "grade", "intent_date")]
    historical = feast_store.get_historical_features(entity_df=entity, features=features).to_df().sort_values("user_id")
    assert [list(t) for t in historical["tags"]] == [r["tags"] for r in rows]
    assert list(historical["grade"]) == [r["grade"] for r in rows] and set(historical["intent_date"]) == {DAY}
    online_feast = feast_store.get_online_features(features=features, entity_rows=[{"user_id": u} for u in sorted(expected_users)]).to_dict()
    assert online_feast["tags"] == [r["tags"] for r in rows]

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and f"({USERS} from an earlier run)" in again.stdout
    assert sorted(p.name for p in output.parent.glob("part-*")) == [output.name]
    assert pq.read_table(output).drop(["created"]).to_pylist() == [{k: v for k, v in r.items() if k != "created"} for r in rows]

    # the operator's other two commands on the same store: next-day evaluation and context sizes
    evaluated = CliRunner().invoke(main, ["intents", "evaluate", "--date", DAY], env=env)
    tomorrow = set(events_between(events, day_end, day_end + 86_400_000)["user_id"].to_pylist())
    scored = sum(u in tomorrow for u in expected_users)
    assert evaluated.exit_code == 0 and f"{DAY}: {scored} tagged users active the next day" in evaluated.output, evaluated.output
    assert "LLM tags: hit rate" in evaluated.output and "baseline (most frequent categories): hit rate" in evaluated.output
    sized = CliRunner().invoke(main, ["intents", "context-size"], env=env)
    assert sized.exit_code == 0 and "309 user-day contexts" in sized.output, sized.output
