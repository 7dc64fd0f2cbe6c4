"""Click streams from the real public datasets and from a seeded generator, as Arrow batches in ClickEvent columns.

Every source yields batches sorted by event time (ties keep file order, so each user's own order is preserved) with
deterministic `event_id`s: replaying a source twice produces the same ids, which is what lets consumers drop duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from sources.movielens import ARCHIVE as MOVIELENS_ARCHIVE
from sources.movielens import read_movielens

BEHAVIORS = ("PV", "CART", "FAV", "BUY")
AMAZON_T0_MS = 1_388_534_400_000  # 2014-01-01T00:00:00Z
DAY_MS = 86_400_000
AMAZON_DIR = "amazon"
AMAZON_PREFIX = "amazon:"
BEAUTY = "Beauty"

TAOBAO_FILES = {
    "taobao-2h": "taobao/UserBehavior_timeslice_2h_jasonwang1.csv",
    "taobao-head": "taobao/UserBehavior_head4321_fattydelivery.csv",
}
DATASETS = (*TAOBAO_FILES, "beauty", "movielens", "synthetic")
"""The named datasets; besides them, `amazon:<Category>` names any Amazon category in the S3-Rec layout
(`amazon_files`)."""


class DatasetError(ValueError):
    """A dataset is missing, unknown or malformed."""


@dataclass(frozen=True)
class AmazonFiles:
    """An Amazon review category as the S3-Rec / ICLRec preprocessing publishes it: `<Category>.txt`, one line per
    user (`user item item ...`, items in time order, ids from 1), and, where there is one,
    `<Category>_item2attributes.json` (item id -> attribute ids)."""

    category: str
    sequences: Path
    attributes: Path | None

    @property
    def dataset(self) -> str:
        """The dataset's name: `beauty`, or `amazon:<Category>` as the file spells it."""
        return "beauty" if self.category == BEAUTY else AMAZON_PREFIX + self.category


def amazon_category(name: str) -> str | None:
    """The Amazon category a dataset name reads (`beauty`: Beauty; `amazon:<Category>`), None for other names."""
    if name == "beauty":
        return BEAUTY
    category = name.removeprefix(AMAZON_PREFIX)
    return category if category != name and category else None


def amazon_files(datasets_dir: Path, category: str) -> AmazonFiles:
    """A category's files in `datasets_dir`/amazon, its name matched without case (`amazon:toys_and_games` reads
    Toys_and_Games.txt); a DatasetError naming the categories that are there when it is not."""
    folder = datasets_dir / AMAZON_DIR
    present = sorted(p for p in folder.glob("*.txt") if not p.stem.upper().startswith(("LICENSE", "README")))
    found = next((p for p in present if p.stem.lower() == category.lower()), None)
    if found is None:
        there = ", ".join(AMAZON_PREFIX + p.stem for p in present) or "none"
        raise DatasetError(f"{folder / category}.txt not found (categories there: {there}): put a category's S3-Rec "
                           "files there, or set FRESHREC_DATASETS_DIR (or datasets_dir in freshrec.yaml) to the "
                           "datasets folder")  # fmt: skip
    attributes = found.with_name(f"{found.stem}_item2attributes.json")
    return AmazonFiles(found.stem, found, attributes if attributes.is_file() else None)


