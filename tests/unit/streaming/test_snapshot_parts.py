"""The writer's batches gathered into parts of the offline log: written by size or age, never twice, and the offsets
the writer may commit (`covered`) never ahead of what a written part holds."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest

from feature_store.offline import parquet_log
from feature_store.views import USER_REALTIME
from streaming import snapshot_parts
from streaming.snapshot_parts import SnapshotParts
from streaming.snapshot_writer import snapshots_table
from tests.unit.streaming.test_snapshot_table import _snapshot


def _batch(users: range, version: int) -> pa.Table:
    return snapshots_table([_snapshot(user, version, [user]) for user in users])


def _parts(directory: Path) -> list[Path]:
    return sorted((directory / USER_REALTIME.name).glob("part-*.parquet"))


def test_batches_gather_into_one_part_once_it_holds_enough_rows(tmp_path: Path) -> None:
    parts = SnapshotParts(tmp_path, USER_REALTIME, "snaps", rows=25, seconds=3600)
    parts.add(_batch(range(10), 5), {0: 9})
    parts.add(_batch(range(10, 20), 5), {0: 19, 1: 3})
    assert _parts(tmp_path) == [] and parts.covered() == {}  # nothing written: nothing to commit
    parts.add(_batch(range(20, 30), 5), {0: 29})  # the part is written, in the background
    parts.flush()  # nothing more to write: waits for it
    (part,) = _parts(tmp_path)
    assert parquet_log.read(tmp_path / USER_REALTIME.name)["user_id"].to_pylist() == list(range(30))
    assert parts.covered() == {0: 29, 1: 3} == parquet_log.appended_offsets(tmp_path / USER_REALTIME.name, "snaps")


def test_a_part_is_written_once_its_oldest_batch_is_old_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(snapshot_parts.time, "monotonic", lambda: now[0])
    parts = SnapshotParts(tmp_path, USER_REALTIME, "snaps", rows=10**6, seconds=5.0)
    parts.add(_batch(range(3), 5), {0: 2})
    now[0] += 4.9
    parts.flush_if_due()
    assert _parts(tmp_path) == []
    now[0] += 0.2
    parts.flush_if_due()
    parts.flush()  # nothing more to write: waits for it
    assert len(_parts(tmp_path)) == 1 and parts.covered() == {0: 2}
    parts.flush_if_due()
    parts.flush()
    assert len(_parts(tmp_path)) == 1  # nothing gathered: no empty part


def test_a_batch_without_rows_is_covered_at_once_only_when_nothing_waits_before_it(tmp_path: Path) -> None:
    parts = SnapshotParts(tmp_path, USER_REALTIME, "snaps", rows=10**6, seconds=3600)
    parts.add(_batch(range(0), 5), {0: 4})
    assert parts.covered() == {0: 4} and _parts(tmp_path) == []
    parts.add(_batch(range(2), 5), {0: 6})
    parts.add(_batch(range(0), 5), {0: 9, 1: 1})  # all dead-lettered, say: behind a batch not yet written
    assert parts.covered() == {0: 4}
    parts.flush()
    assert parts.covered() == {0: 9, 1: 1}
    assert parquet_log.appended_offsets(tmp_path / USER_REALTIME.name, "snaps") == {0: 9, 1: 1}


def test_forget_drops_what_was_gathered_and_reads_the_footers_again(tmp_path: Path) -> None:
    parts = SnapshotParts(tmp_path, USER_REALTIME, "snaps", rows=10**6, seconds=3600)
    parts.add(_batch(range(2), 5), {0: 1})
    parts.flush()
    parts.add(_batch(range(2, 4), 5), {0: 3})
    other = SnapshotParts(tmp_path, USER_REALTIME, "snaps")  # another writer, after the partition moved
    other.add(_batch(range(2, 5), 5), {0: 4})
    other.flush()
    parts.forget()
    assert parts.appended() == {0: 4} == parts.covered()
    parts.flush()
    assert sorted(parquet_log.read(tmp_path / USER_REALTIME.name)["user_id"].to_pylist()) == [0, 1, 2, 3, 4]


def test_a_batch_without_rows_behind_a_part_being_written_is_covered_once_it_is(tmp_path: Path) -> None:
    parts = SnapshotParts(tmp_path, USER_REALTIME, "snaps", rows=2, seconds=3600)
    release = threading.Event()
    parts._pool.submit(release.wait)  # the part writer's one thread is busy until released
    parts.add(_batch(range(2), 5), {0: 1})  # a part, queued behind it
    parts.add(_batch(range(0), 5), {0: 3})
    assert parts.covered() == {}
    release.set()
    parts.flush()
    assert parts.covered() == {0: 3} and len(_parts(tmp_path)) == 1
