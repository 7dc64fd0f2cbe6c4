from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from feature_store.online.validation import rows_to_table
from feature_store.views import INTEREST_DIM, INTEREST_SLOTS, SEQUENCE_LENGTH, USER_REALTIME
from sources.datasets import load
from streaming.state.representation import TableSemanticIds
from streaming.state.user_state import BehaviorState


def _event(i: int, user: int = 1, time: int | None = None, behavior: str = "PV", item: int | None = None) -> dict:
    return {"event_id": f"e{i}", "user_id": user, "item_id": item if item is not None else 100 + i,
            "category_id": i % 7, "behavior": behavior, "event_time": time if time is not None else 1_000_000 + i * 1000}  # fmt: skip


def test_last_n_counts_and_a_valid_feature_row() -> None:
    state = BehaviorState()
    behaviors = ["PV", "CART", "FAV", "BUY"]
    events = [_event(i, behavior=behaviors[i % 4]) for i in range(120)]
    outcome, touched = state.apply(events)
    assert (outcome.applied, outcome.duplicates, outcome.late, touched) == (120, 0, [], {1})
    row = state.snapshot(1)
    assert row["item_ids"] == [100 + i for i in range(70, 120)]
    assert row["event_times"] == sorted(row["event_times"]) and len(row["event_times"]) == SEQUENCE_LENGTH
    assert (row["count_pv"], row["count_cart"], row["count_fav"], row["count_buy"]) == (30, 30, 30, 30)
    assert len(row["interest"]) == INTEREST_SLOTS * INTEREST_DIM
    assert rows_to_table(USER_REALTIME, [row]).num_rows == 1  # the online writer accepts it as is


def test_out_of_order_within_the_bound_gives_the_in_order_result() -> None:
    events = [_event(i) for i in range(200)]
    shuffled = events[:]
    rng = random.Random(4)
    for start in range(0, 200, 4):  # shuffle within windows of 4 events = 3 s < the 5 s bound
        window = shuffled[start : start + 4]
        rng.shuffle(window)
        shuffled[start : start + 4] = window
    ordered, mixed = BehaviorState(), BehaviorState()
    ordered.apply(events)
    outcome, _ = mixed.apply(shuffled)
    assert outcome.late == []
    a, b = ordered.snapshot(1), mixed.snapshot(1)
    assert a["item_ids"] == b["item_ids"] and a["event_times"] == b["event_times"]
    np.testing.assert_allclose(a["interest"], b["interest"], rtol=1e-5)


def test_events_beyond_the_bound_are_late_and_duplicates_are_dropped() -> None:
    state = BehaviorState(out_of_orderness_ms=5_000)
    state.apply([_event(i) for i in range(20)])  # the user's newest at t = 1,019,000: late below 1,014,000
    too_old = _event(99, time=1_010_000)
    within = _event(98, time=1_016_500)
    outcome, _ = state.apply([too_old, within, _event(17), _event(98, time=1_016_500)])
    assert outcome.late == [too_old]
    assert (outcome.applied, outcome.duplicates) == (1, 2)
    row = state.snapshot(1)
    assert row["item_ids"].count(198) == 1 and 199 not in row["item_ids"]


def test_lateness_is_judged_per_user_whatever_the_others_send() -> None:
    state = BehaviorState(out_of_orderness_ms=5_000)
    state.apply([_event(i, user=1) for i in range(20)])
    far_ahead = [_event(100 + i, user=2, time=9_000_000 + i) for i in range(5)]  # another user, hours later
    slow = [_event(200 + i, user=3, time=1_000_000 + i * 1000) for i in range(5)]
    outcome, touched = state.apply([*far_ahead, *slow, _event(20, user=1)])
    assert (outcome.applied, outcome.late, touched) == (11, [], {1, 2, 3})


def test_events_far_ahead_of_the_clock_are_rejected_without_moving_anything() -> None:
    state = BehaviorState(out_of_orderness_ms=5_000, max_ahead_ms=60_000)
    state.apply([_event(i) for i in range(5)], now_ms=1_005_000)
    ahead = _event(50, time=1_005_000 + 10 * 365 * 86_400_000)
    barely = _event(51, time=1_005_000 + 60_000)
    outcome, _ = state.apply([ahead, _event(5), _event(6), barely], now_ms=1_005_000)
    assert outcome.future == [ahead] and outcome.late == [] and outcome.applied == 3
    assert state.snapshot(1)["item_ids"] == [100, 101, 102, 103, 104, 105, 106, 151]


def test_replaying_a_history_again_applies_nothing_twice() -> None:
    """Busy users forget ids older than the bound; a replayed old event is then late, never counted again."""
    events = sorted((_event(i, user=u, time=1_000_000 + i * 700 + u) for u in (1, 2) for i in range(400)),
                    key=lambda e: e["event_time"])  # fmt: skip
    state = BehaviorState(out_of_orderness_ms=5_000)
    first, _ = state.apply(events)
    before = {u: state.snapshot(u) for u in (1, 2)}
    again, touched = state.apply(events)
    assert first.applied == 800 and again.applied == 0 and touched == set()
    assert len(again.late) + again.duplicates == 800 and len(again.late) > 700
    assert {u: state.snapshot(u) for u in (1, 2)} == before
    assert max(len(s.ids) for s in state.users.values()) <= 2 * SEQUENCE_LENGTH + 1


def test_versions_are_monotonic_and_replays_converge() -> None:
    events = sorted((_event(i, user=u, time=1_000_000 + i * 1000 + u) for u in (1, 2) for i in range(30)),
                    key=lambda e: e["event_time"])  # fmt: skip

    def run() -> list[dict]:
        state = BehaviorState()
        state.apply(events[:40])
        rows = [state.snapshot(1)]
        state.apply(events[40:])
        return rows + [state.snapshot(1), state.snapshot(2)]

    first, again = run(), run()
    assert first == again  # same events: identical rows, versions included
    assert first[1]["version"] > first[0]["version"] >= first[0]["event_time"]
    assert first[2]["item_ids"] == [100 + i for i in range(30)]
    once = BehaviorState()
    once.apply(events)
    assert once.snapshot(1) == first[1]  # the snapshot cadence does not change the row


def test_semantic_ids_are_four_bytes_per_recent_item() -> None:
    state = BehaviorState(semantic_ids=TableSemanticIds({100: b"\x01\x02\x03\x00"}))
    state.apply([_event(0), _event(1)])
    assert state.snapshot(1)["sid_codes"] == b"\x01\x02\x03\x00" + b"\xff" * 4


def test_interest_vector_is_fixed_size_whatever_the_history(datasets_dir: Path) -> None:
    events = load("taobao-head", datasets_dir).table.to_pylist()  # type: ignore[attr-defined]
    state = BehaviorState(out_of_orderness_ms=10**13)
    state.apply(events)
    sizes = {len(state.snapshot(u)["interest"]) for u in state.users}
    assert sizes == {INTEREST_SLOTS * INTEREST_DIM}
    assert sum(int(s.counts.sum()) for s in state.users.values()) == len(events)


@pytest.mark.parametrize("user", [1, 2])
def test_snapshot_is_deterministic(user: int) -> None:
    events = [_event(i, user=user) for i in range(10)]
    a, b = BehaviorState(), BehaviorState()
    a.apply(events)
    b.apply(events)
    assert a.snapshot(user) == b.snapshot(user)
