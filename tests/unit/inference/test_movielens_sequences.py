"""MovieLens-100K as training sequences: every rating once, each user's in time order, a time split that holds
nothing from on or after its date, genres as item attributes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow.compute as pc
import pytest

from inference.sequences import SequenceDataError, load_sequences
from infra.config import load_settings
from infra.datasets import fetch
from sources.movielens import read_movielens

ARCHIVES = load_settings().archives_dir


def test_whole_dataset_and_time_split() -> None:
    fetch("movielens", ARCHIVES)  # a verified cached copy: no download
    whole = load_sequences("movielens", ARCHIVES, ARCHIVES)
    assert (len(whole.users), whole.num_interactions, whole.num_items) == (943, 100_000, 1_682)
    assert whole.item_attributes[1] == [3, 4, 5]  # Toy Story: Animation, Children's, Comedy
    assert whole.item_texts[1] == "Toy Story (1995). Animation, Children's, Comedy"  # what the text encoder reads
    assert len(whole.item_texts) == whole.num_items + 1 and all(whole.item_texts[1:])

    events = read_movielens(ARCHIVES / "recbole-1.2.1-py3-none-any.whl").events
    cutoff = int(datetime(1998, 3, 1, tzinfo=UTC).timestamp() * 1000)
    before = events.filter(pc.less(events["event_time"], cutoff))
    split = load_sequences("movielens", ARCHIVES, ARCHIVES, before="1998-03-01")
    assert split.num_interactions == before.num_rows < 100_000
    assert split.name == "movielens-before-1998-03-01" and split.fingerprint != whole.fingerprint
    user = int(before["user_id"][0].as_py())  # the first rating's user: its sequence is its ratings in time order
    mine = before.filter(pc.equal(before["user_id"], user)).sort_by("event_time")["item_id"].to_numpy()
    users = sorted(set(before["user_id"].to_pylist()))
    np.testing.assert_array_equal(split.users[users.index(user)], mine)


def test_beauty_cannot_be_split_in_time() -> None:
    with pytest.raises(SequenceDataError, match="no timestamps"):
        load_sequences("beauty", ARCHIVES, before="2014-06-01")
