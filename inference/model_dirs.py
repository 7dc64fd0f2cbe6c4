"""Model directories on disk, without loading torch: which one is newest, and following it.

Processes that only need a model's item table (the streaming writer's semantic ids) load it with
`inference.item_vocabulary` in milliseconds; `inference.artifacts` loads the rest.

Rollout: a poll finds a newer complete directory under `models_dir` (`artifacts.save` publishes one by renaming it
into place), loads it off the hot path, and hands it over in one assignment. Serving's requests in flight finish on
the ranker they started with, and the service checks every answer against the current model
(`RecommendationService.recommend`), so none from the old model is served once the swap is done; cached results carry
the model id, so the old model's are recomputed, never served. The snapshot writer follows the same way for the
semantic ids it stores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Loaded = TypeVar("Loaded")


def newest_model(models_dir: Path) -> Path:
    """The most recently written model directory directly under `models_dir` (hidden ones are being written)."""
    candidates = sorted((p for p in models_dir.glob("*/config.json") if not p.parent.name.startswith(".")),
                        key=lambda p: p.stat().st_mtime)  # fmt: skip
    if not candidates:
        raise FileNotFoundError(f"no model directory under {models_dir}: run `freshrec train` first")
    return candidates[-1].parent


class ModelFollower(Generic[Loaded]):
    """Polls `models_dir` every `poll_s` on a thread of its own; `load`s a newer directory and `swap`s it in."""

    def __init__(self, models_dir: Path, current: Path | None, load: Callable[[Path], Loaded],
                 swap: Callable[[Loaded], None], poll_s: float) -> None:  # fmt: skip
        self.models_dir, self.current, self.load, self.swap, self.poll_s = models_dir, current, load, swap, poll_s
        self._failed: Path | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)

    def start(self) -> ModelFollower[Loaded]:
        self._thread.start()
        return self

    def check(self) -> bool:
        """One poll: True when a newer model was loaded and swapped in. A directory that fails to load is logged and
        not tried again (the one in service stays)."""
        try:
            newest = newest_model(self.models_dir)
        except FileNotFoundError:
            return False
        if newest in (self.current, self._failed):
            return False
        try:
            loaded = self.load(newest)
        except Exception:  # a bad directory must not take the process down: it keeps what it has
            log.exception("model %s not loaded; still on %s", newest.name, self.current and self.current.name)
            self._failed = newest
            return False
        self.swap(loaded)
        log.warning("now on model %s (was %s)", newest.name, self.current and self.current.name)
        self.current = newest
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
