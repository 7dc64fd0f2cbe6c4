"""Model rollout: follow the newest model directory. A poll finds a newer complete directory under `models_dir`
(`artifacts.save` publishes one by renaming it into place), loads it off the request path, and hands the loaded
ranker over in one assignment; requests in flight finish on the ranker they started with, and the service checks
every answer against the current model (`RecommendationService.recommend`), so none from the old model is served
once the swap is done. Cached results carry the model id, so the old model's are recomputed, never served."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from inference.model_dirs import newest_model
from inference.serving.ranker import Ranker

log = logging.getLogger(__name__)


class ModelFollower:
    def __init__(self, models_dir: Path, current: Path, load: Callable[[Path], Ranker],
                 swap: Callable[[Ranker], None], poll_s: float) -> None:  # fmt: skip
        self.models_dir, self.current, self.load, self.swap, self.poll_s = models_dir, current, load, swap, poll_s
        self._failed: Path | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)

    def start(self) -> ModelFollower:
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
            ranker = self.load(newest)
        except Exception:  # a bad directory must not take the service down: it keeps serving what it has
            log.exception("model %s not loaded; still serving %s", newest.name, self.current.name)
            self._failed = newest
            return False
        self.swap(ranker)
        log.warning("now serving %s (was %s)", newest.name, self.current.name)
        self.current = newest
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
