"""The event log: streamed part files (the JSON lines `io.freshrec.flink.EventLog` writes) become parquet parts of
one event date each, exactly once, also when a compaction dies half-way or two run at once; backfilled batches of
any source land in the same schema."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from feature_store.offline import event_log, parquet_log

DAY_MS = 86_400_000


def _clicks(n: int, start_ms: int, tag: str) -> list[dict]:
    return [{"event_id": f"{tag}-{i}", "user_id": i % 7, "item_id": 100 + i, "category_id": i % 3,
             "behavior": ("PV", "CART", "FAV", "BUY")[i % 4], "event_time": start_ms + i * 3_600_000} for i in range(n)]  # fmt: skip


def _stream_part(offline: Path, day: str, name: str, clicks: list[dict]) -> Path:
    part = offline / event_log.STREAMED / day / name
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_text("".join(json.dumps(c) + "\n" for c in clicks))
    return part


def test_compaction_moves_each_visible_part_once(tmp_path: Path) -> None:
    first, second = _clicks(5, 0, "a"), _clicks(3, DAY_MS, "b")
    _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", first)
    _stream_part(tmp_path, "1970-01-02", "clicks-u1-1.jsonl", second)
    _stream_part(tmp_path, "1970-01-02", ".clicks-u1-2.jsonl.inprogress.x", _clicks(2, DAY_MS, "c"))  # not committed

    assert event_log.compact(tmp_path) == 8
    parts = sorted(p.name for p in (tmp_path / event_log.EVENTS).iterdir())
    assert parts == ["part-1970-01-01-clicks-u1-0.parquet", "part-1970-01-02-clicks-u1-1.parquet"]
    assert [p.name for p in (tmp_path / event_log.STREAMED).rglob("*.*")] == [".clicks-u1-2.jsonl.inprogress.x"]
    log = event_log.read(tmp_path)
    assert log.schema == event_log.SCHEMA
    assert log.sort_by("event_id").select(event_log.CLICK_COLUMNS.names).to_pylist() == sorted(first + second, key=lambda c: c["event_id"])
    assert log["event_timestamp"].cast(pa.int64()).to_pylist() == log["event_time"].to_pylist()
    assert event_log.compact(tmp_path) == 0


def test_a_compaction_that_died_before_deleting_its_part_rewrites_the_same_rows(tmp_path: Path) -> None:
    part = _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", _clicks(4, 0, "a"))
    kept = tmp_path / "kept.jsonl"
    shutil.copy(part, kept)
    event_log.compact(tmp_path)
    shutil.copy(kept, part)  # as if the compaction had been killed between the parquet write and the delete
    event_log.compact(tmp_path)
    assert sorted(event_log.read(tmp_path)["event_id"].to_pylist()) == [f"a-{i}" for i in range(4)]


def test_a_part_another_compactor_took_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", _clicks(4, 0, "a"))
    read_streamed = event_log._read_streamed

    def taken_meanwhile(part: Path, use_threads: bool) -> pa.Table:
        table = read_streamed(part, use_threads)
        part.unlink()  # the other compactor finished first
        return table

    monkeypatch.setattr(event_log, "_read_streamed", taken_meanwhile)
    assert event_log.compact(tmp_path) == 4
    assert event_log.read(tmp_path).num_rows == 4


def test_backfill_appends_one_part_per_event_date_in_the_one_schema(tmp_path: Path) -> None:
    clicks = pa.Table.from_pylist(_clicks(30, 0, "d"))  # 30 hours: two dates
    coded = clicks.set_column(4, "behavior", clicks["behavior"].dictionary_encode())  # as the synthetic source
    parts = event_log.append(tmp_path, coded)
    assert sorted(p.name[:15] for p in parts) == ["part-1970-01-01", "part-1970-01-02"]
    assert parquet_log.read(tmp_path / event_log.EVENTS).num_rows == 30
    assert event_log.read(tmp_path).sort_by("event_id").select(event_log.CLICK_COLUMNS.names) == clicks.sort_by("event_id")


def test_a_malformed_streamed_part_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    part = _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", _clicks(2, 0, "a"))
    part.write_text(part.read_text() + '{"event_id": "x", "user_id": "not a number"}\n')
    with pytest.raises(pa.ArrowInvalid):
        event_log.compact(tmp_path)
    assert part.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's (setpriority on a thread id)")
def test_the_writers_compaction_runs_at_the_lowest_priority_and_moves_every_part(tmp_path: Path) -> None:
    clicks = _clicks(6, 0, "a")
    _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", clicks)
    stop, nice = threading.Event(), []

    def compacting() -> None:
        event_log.compact_until(tmp_path, stop, every_s=0.01)
        stat = Path(f"/proc/self/task/{threading.get_native_id()}/stat").read_text()
        nice.append(int(stat.rsplit(")", 1)[1].split()[16]))  # field 19 of proc(5): nice

    thread = threading.Thread(target=compacting)
    thread.start()
    stop.set()
    thread.join(10)
    assert nice == [event_log.LOWEST_PRIORITY] and os.getpriority(os.PRIO_PROCESS, 0) < event_log.LOWEST_PRIORITY
    assert not list((tmp_path / event_log.STREAMED).glob(event_log.STREAMED_PARTS))  # moved by the thread, not `read`
    assert sorted(event_log.read(tmp_path)["event_id"].to_pylist()) == sorted(c["event_id"] for c in clicks)


def _wait(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="a process's nice value as Linux reports it")
def test_the_compaction_process_moves_parts_at_the_lowest_priority_until_stopped(tmp_path: Path) -> None:
    clicks = _clicks(4, 0, "p")
    _stream_part(tmp_path, "1970-01-01", "clicks-u1-0.jsonl", clicks)
    compaction = event_log.Compaction(tmp_path, every_s=0.05)
    assert _wait(lambda: not list((tmp_path / event_log.STREAMED).glob(event_log.STREAMED_PARTS)))
    assert os.getpriority(os.PRIO_PROCESS, compaction.process.pid) == event_log.LOWEST_PRIORITY
    _stream_part(tmp_path, "1970-01-02", "clicks-u1-1.jsonl", _clicks(2, DAY_MS, "q"))
    compaction.stop()  # compacts once more as it ends
    assert compaction.process.returncode == 0
    assert not list((tmp_path / event_log.STREAMED).glob(event_log.STREAMED_PARTS))
    assert len(parquet_log.read(tmp_path / event_log.EVENTS)) == 6


def test_the_compaction_process_does_not_outlive_a_killed_writer(tmp_path: Path) -> None:
    """The writer killed (SIGKILL, no cleanup): its compaction process sees its stdin close and ends."""
    script = ("import os, signal, sys; from pathlib import Path; from feature_store.offline.event_log import Compaction; "
              f"c = Compaction(Path({str(tmp_path)!r}), every_s=0.05); print(c.process.pid, flush=True); "
              "os.kill(os.getpid(), signal.SIGKILL)")  # fmt: skip
    writer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert writer.returncode == -signal.SIGKILL
    child = int(writer.stdout.split()[0])
    assert _wait(lambda: not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2])
