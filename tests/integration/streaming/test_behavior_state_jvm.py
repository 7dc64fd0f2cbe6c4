"""The JVM behaviour state (BehaviorAggregate) equals the Python reference for every user of a real history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.config import load_settings
from infra.jars import fetch
from streaming.flink.environment import job_jar, table_environment
from streaming.jobs import tables
from streaming.replay import replay
from streaming.sources.datasets import load
from streaming.state.user_state import BehaviorState
from tests.fixtures.services import KafkaEndpoint
from tests.integration.streaming.job_output import FIELDS, latest_per_user

pytestmark = pytest.mark.integration
def test_jvm_state_equals_the_reference_for_every_user(kafka: KafkaEndpoint, topic: str, datasets_dir: Path) -> None:
    source = load("taobao-head", datasets_dir)
    replay(source, topic, {"bootstrap.servers": kafka.bootstrap_servers})
    out = f"{topic}-state"
    jars = [*sorted(fetch("flink-connectors", load_settings().cache_dir).glob("*.jar")), job_jar()]
    env = table_environment(jars, streaming=True)
    tables.register_functions(env)
    env.execute_sql(tables.kafka_source("clicks_in", topic, kafka.bootstrap_servers, f"job-{topic}", bounded=True,
                                        watermark=tables.Watermark()))  # fmt: skip
    env.execute_sql(f"""
        CREATE TABLE user_state (user_id BIGINT, s ROW<item_ids ARRAY<BIGINT>, category_ids ARRAY<BIGINT>,
          behaviors ARRAY<INT>, event_times ARRAY<BIGINT>, count_pv BIGINT, count_cart BIGINT, count_fav BIGINT,
          count_buy BIGINT, interest ARRAY<FLOAT>, top_categories ARRAY<BIGINT>, summary STRING, event_time BIGINT,
          version BIGINT>, PRIMARY KEY (user_id) NOT ENFORCED)
        WITH ('connector' = 'upsert-kafka', 'topic' = '{out}', 'properties.bootstrap.servers' = '{kafka.bootstrap_servers}',
              'key.format' = 'json', 'value.format' = 'json')
    """)
    env.execute_sql(f"INSERT INTO user_state {tables.user_snapshots('clicks_in', 5_000)}").wait(300_000)

    jvm = latest_per_user(kafka.bootstrap_servers, out)
    reference = BehaviorState(out_of_orderness_ms=5_000)
    reference.apply(source.table.to_pylist())  # type: ignore[attr-defined]
    assert set(jvm) == set(reference.users) and len(jvm) == 43
    for user in reference.users:
        want, got = reference.snapshot(user), jvm[user]["s"]
        assert {f: got[f] for f in FIELDS} == {f: want[f] for f in FIELDS}, user
        np.testing.assert_allclose(got["interest"], want["interest"], rtol=1e-5, atol=1e-6)
