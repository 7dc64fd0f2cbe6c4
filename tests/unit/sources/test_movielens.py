"""MovieLens-100K read from the fetched archive: the published counts, genres as categories, ratings as behaviours."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from infra.config import load_settings
from infra.datasets import fetch
from sources.movielens import GENRES, read_movielens


def test_movielens_100k_has_its_published_shape() -> None:
    data = read_movielens(fetch("movielens", load_settings().archives_dir))  # a verified cached copy: no download
    events, movies = data.events, data.movies
    assert (events.num_rows, pc.count_distinct(events["user_id"]).as_py(), movies.num_rows) == (100_000, 943, 1_682)
    assert (np.diff(events["event_time"].to_numpy()) >= 0).all()  # time-ordered
    toy_story = movies.filter(pc.equal(movies["item_id"], 1)).to_pylist()[0]
    assert (toy_story["title"], toy_story["year"]) == ("Toy Story", 1995)
    assert [GENRES[g] for g in toy_story["genre_ids"]] == ["Animation", "Children's", "Comedy"]
    # 4-5 stars are FAV: 55,375 of the 100,000 ratings in ML-100K are 4 or 5
    assert pc.sum(pc.equal(events["behavior"], "FAV")).as_py() == 55_375
