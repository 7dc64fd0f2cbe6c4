"""The Taobao head sample as training sequences, and the behaviour-tiered positives of listwise DPO built from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from inference.sequences import BEHAVIOR_STRENGTH, leave_one_out, load_sequences, next_interactions
from sources.datasets import TAOBAO_FILES, read_taobao


def test_every_behaviour_once_in_time_order_with_categories(datasets_dir: Path) -> None:
    data = load_sequences("taobao", datasets_dir)
    assert (len(data.users), data.num_interactions, data.num_items) == (43, 4_321, 3_276)
    strengths = np.concatenate(data.behaviors)
    assert np.bincount(strengths).tolist() == [3_926, 190 + 128, 77]  # pv, cart + fav, buy (datasets README)
    assert len({tuple(a) for a in data.item_attributes[1:]}) == 567  # one category per item
    events = read_taobao(datasets_dir / TAOBAO_FILES["taobao-head"], "t")
    first = events.filter(pc.equal(events["user_id"], events["user_id"][0]))  # time-ordered already
    user = sorted(set(events["user_id"].to_pylist())).index(first["user_id"][0].as_py())
    assert len(data.users[user]) == first.num_rows
    assert data.behaviors[user].tolist() == [BEHAVIOR_STRENGTH[b] for b in first["behavior"].to_pylist()]
    assert data.users[user][0] == 1  # renumbered by first appearance: the earliest event holds item 1
    split = leave_one_out(data)
    assert all(len(b) == len(t) for b, t in zip(split.train_behaviors, split.train))


def test_next_interactions_are_distinct_tiered_by_the_strongest_behaviour() -> None:
    train = [np.array([5, 6, 7, 6, 8])]
    behaviors = [np.array([0, 0, 2, 1, 0])]  # 7 bought, the second 6 carted
    items, tiers = next_interactions(train, behaviors, window=3)
    assert items.tolist() == [[6, 7, 0], [7, 6, 8], [6, 8, 0], [8, 0, 0]]
    assert tiers.tolist() == [[3, 4, -1], [4, 3, 2], [3, 2, -1], [2, -1, -1]]
    assert next_interactions(train, [], window=1)[1].tolist() == [[2]] * 4  # no behaviours logged: tier 2


def test_a_dense_subset_keeps_each_behaviour_with_its_event(datasets_dir: Path) -> None:
    data = load_sequences("taobao", datasets_dir)
    subset = data.dense_subset(max_items=300, max_users=20)
    assert len(subset.behaviors) == len(subset.users) > 0
    assert all(len(b) == len(u) for b, u in zip(subset.behaviors, subset.users))
    assert sum(len(b) for b in subset.behaviors) < data.num_interactions
