"""The model's item table: raw ids ↔ model indices, stored and read back whole, refused when inconsistent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from inference.item_vocabulary import ITEMS, NO_CATEGORY, ItemVocabulary
from inference.sequences import Sequences

RAW = np.array([0, 9_000_000_001, 17, 5_000, 3], dtype=np.int64)


def table() -> ItemVocabulary:
    codes = np.array([[0, 0, 0, 0], [1, 2, 3, 0], [1, 2, 3, 1], [4, 0, 1, 0], [5, 5, 5, 0]])
    return ItemVocabulary(RAW, codes, np.array([NO_CATEGORY, 7, 7, 8, NO_CATEGORY]), ["", "a", "b", "c", ""])


def test_raw_ids_map_to_indices_and_back() -> None:
    items = table()
    assert items.to_index(np.array([17, 3, 9_000_000_001, 5_000])).tolist() == [2, 4, 1, 3]
    assert items.to_index(np.array([0, -1, 4, 2**62, 18])).tolist() == [0, 0, 0, 0, 0]  # unknown → 0
    assert items.to_raw(np.array([4, 1])).tolist() == [3, 9_000_000_001]
    assert items.coverage(np.array([17, 18, 3, 19])) == 0.5 and items.coverage(np.zeros(0)) == 1.0


def test_saved_and_loaded_whole(tmp_path: Path) -> None:
    items = table()
    items.save(tmp_path)
    loaded = ItemVocabulary.load(tmp_path)
    assert np.array_equal(loaded.raw_ids, RAW) and np.array_equal(loaded.codes, items.codes)
    assert loaded.categories.tolist() == items.categories.tolist() and loaded.titles == items.titles
    assert loaded.version == items.version
    other = ItemVocabulary(RAW[[0, 2, 1, 3, 4]], items.codes, items.categories, items.titles)
    assert other.version != items.version  # the same ids in another order are another table


def test_an_edited_table_is_refused(tmp_path: Path) -> None:
    table().save(tmp_path)
    stored = pq.read_table(tmp_path / ITEMS)
    raw = stored["raw_id"].to_numpy().copy()
    raw[0] = 12
    pq.write_table(stored.set_column(0, "raw_id", [raw]), tmp_path / ITEMS)
    with pytest.raises(ValueError, match="does not match its contents"):
        ItemVocabulary.load(tmp_path)


def test_inconsistent_tables_are_refused() -> None:
    items = table()
    with pytest.raises(ValueError, match="distinct"):
        ItemVocabulary(RAW[[0, 1, 1, 3, 4]], items.codes, items.categories, items.titles)
    with pytest.raises(ValueError, match="differ in length"):
        ItemVocabulary(RAW, items.codes[:3], items.categories, items.titles)


def test_sequences_carry_their_raw_ids_through_a_dense_subset() -> None:
    raw = np.array([0, 101, 102, 103, 104, 105, 106])
    users = [np.array([1, 2, 3, 4]), np.array([5, 1, 2]), np.array([3, 3])]
    data = Sequences("toy", users, 6, "x", [[], [1], [2], [1, 2], [], [3], []], raw_item_ids=raw)
    dense = data.dense_subset(max_items=3, max_users=10, min_length=2)
    vocabulary = dense.vocabulary(np.zeros((4, 4), dtype=np.int64))
    # the dense ids are new (3 → 1, 1 → 2, 2 → 3), the events' ids are not
    assert vocabulary.raw_ids.tolist() == [0, 103, 101, 102] and vocabulary.categories.tolist() == [-1, 1, 1, 2]
    assert [vocabulary.to_raw(u).tolist() for u in dense.users] == [[101, 102, 103], [101, 102], [103, 103]]
    assert Sequences("plain", users, 6, "x").vocabulary(np.zeros((7, 4))).raw_ids.tolist() == list(range(7))
