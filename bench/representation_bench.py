"""Size of the hybrid user representation against the raw behaviour it summarises, per dataset.

    python -m bench.representation_bench [taobao-head beauty ...]

Every event of the dataset is folded into the reference state (`streaming.state.user_state`), then each user's
snapshot is measured: hybrid = semantic-id codes (4 bytes per recent item) + interest vector (float32) + top
categories (int64) + summary text; raw = the user's whole history as Avro ClickEvents (this dataset's mean message
size); last-N arrays = the parallel arrays of the newest 50 events (int64 item, int64 category, int32 behaviour,
int64 time).
"""

from __future__ import annotations

import argparse

import numpy as np

from infra.config import load_settings
from schemas.columnar import encode_batch
from schemas.registry import default_registry
from sources.datasets import load
from streaming.state.representation import sizes
from streaming.state.user_state import BehaviorState


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", default=["taobao-head", "beauty"])
    args = parser.parse_args()
    print("| dataset | users | mean history (events) | raw history (B) | last-N arrays (B) | hybrid (B) | raw / hybrid |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.datasets:
        table = load(name, load_settings().datasets_dir).table  # type: ignore[attr-defined]
        bytes_per_event = int(np.mean(encode_batch(default_registry().latest("click_event"), table).sizes))
        state = BehaviorState(out_of_orderness_ms=10**13)  # replaying history: nothing is late
        state.apply(table.to_pylist())
        totals = np.zeros(3)
        for user_id, user in state.users.items():
            row = state.snapshot(user_id)
            measured = sizes(row, int(user.counts.sum()), bytes_per_event)
            hybrid = measured["hybrid"] + (0 if row["sid_codes"] else 4 * len(row["item_ids"]))  # codes once ids load
            totals += [measured["raw_history"], measured["last_n_arrays"], hybrid]
        n = len(state.users)
        raw, last_n, hybrid = totals / n
        print(f"| {name} | {n:,} | {table.num_rows / n:.1f} | {raw:,.0f} | {last_n:,.0f} | {hybrid:,.0f} | {raw / hybrid:.1f} |")


if __name__ == "__main__":
    main()
