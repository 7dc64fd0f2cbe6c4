"""A model's item table: the item id as it appears in click events (raw) ↔ the model's own index 1..n, with each
item's category, title and semantic id, and a version that names the table. Serving, the refresher, the snapshot
writer's `sid_codes` and the intent batch map through it, so a model trained on renumbered items (Taobao, a dense
subset) never reads a streamed id as another item.

Torch-free (numpy + pyarrow): the streaming writer loads it in milliseconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from feature_store.views import SID_LEVELS

ITEMS = "items.parquet"
VERSION_KEY = b"freshrec.items_version"
NO_CATEGORY = -1


class RawIdIndex:
    """Raw id -> index lookup over `raw_ids` (raw_ids[i] = the raw id of index i; row 0 is padding)."""

    def __init__(self, raw_ids: np.ndarray) -> None:
        items = np.asarray(raw_ids, dtype=np.int64)[1:]
        order = np.argsort(items, kind="stable")
        self._sorted_raw, self._sorted_index = items[order], order.astype(np.int64) + 1

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Indices of raw ids; 0 for an id not there."""
        raw = np.asarray(raw, dtype=np.int64)
        if not len(self._sorted_raw):
            return np.zeros(len(raw), dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_raw, raw), len(self._sorted_raw) - 1)
        return np.where(self._sorted_raw[at] == raw, self._sorted_index[at], 0)


@dataclass(frozen=True)
class ItemVocabulary:
    raw_ids: np.ndarray
    """raw_ids[i] = the click events' id of model item i (int64); row 0 is padding (raw id 0, never an item)."""
    codes: np.ndarray
    """codes[i] = item i's semantic id, one column per level (row 0 = padding)."""
    categories: np.ndarray
    """categories[i] = item i's category (`NO_CATEGORY` where the dataset has none)."""
    titles: list[str]
    """titles[i] = item i's title or short text ("" where unknown)."""
    _index: RawIdIndex = field(init=False, repr=False, compare=False)
    _by_codes: RawIdIndex | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.raw_ids)
        if not (len(self.codes) == len(self.categories) == len(self.titles) == n) or n == 0:
            raise ValueError(f"item table columns differ in length: {n} raw ids, {len(self.codes)} codes, "
                             f"{len(self.categories)} categories, {len(self.titles)} titles")  # fmt: skip
        items = self.raw_ids[1:]
        if len(np.unique(items)) != len(items) or (len(items) and items.min() <= 0):
            raise ValueError("item table: raw ids must be distinct and positive")
        object.__setattr__(self, "_index", RawIdIndex(self.raw_ids))
        # one byte a level, as `sid_codes` stores them; a semantic id is unique over its levels (the last one
        # separates colliding prefixes), so the packed codes are a key
        bytes_wide = self.codes.shape[1] == SID_LEVELS and (not n or (self.codes.min() >= 0 and self.codes.max() < 255))
        object.__setattr__(self, "_by_codes", RawIdIndex(_packed(self.codes)) if bytes_wide else None)

    @property
    def num_items(self) -> int:
        return len(self.raw_ids) - 1

    @property
    def version(self) -> str:
        """Names the table: same raw ids in the same order with the same codes → same version."""
        digest = hashlib.sha256(np.ascontiguousarray(self.raw_ids, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(self.codes, dtype=np.int64).tobytes())
        return digest.hexdigest()[:16]

    def to_index(self, raw: np.ndarray) -> np.ndarray:
        """Model indices of raw ids; 0 for an id the model does not know."""
        return self._index(raw)

    def to_raw(self, index: np.ndarray) -> np.ndarray:
        return self.raw_ids[np.asarray(index, dtype=np.int64)]

    @property
    def reads_codes(self) -> bool:
        """Whether items can be found by their stored codes (`from_codes`): one byte a level, `SID_LEVELS` levels."""
        return self._by_codes is not None

    def from_codes(self, sid_codes: bytes) -> np.ndarray:
        """Model indices of the items whose semantic ids these are (`SID_LEVELS` bytes an item, as the writer stores
        them under this table's version); 0 where no item has them (an item the table does not hold: 255s)."""
        if self._by_codes is None:
            raise ValueError("this item table's semantic ids are not one byte per level of SID_LEVELS")
        codes = np.frombuffer(sid_codes, dtype=np.uint8).reshape(-1, SID_LEVELS)
        return self._by_codes(_packed(codes))

    def coverage(self, raw: np.ndarray) -> float:
        """The share of these (streamed) item ids the model knows; 1.0 for none."""
        raw = np.asarray(raw, dtype=np.int64)
        return float((self.to_index(raw) > 0).mean()) if len(raw) else 1.0

    def save(self, directory: Path) -> Path:
        rows = slice(1, None)  # padding row not stored
        table = pa.table({
            "raw_id": pa.array(self.raw_ids[rows], pa.int64()),
            "index": pa.array(np.arange(1, len(self.raw_ids), dtype=np.int64)),
            "category": pa.array(self.categories[rows], pa.int64()),
            "title": pa.array(self.titles[1:], pa.string()),
            "semantic_id": pa.array(list(self.codes[rows].astype(np.int64)), pa.list_(pa.int64())),
        }).replace_schema_metadata({VERSION_KEY: self.version.encode()})  # fmt: skip
        path = directory / ITEMS
        pq.write_table(table, path)
        return path

    @classmethod
    def load(cls, directory: Path) -> ItemVocabulary:
        path = directory / ITEMS
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the model directory has no item table (retrain it)")
        table = pq.read_table(path)
        index = table["index"].to_numpy()
        if not np.array_equal(index, np.arange(1, len(index) + 1)):
            raise ValueError(f"{path}: rows must be the model's items 1..n in order")
        levels = len(table["semantic_id"][0]) if len(index) else 0
        codes = np.zeros((len(index) + 1, levels), dtype=np.int64)
        if len(index):
            codes[1:] = np.asarray(table["semantic_id"].to_pylist(), dtype=np.int64)
        vocabulary = cls(np.concatenate([[0], table["raw_id"].to_numpy()]).astype(np.int64), codes,
                         np.concatenate([[NO_CATEGORY], table["category"].to_numpy()]).astype(np.int64),
                         ["", *table["title"].to_pylist()])  # fmt: skip
        stored = (table.schema.metadata or {}).get(VERSION_KEY, b"").decode()
        if stored != vocabulary.version:
            raise ValueError(f"{path}: item table version {stored!r} does not match its contents ({vocabulary.version})")
        return vocabulary


def _packed(codes: np.ndarray) -> np.ndarray:
    """Each row's first `SID_LEVELS` codes (each < 256) as one int64, first level highest."""
    shifts = np.arange(SID_LEVELS - 1, -1, -1, dtype=np.int64) * 8
    return (np.asarray(codes, dtype=np.int64)[:, :SID_LEVELS] << shifts).sum(axis=1)