def read_user_sequences(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """An S3-Rec sequence file: (user ids, each user's item ids in file order); a DatasetError naming the first
    malformed line."""
    users, items = [], []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = np.array(fields, dtype=np.int64)
        except ValueError:
            values = np.zeros(0, dtype=np.int64)
        if len(values) < 2 or values[1:].min() < 1:
            raise DatasetError(f"{path}:{number}: expected 'user item item ...' with integer item ids >= 1")
        users.append(int(values[0]))
        items.append(values[1:])
    if not items:
        raise DatasetError(f"{path} holds no user")
    return np.array(users, dtype=np.int64), items


def read_item_attributes(path: Path) -> dict[int, list[int]]:
    """An S3-Rec item2attributes file: item id -> attribute ids."""
    try:
        return {int(item): [int(v) for v in values] for item, values in json.loads(path.read_bytes()).items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: expected a JSON object of item id -> list of attribute ids ({exc})") from exc


class ClickSource(Protocol):
    """A finite, ordered stream of click events."""

    name: str

    @property
    def num_events(self) -> int: ...

    def batches(self, batch_size: int = 50_000) -> Iterator[pa.Table]: ...


@dataclass
class TableSource:
    """A dataset small enough to hold in memory (all the shipped files are)."""

    name: str
    table: pa.Table

    @property
    def num_events(self) -> int:
        return self.table.num_rows

    def batches(self, batch_size: int = 50_000) -> Iterator[pa.Table]:
        for start in range(0, self.table.num_rows, batch_size):
            yield self.table.slice(start, batch_size)


@dataclass
class SyntheticSource:
    """Zipf-popular items with fixed categories, Zipf-active users, a behaviour mix, Poisson arrivals; any size.

    Chunk k is generated from seed (seed, k), so the stream is the same whatever the batch size or where it stops.
    """

    num_events: int
    seed: int = 7
    num_users: int = 100_000
    num_items: int = 200_000
    num_categories: int = 2_000
    zipf_exponent: float = 1.1
    behavior_mix: tuple[float, float, float, float] = (0.89, 0.05, 0.03, 0.03)
    events_per_second: float = 10_000.0
    start_ms: int = 1_511_658_000_000
    name: str = "synthetic"
    _chunk: int = 100_000

    def batches(self, batch_size: int = 50_000) -> Iterator[pa.Table]:
        rng = np.random.default_rng(self.seed)
        item_category = rng.integers(0, self.num_categories, self.num_items)
        item_cdf = _inverse_cdf_table(_zipf_cdf(self.num_items, self.zipf_exponent))
        user_cdf = _inverse_cdf_table(_zipf_cdf(self.num_users, 0.8))
        behavior_cdf = np.cumsum(self.behavior_mix) / sum(self.behavior_mix)
        clock_ms = float(self.start_ms)
        for chunk, start in enumerate(range(0, self.num_events, self._chunk)):
            n = min(self._chunk, self.num_events - start)
            crng = np.random.default_rng((self.seed, chunk))
            items = _sample(crng, item_cdf, n)
            gaps = crng.exponential(1000.0 / self.events_per_second, n)
            times = clock_ms + np.cumsum(gaps)
            clock_ms = float(times[-1])
            table = pa.table(
                {
                    "event_id": _event_ids(f"syn{self.seed}", start, n),
                    "user_id": _sample(crng, user_cdf, n) + 1,
                    "item_id": items.astype(np.int64) + 1,
                    "category_id": item_category[items].astype(np.int64) + 1,
                    "behavior": pa.DictionaryArray.from_arrays(
                        np.searchsorted(behavior_cdf[:-1], crng.random(n), side="right").astype(np.int8),
                        pa.array(BEHAVIORS),
                    ).cast(pa.string()),
                    "event_time": times.astype(np.int64),
                }
            )
            yield from TableSource(self.name, table).batches(batch_size)


def load(name: str, datasets_dir: Path, *, num_events: int = 1_000_000, seed: int = 7, archives_dir: Path | None = None) -> ClickSource:
    """Open a dataset by name: one of `DATASETS` (MovieLens from the fetched archive in `archives_dir`)."""
    if name == "synthetic":
        return SyntheticSource(num_events=num_events, seed=seed)
    if name in TAOBAO_FILES:
        return TableSource(name, read_taobao(_existing(datasets_dir / TAOBAO_FILES[name]), name))
    if (category := amazon_category(name)) is not None:
        files = amazon_files(datasets_dir, category)
        return TableSource(files.dataset, read_amazon(files))
    if name == "movielens":
        if archives_dir is None:
            raise DatasetError("movielens is read from its fetched archive: pass archives_dir")
        archive = archives_dir / MOVIELENS_ARCHIVE
        if not archive.is_file():
            raise DatasetError(f"{archive} not found: run `freshrec datasets fetch movielens` (scripts/setup.sh does)")
        return TableSource(name, read_movielens(archive).events)
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or {AMAZON_PREFIX}<Category>")


def utc_ms(day: str) -> int:
    """Midnight UTC of the date `day` (YYYY-MM-DD) in epoch milliseconds: the cut-offs of time splits."""
    try:
        return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp() * 1000)
    except ValueError:
        raise DatasetError(f"{day!r} is not a date (YYYY-MM-DD)") from None


def select(source: ClickSource, since_ms: int | None = None, before_ms: int | None = None,
           users: Sequence[int] = ()) -> TableSource:  # fmt: skip
    """A recorded dataset's events at or after `since_ms`, before `before_ms`, of `users` (each: all when unset),
    with their ids unchanged: the parts of one history that a demo or a test replays at different times."""
    if not isinstance(source, TableSource):
        raise DatasetError(f"{source.name} is generated, not recorded: it has no window to select")
    table, times = source.table, source.table["event_time"]
    keep = pa.array(np.ones(table.num_rows, dtype=bool))
    if since_ms is not None:
        keep = pc.and_(keep, pc.greater_equal(times, since_ms))
    if before_ms is not None:
        keep = pc.and_(keep, pc.less(times, before_ms))
    if users:
        keep = pc.and_(keep, pc.is_in(table["user_id"], value_set=pa.array(list(users), pa.int64())))
    return TableSource(source.name, table.filter(keep))


def read_taobao(path: Path, tag: str) -> pa.Table:
    """UserBehavior CSV (`user,item,category,behavior,unix_seconds`, no header) in time order."""
    convert = csv.ConvertOptions(
        column_types={"user_id": pa.int64(), "item_id": pa.int64(), "category_id": pa.int64(), "behavior": pa.string(), "ts": pa.int64()}
    )
    names = ["user_id", "item_id", "category_id", "behavior", "ts"]
    try:
        raw = csv.read_csv(path, read_options=csv.ReadOptions(column_names=names), convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise DatasetError(f"{path}: not a UserBehavior CSV ({exc})") from exc
    behavior = pc.utf8_upper(raw["behavior"])
    unknown = pc.invert(pc.is_in(behavior, value_set=pa.array(BEHAVIORS)))
    if pc.any(unknown).as_py():
        raise DatasetError(f"{path}: unknown behaviour {pc.filter(raw['behavior'], unknown)[0]}")
    table = pa.table(
        {
            "event_id": _event_ids(tag, 0, raw.num_rows),
            "user_id": raw["user_id"],
            "item_id": raw["item_id"],
            "category_id": raw["category_id"],
            "behavior": behavior,
            "event_time": pc.multiply(raw["ts"], 1000),
        }
    )
    return _time_ordered(table)


def read_amazon(files: AmazonFiles) -> pa.Table:
    """An Amazon category's reviews as click events; the files have no timestamps.

    Synthetic time rule: the k-th item (k = 0, 1, ...) of user u happens at 2014-01-01T00:00Z + k days + u seconds.
    Users stay in their own order and interleave globally. Each review implies a purchase, so behaviour is BUY; the
    category is the item's first attribute id (an anonymised brand/category token), 0 when it has none.
    """
    users, sequences = read_user_sequences(files.sequences)
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    item = np.concatenate(sequences)
    user = np.repeat(users, lengths)
    positions = np.arange(len(item), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    first = np.zeros(int(item.max()) + 1, dtype=np.int64)
    for i, values in (read_item_attributes(files.attributes) if files.attributes else {}).items():
        if 0 <= i < len(first) and values:
            first[i] = values[0]
    table = pa.table(
        {
            "event_id": _event_ids(files.dataset, 0, len(item)),
            "user_id": user,
            "item_id": item,
            "category_id": first[item],
            "behavior": pa.array(["BUY"] * len(item)),
            "event_time": AMAZON_T0_MS + positions * DAY_MS + user * 1000,
        }
    )
    return _time_ordered(table)


def _time_ordered(table: pa.Table) -> pa.Table:
    order = np.argsort(table["event_time"].to_numpy(), kind="stable")
    return table.take(order)


def _event_ids(tag: str, start: int, n: int) -> pa.Array:
    """`<tag>-<row>`: unique within a dataset and identical on every replay."""
    rows = pa.array(np.arange(start, start + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(f"{tag}-"), rows, "")


_CELLS = 1 << 22


def _zipf_cdf(n: int, exponent: float) -> np.ndarray:
    cdf = np.cumsum(1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent)
    return cdf / cdf[-1]


def _inverse_cdf_table(cdf: np.ndarray) -> np.ndarray:
    """Index drawn for each of 2^22 equal slices of [0, 1): probabilities are quantised to 2.4e-7."""
    edges = np.rint(np.concatenate(([0.0], cdf)) * _CELLS).astype(np.int64)
    return np.repeat(np.arange(len(cdf), dtype=np.int32), np.diff(edges))


def _sample(rng: np.random.Generator, table: np.ndarray, n: int) -> np.ndarray:
    """A gather from the inverse-CDF table: ~20x cheaper than a binary search per draw, same seed, same stream."""
    return table[rng.integers(0, _CELLS, n)].astype(np.int64)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path} not found: set FRESHREC_DATASETS_DIR (or datasets_dir in freshrec.yaml) to the datasets folder")
    return path
