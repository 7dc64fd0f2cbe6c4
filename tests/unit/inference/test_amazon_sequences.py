"""Amazon categories in the S3-Rec layout as training sequences: Beauty by its name, any other category as
`amazon:<Category>` (the same reader, attributes optional), and what a run on one writes: its model directory's
name and the paper's row in its results table."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from inference.artifacts import run_name
from inference.report import results_table
from inference.sequences import SequenceDataError, leave_one_out, load_sequences


def test_beauty_and_its_fingerprint(datasets_dir: Path) -> None:
    data = load_sequences("beauty", datasets_dir)
    assert (data.name, len(data.users), data.num_items, data.num_interactions) == ("beauty", 22_363, 12_101, 198_502)
    np.testing.assert_array_equal(data.users[1], [6, 7, 8, 9, 10, 4, 11])  # line 2 of Beauty.txt
    files = [datasets_dir / "amazon/Beauty.txt", datasets_dir / "amazon/Beauty_item2attributes.json"]
    # the fingerprint saved models carry: both files' bytes, as before any other category could be read
    assert data.fingerprint == hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    assert data.item_attributes[1] == json.loads(files[1].read_text())["1"]


def test_another_category_by_name(tmp_path: Path) -> None:
    amazon = tmp_path / "amazon"
    amazon.mkdir()
    (amazon / "Toys_and_Games.txt").write_text("1 3 1 2 5\n2 2 4 1\n")
    (amazon / "Toys_and_Games_item2attributes.json").write_text(json.dumps({"1": [7, 8], "3": [9], "9": [1]}))
    data = load_sequences("amazon:TOYS_AND_GAMES", tmp_path)
    assert (data.name, data.num_items, [list(u) for u in data.users]) == ("amazon:Toys_and_Games", 5, [[3, 1, 2, 5], [2, 4, 1]])
    assert data.item_attributes == [[], [7, 8], [], [9], [], []]  # an item beyond the sequences' ids is dropped
    split = leave_one_out(data)
    assert list(split.test_target) == [5, 1] and list(split.valid_target) == [2, 4]
    (amazon / "Toys_and_Games_item2attributes.json").unlink()
    without = load_sequences("amazon:Toys_and_Games", tmp_path)
    assert without.item_attributes == [[]] * 6 and without.fingerprint != data.fingerprint
    with pytest.raises(SequenceDataError, match=r"Books.txt not found \(categories there: amazon:Toys_and_Games\)"):
        load_sequences("amazon:Books", tmp_path)
    with pytest.raises(SequenceDataError, match="no timestamps"):
        load_sequences("amazon:Toys_and_Games", tmp_path, before="2014-06-01")


def test_a_category_names_its_model_directory_and_its_paper_row() -> None:
    assert run_name("amazon:Toys_and_Games", {}).startswith("amazon-toys_and_games-2")  # a path without a colon
    assert run_name("beauty", {}).startswith("beauty-2")
    assert "| TIGER (paper, Toys) | 0.0521 | 0.0371 | 0.0712 | 0.0432 |" in results_table({"dataset": {"name": "amazon:Toys_and_Games"}})
    assert "TIGER (paper, Beauty)" in results_table({"dataset": {"name": "beauty"}})
    assert "TIGER" not in results_table({"dataset": {"name": "amazon:Books"}})
