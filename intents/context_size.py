"""Context size in tokens, full text vs hybrid, over every (user, day) of a dataset: what the hybrid form saves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from intents.catalog import Catalog
from intents.context import build_contexts


@dataclass(frozen=True)
class ContextSizes:
    full_tokens: np.ndarray
    hybrid_tokens: np.ndarray

    @property
    def contexts(self) -> int:
        return len(self.full_tokens)

    def summary(self) -> dict[str, float]:
        full, hybrid = self.full_tokens, self.hybrid_tokens
        return {"contexts": self.contexts, "full_mean": float(full.mean()), "hybrid_mean": float(hybrid.mean()),
                "full_p95": float(np.percentile(full, 95)), "hybrid_p95": float(np.percentile(hybrid, 95)),
                "saved": float(1 - hybrid.sum() / full.sum())}  # fmt: skip


def context_sizes(events: pa.Table, catalog: Catalog, count_tokens: Callable[[str], int], max_events: int) -> ContextSizes:
    """Every user-day's contexts (newest `max_events` events each, as the batch builds them), tokenised."""
    days = pc.unique(pc.divide(events["event_time"], 86_400_000)).to_pylist()
    full, hybrid = [], []
    for day in sorted(days):
        iso = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
        for ctx in build_contexts(events, catalog, iso, max_events):
            full.append(count_tokens(ctx.full))
            hybrid.append(count_tokens(ctx.hybrid))
    return ContextSizes(np.asarray(full), np.asarray(hybrid))
