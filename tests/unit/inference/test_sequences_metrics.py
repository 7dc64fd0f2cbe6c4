"""Leave-one-out splits, training pairs, dense subsets, and the ranking metrics, on small exact cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inference.evaluation import seen_mask, top_k_unseen
from inference.metrics import ranking_metrics
from inference.sequences import Sequences, leave_one_out, pad_left, training_pairs, trim_left
from inference.training import length_batches


def data() -> Sequences:
    users = [np.array([1, 2, 3, 4]), np.array([5, 1, 2]), np.array([3, 3])]
    return Sequences("toy", users, 6, "x", [[], [1], [2], [1, 2], [], [3], []])


def test_leave_one_out_holds_out_the_last_two_items() -> None:
    split = leave_one_out(data())
    assert [s.tolist() for s in split.train] == [[1, 2], [5]]  # users shorter than 3 are dropped
    assert split.valid_target.tolist() == [3, 1] and split.test_target.tolist() == [4, 2]
    assert [h.tolist() for h in split.test_history] == [[1, 2, 3], [5, 1]]


def test_training_pairs_never_include_the_target_in_its_history() -> None:
    users, histories, targets = training_pairs([np.array([1, 2, 3, 4])], max_length=2)
    assert users.tolist() == [0, 0, 0] and targets.tolist() == [2, 3, 4]
    assert histories.tolist() == [[0, 1], [1, 2], [2, 3]]
    assert pad_left([np.array([7])], 3).tolist() == [[0, 0, 7]]


def test_dense_subset_renumbers_by_popularity() -> None:
    dense = data().dense_subset(max_items=3, max_users=10, min_length=2)
    assert dense.num_items == 3
    # item 3 (3 interactions) becomes 1, then items 1 and 2 (2 each, ties in id order); 4 and 5 are dropped
    assert [u.tolist() for u in dense.users] == [[2, 3, 1], [2, 3], [1, 1]]
    assert dense.item_attributes[1:] == [[1, 2], [1], [2]]


def test_metrics_on_known_ranks() -> None:
    ranked = np.array([[9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
    out = ranking_metrics(ranked, np.array([9, 7]))  # rank 0 and rank 6
    assert out["recall@5"] == 0.5 and out["recall@10"] == 1.0
    assert math.isclose(out["ndcg@10"], (1.0 + 1 / math.log2(8)) / 2)
    with pytest.raises(ValueError):
        ranking_metrics(ranked[:, :3], np.array([1, 2]))


def test_seen_items_are_never_recommended() -> None:
    seen = seen_mask([np.array([2, 3])], 5)
    scores = torch.tensor([[0.0, 1.0, 9.0, 8.0, 2.0, 3.0]])
    assert top_k_unseen(scores, seen, 3).tolist() == [[5, 4, 1]]


def test_length_batches_cover_every_example_once() -> None:
    lengths = np.random.default_rng(0).integers(1, 20, 1000)
    batches = list(length_batches(lengths, 64, np.random.default_rng(1)))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert max(np.ptp(lengths[b]) for b in batches) <= 2  # similar lengths together
    assert trim_left(torch.tensor([[0, 0, 1], [0, 2, 3]])).tolist() == [[0, 1], [2, 3]]
