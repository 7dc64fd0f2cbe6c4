"""Sample rows for tests and benchmarks (as Bytewax's `testing` module does): valid, varied, every dtype exercised."""

from __future__ import annotations

from typing import Any

import numpy as np

from feature_store.views import INTEREST_DIM, INTEREST_SLOTS, SEQUENCE_LENGTH


def sample_realtime_row(user_id: int, event_time: int, version: int | None = None, n: int = 3, seed: int = 0) -> dict[str, Any]:
    """A valid user_realtime snapshot of `n` recent events (values vary with the seed)."""
    rng = np.random.default_rng(seed)
    n = min(n, SEQUENCE_LENGTH)
    return {
        "user_id": user_id,
        "event_time": event_time,
        "version": version if version is not None else event_time,
        "item_ids": rng.integers(1, 2**40, n).tolist(),
        "category_ids": rng.integers(1, 5000, n).tolist(),
        "behaviors": rng.integers(0, 4, n).astype(np.int32).tolist(),
        "event_times": sorted(rng.integers(event_time - 10**6, event_time, n).tolist()),
        "count_pv": int(rng.integers(0, 10**6)),
        "count_cart": int(rng.integers(0, 100)),
        "count_fav": 0,
        "count_buy": int(rng.integers(0, 100)),
        "sid_codes": rng.integers(0, 256, 4 * n).astype(np.uint8).tobytes(),
        "sid_version": f"{seed:016x}",
        "interest": rng.standard_normal(INTEREST_SLOTS * INTEREST_DIM).astype(np.float32).tolist(),
        "top_categories": rng.integers(1, 5000, 2).tolist(),
        "summary": f"pv:{n} cart:0 — última hora ✓ seed {seed}",
    }
