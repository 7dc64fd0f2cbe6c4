"""The hybrid compressed user representation (RecGPT-V2's idea, mapped to features).

- Entities become compact codes: each recent item is its 4-byte semantic id (`sid_codes`).
- A fixed-size multi-interest vector: K slots x d dims. An event lands in slot `category mod K`; each slot is the
  weighted mean of its events' item embeddings, weight = behaviour weight x exp((t - t_ref) / tau). The mean makes the
  decay relative, so the vector is independent of when it is read and of the order events arrive in, and its size
  never grows with history.
- Text-like fields stay cheap and explicit: top categories and a short summary of behaviours and time buckets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from feature_store.views import INTEREST_DIM, INTEREST_SLOTS, SID_LEVELS

BEHAVIOR_WEIGHTS = np.array([1.0, 3.0, 2.0, 5.0])  # PV, CART, FAV, BUY: intent grows with commitment
DECAY_TAU_MS = 6 * 3_600_000  # a six-hour-old click counts 1/e as much as one now
TIME_BUCKETS = ((60_000, "<1m"), (600_000, "<10m"), (3_600_000, "<1h"), (86_400_000, "<1d"))
BEHAVIOR_NAMES = ("pv", "cart", "fav", "buy")


class ItemEmbeddings(Protocol):
    dim: int

    def lookup(self, item_ids: np.ndarray, category_ids: np.ndarray) -> np.ndarray: ...


class SemanticIds(Protocol):
    version: str
    """Names the table the codes come from (stored beside them as `sid_version`): a reader uses stored codes only
    when they are its own table's."""

    def lookup(self, item_ids: np.ndarray) -> np.ndarray: ...


@dataclass
class HashedEmbeddings:
    """Deterministic stand-in until a trained item table is loaded: unit vectors that mix a per-category and a
    per-item pseudo-random direction, so items of one category point the same way.

    Components come from splitmix64, integer arithmetic only, so the JVM side reproduces them bit for bit.
    """

    dim: int = INTEREST_DIM
    seed: int = 0

    def lookup(self, item_ids: np.ndarray, category_ids: np.ndarray) -> np.ndarray:
        vectors = 0.7 * self._directions(np.asarray(category_ids), 1) + 0.3 * self._directions(np.asarray(item_ids), 2)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def _directions(self, ids: np.ndarray, salt: int) -> np.ndarray:
        """Uniform in [-1, 1): component k of id x is splitmix64(x * 2^8 + salt * 2^4 + k ^ seed) / 2^63 - 1."""
        base = (ids.astype(np.uint64) << np.uint64(8)) + np.uint64(salt << 4)
        states = (base[:, None] + np.arange(self.dim, dtype=np.uint64)) ^ np.uint64(self.seed)
        return splitmix64(states).astype(np.float64) / 2.0**63 - 1.0


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Steele, Lea & Flood's SplitMix64 finaliser (as in java.util.SplittableRandom), elementwise on uint64."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass
class TableSemanticIds:
    """item id -> 4 uint8 codes; unknown items get 255s (no item has collision code 255: never a valid code path)."""

    table: dict[int, bytes] = field(default_factory=dict)
    version: str = ""

    def lookup(self, item_ids: np.ndarray) -> np.ndarray:
        unknown = b"\xff" * SID_LEVELS
        return np.frombuffer(b"".join(self.table.get(int(i), unknown) for i in item_ids), dtype=np.uint8)


def _same(ids: np.ndarray) -> np.ndarray:
    return ids


@dataclass
class ArraySemanticIds:
    """A model's semantic-id table (row = the model's item index, one column per level, row 0 = padding), looked up
    for whole arrays at once; ids it does not hold (or 0) get 255s like `TableSemanticIds`."""

    codes: np.ndarray
    rows: Callable[[np.ndarray], np.ndarray] = _same
    """click-event item ids → rows of `codes` (0 where unknown): the model's item table; by default id = row."""
    version: str = ""

    def lookup(self, item_ids: np.ndarray) -> np.ndarray:
        ids = self.rows(np.asarray(item_ids, dtype=np.int64))
        known = (ids > 0) & (ids < len(self.codes))
        out = np.full((len(ids), SID_LEVELS), 255, dtype=np.uint8)
        out[known] = self.codes[ids[known], :SID_LEVELS]
        return out.reshape(-1)


@dataclass
class InterestPool:
    """Running state of the multi-interest vector: decayed weighted sums per slot, rescaled as time advances."""

    sums: np.ndarray = field(default_factory=lambda: np.zeros((INTEREST_SLOTS, INTEREST_DIM)))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(INTEREST_SLOTS))
    t_ref: int = 0

    def add(self, embedding: np.ndarray, category_id: int, behavior: int, event_time: int) -> None:
        if event_time > self.t_ref:  # move the reference forward: scale what is there, keep exponents <= 0
            scale = np.exp((self.t_ref - event_time) / DECAY_TAU_MS) if self.t_ref else 0.0
            self.sums *= scale
            self.weights *= scale
            self.t_ref = event_time
        weight = BEHAVIOR_WEIGHTS[behavior] * np.exp((event_time - self.t_ref) / DECAY_TAU_MS)
        slot = category_id % INTEREST_SLOTS
        self.sums[slot] += weight * embedding
        self.weights[slot] += weight

    def vector(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(self.weights[:, None] > 0, self.sums / self.weights[:, None], 0.0)
        return means.astype(np.float32).reshape(-1)


def top_categories(categories: np.ndarray, behaviors: np.ndarray, times: np.ndarray, k: int = 8) -> list[int]:
    """The recent sequence's categories by behaviour-weighted, time-decayed engagement (ties: smaller id first)."""
    if len(categories) == 0:
        return []
    weights = BEHAVIOR_WEIGHTS[behaviors] * np.exp((times - times.max()) / DECAY_TAU_MS)
    unique, inverse = np.unique(categories, return_inverse=True)
    score = np.bincount(inverse, weights=weights)
    order = np.lexsort((unique, -score))[:k]
    return unique[order].tolist()


def summary(counts: np.ndarray, categories: list[int], behaviors: np.ndarray, times: np.ndarray) -> str:
    """A short text: all-time behaviour counts, the top recent categories, the age of the events before the newest."""
    totals = " ".join(f"{name} {int(c)}" for name, c in zip(BEHAVIOR_NAMES, counts) if c)
    top = ", ".join(f"c{c}" for c in categories[:3])
    if len(times) > 1:
        gap = int(times[-1] - times[-2])
        since = next((label for limit, label in TIME_BUCKETS if gap < limit), ">1d")
        return f"{totals} | top {top} | prev {since} | last {BEHAVIOR_NAMES[int(behaviors[-1])]}"[:256]
    last = f" | last {BEHAVIOR_NAMES[int(behaviors[-1])]}" if len(behaviors) else ""
    return f"{totals} | top {top}{last}"[:256]


def sizes(row: dict, history_events: int, bytes_per_event: int) -> dict[str, int]:
    """Bytes of the hybrid representation of a snapshot row against the raw history it summarises."""
    hybrid = len(row["sid_codes"]) + 4 * len(row["interest"]) + 8 * len(row["top_categories"]) + len(row["summary"].encode())
    last_n = len(row["item_ids"]) * (8 + 8 + 4 + 8)
    return {"hybrid": hybrid, "last_n_arrays": last_n, "raw_history": history_events * bytes_per_event}
