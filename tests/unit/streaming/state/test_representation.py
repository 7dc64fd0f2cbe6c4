from __future__ import annotations

import numpy as np

from streaming.state.representation import HashedEmbeddings, InterestPool, splitmix64, summary, top_categories


def test_splitmix64_matches_the_published_sequence() -> None:
    # SplitMix64 seeded with 0 (java.util.SplittableRandom's generator): 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, ...
    states = np.array([0x9E3779B97F4A7C15 * k for k in range(2)], dtype=np.uint64)
    assert [hex(int(v)) for v in splitmix64(states)] == ["0xe220a8397b1dcdaf", "0x6e789e6aa1b965f4"]


def test_hashed_embeddings_are_unit_deterministic_and_cluster_by_category() -> None:
    table = HashedEmbeddings()
    vectors = table.lookup(np.array([1, 2, 3]), np.array([7, 7, 8]))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(vectors, HashedEmbeddings().lookup(np.array([1, 2, 3]), np.array([7, 7, 8])))
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_interest_pool_is_a_weighted_mean_per_slot() -> None:
    pool = InterestPool()
    e1, e2 = np.eye(16)[0], np.eye(16)[1]
    pool.add(e1, category_id=4, behavior=0, event_time=1000)  # slot 0, weight 1
    pool.add(e2, category_id=8, behavior=3, event_time=1000)  # slot 0, weight 5 (BUY)
    vector = pool.vector().reshape(4, 16)
    assert np.allclose(vector[0][:2], [1 / 6, 5 / 6]) and not vector[1:].any()


def test_text_fields() -> None:
    categories = np.array([5, 9, 5, 7])
    behaviors = np.array([0, 3, 0, 1])
    times = np.array([0, 60_000, 120_000, 125_000])
    top = top_categories(categories, behaviors, times)
    assert top[0] == 9 and set(top) == {5, 7, 9}
    text = summary(np.array([2, 1, 0, 1]), top, behaviors, times)
    assert text == "pv 2 cart 1 buy 1 | top c9, c7, c5 | prev <1m | last cart"
