"""Training from the feature store equals training from the dataset's files over the same events: MovieLens-100K
appended to the offline event log in batches (parts in no particular order), its catalogue loaded into the `item`
view, then `--source store --before D` against `--dataset movielens --before D`, same seed: every metric equal to the
4th decimal, the same sequences, and nothing at or after D read."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from feature_store.offline import event_log, parquet_log
from feature_store.views import ITEM
from inference.item_catalogue import catalogue_table
from inference.pipeline import PRESETS, STORE, run
from inference.sequences import SequenceDataError, load_movielens
from inference.store_sequences import load_store
from infra.config import load_settings
from sources.movielens import ARCHIVE, read_movielens

BEFORE = "1997-10-20"  # MovieLens-100K starts 1997-09-20: 13,838 of its 100,000 ratings, so the test trains in minutes
TINY = replace(PRESETS["demo"], before=BEFORE)  # one epoch of every stage


@pytest.fixture(scope="module")
def archive() -> Path:
    path = load_settings().archives_dir / ARCHIVE
    if not path.is_file():
        pytest.fail(f"{path} missing: scripts/setup.sh fetches it (freshrec datasets fetch movielens)")
    return path


def _fill_store(offline: Path, archive: Path) -> None:
    events = read_movielens(archive).events
    order = np.random.default_rng(3).permutation(events.num_rows)  # the log's rows in no particular order
    shuffled = events.take(order)
    for start in range(0, shuffled.num_rows, 30_000):
        event_log.append(offline, shuffled.slice(start, 30_000))
    catalogue = load_movielens(archive)
    stale = catalogue_table(replace(catalogue, item_texts=["stale"] * len(catalogue.item_texts)), 1_000)
    parquet_log.append_snapshots(offline, ITEM, stale)  # an older load: superseded by the newer rows
    parquet_log.append_snapshots(offline, ITEM, catalogue_table(catalogue, int(time.time() * 1000)))


def test_store_sequences_equal_the_files(archive: Path, tmp_path: Path) -> None:
    _fill_store(tmp_path, archive)
    files, store = load_movielens(archive, BEFORE), load_store(tmp_path, BEFORE)
    assert store.num_items == files.num_items and np.array_equal(store.raw_item_ids, files.raw_item_ids)
    assert len(store.users) == len(files.users) > 0
    assert all(np.array_equal(a, b) for a, b in zip(store.users, files.users))
    assert all(np.array_equal(a, b) for a, b in zip(store.behaviors, files.behaviors))
    assert store.item_attributes == files.item_attributes and store.item_texts == files.item_texts
    cutoff = int(np.datetime64(BEFORE, "ms").astype(np.int64))
    later = pc.sum(pc.greater_equal(event_log.read(tmp_path)["event_time"], cutoff)).as_py()
    assert later > 0 and store.num_interactions == files.num_interactions  # the later events exist, unread


def test_training_from_the_store_equals_training_from_the_files(archive: Path, tmp_path: Path) -> None:
    offline = tmp_path / "offline"
    _fill_store(offline, archive)
    settings = load_settings()
    files = run(replace(TINY, dataset="movielens"), settings.datasets_dir, tmp_path / "files", archives_dir=archive.parent)
    store = run(replace(TINY, dataset=STORE), settings.datasets_dir, tmp_path / "store", offline_dir=offline)
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (files, store))
    scored = [name for name, value in a.items() if isinstance(value, dict) and "test" in value]
    assert len(scored) >= 3 and a["most-popular"]["test"]["recall@10"] > 0
    for name in scored:
        for split in ("valid", "test"):
            for metric, value in a[name][split].items():
                assert round(b[name][split][metric], 4) == round(value, 4), (name, split, metric)


def test_an_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SequenceDataError, match="no event log"):
        load_store(tmp_path, BEFORE)
    event_log.append(tmp_path, read_movielens(load_settings().archives_dir / ARCHIVE).events.slice(0, 10))
    with pytest.raises(SequenceDataError, match="freshrec items load"):
        load_store(tmp_path, None)
