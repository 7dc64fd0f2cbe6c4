"""A snapshot writer that kills itself (SIGKILL, no cleanup) right after one of its steps on its n-th batch: run as
`python -m tests.integration.streaming.dying_writer CONFIG_JSON`, by the writer crash test."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import redis

from feature_store.offline import parquet_log
from feature_store.online.writer import OnlineWriter
from feature_store.views import USER_REALTIME
from streaming.snapshot_writer import SnapshotWriter

STEPS = ("_store", "_send_updates", "_append_offline", "append_offline", "_commit")
"""The writer's steps; `append_offline` is a part of the offline log written (in `SnapshotParts`' thread)."""


def dying_writer(config: dict[str, Any]) -> SnapshotWriter:
    """`config["die_after"]`: a step of `STEPS` (or None: a writer that lives), on its `config["batch"]`-th call."""
    step, batch = config.get("die_after"), config.get("batch", 1)
    calls = {"n": 0}
    if step is not None:
        owner = parquet_log if step == "append_offline" else SnapshotWriter
        original = getattr(owner, step)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == batch:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(owner, step, wrapped)  # this process is the one writer: patching touches nothing else
    client = redis.Redis(host=config["redis_host"], port=config["redis_port"])
    return SnapshotWriter(config["bootstrap"], OnlineWriter(client, USER_REALTIME), Path(config["offline_dir"]),
                 config["snapshots"], config["updates"], group=config["group"], dead_letter_topic=config["dlq"],
                 batch_size=config["batch_size"], instance_id="writer", part_rows=config["batch_size"])  # fmt: skip


if __name__ == "__main__":
    stats = dying_writer(json.loads(sys.argv[1])).run(idle_stop_s=10)
    print(json.dumps(stats.__dict__))
