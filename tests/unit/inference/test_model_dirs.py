"""The model follower: swaps to a newer complete model directory, never to one being written, and keeps serving
the current model when a newer one does not load."""

from __future__ import annotations

import os
from pathlib import Path

from inference.model_dirs import ModelFollower


def model(root: Path, name: str, mtime: float) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    os.utime(directory / "config.json", (mtime, mtime))
    return directory


def test_follows_the_newest_complete_directory(tmp_path: Path) -> None:
    first = model(tmp_path, "a", 1_000)
    swapped: list[str] = []

    def load(path: Path) -> str:
        if path.name == "broken":
            raise ValueError("unreadable weights")
        return path.name

    follower = ModelFollower(tmp_path, first, load, swapped.append, poll_s=60)
    assert not follower.check() and swapped == []
    model(tmp_path, ".b.partial", 3_000)  # being written: invisible
    assert not follower.check()
    model(tmp_path, "b", 2_000)
    assert follower.check() and swapped == ["b"] and follower.current.name == "b"
    assert not follower.check()  # already served
    model(tmp_path, "broken", 4_000)
    assert not follower.check() and not follower.check()  # logged once, not retried, "b" stays
    assert swapped == ["b"] and follower.current.name == "b"
    model(tmp_path, "c", 5_000)
    assert follower.check() and swapped == ["b", "c"]
