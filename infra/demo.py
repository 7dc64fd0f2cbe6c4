"""`freshrec demo`: the whole loop on MovieLens-100K, as an operator would run it, each step's effect printed.

Ratings before day D go through Kafka and the behavior job (features online, the event log offline); a model is
trained from that log; the API and the refresher serve it; one user's real ratings of day D then arrive live, and
their top-10 before and after shows the change and the measured click -> fresh time; day D's intent batch tags the
user from the streamed log, and the response shows the tags and the intent channel's items. Long-running parts (the
job, the API, the refresher) run as `freshrec` processes of their own, stopped at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.compute as pc

from infra.config import Settings
from sources.datasets import DAY_MS, TableSource, load, select, utc_ms

if TYPE_CHECKING:
    from inference.item_vocabulary import ItemVocabulary

DATASET = "movielens"
STREAM_ENV = {"FRESHREC_STREAM__EVENT_LOG_ROLL_MS": "2000", "FRESHREC_STREAM__CHECKPOINT_INTERVAL_MS": "2000",
              "FRESHREC_STREAM__CATCH_UP_MS": "0"}  # fmt: skip
"""The demo reads the event log seconds after the replay (parts close every 2 s instead of every minute, committed
by checkpoints every 2 s instead of 10), and its 1997 clicks, decades behind the clock, are live clicks here, not a
backlog to coalesce."""
SERVING_ENV = {"FRESHREC_SERVING__FEATURE_MAX_AGE_DAYS": "36500", "FRESHREC_SERVING__REFRESH_MAX_LAG_MS": "0"}
"""Likewise for serving: 1997's features are served, not expired, and the refresher does not shed their updates."""


class DemoError(RuntimeError):
    """A step did not have its effect in time; the message names the step and where its log is."""


@dataclass
class Demo:
    settings: Settings
    day: str = "1997-11-15"
    """D: ratings before it are history, the user's ratings of that day arrive live."""
    user: int | None = None
    """The user whose next ratings arrive live; default: the most active on D with history before it."""
    live_clicks: int = 5
    preset: str = "demo"
    say: Callable[[str], None] = print
    items: ItemVocabulary | None = field(default=None, init=False)
    _processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list, init=False)

    @property
    def logs(self) -> Path:
        return self.settings.state_dir / "demo"

    def run(self) -> dict[str, Any]:
        """Every step; returns what was measured and shown (the e2e test checks it)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        source = load(DATASET, self.settings.datasets_dir, archives_dir=self.settings.archives_dir)
        assert isinstance(source, TableSource)
        cut = utc_ms(self.day)
        user = self.user or most_active(source, cut)
        history = select(source, before_ms=cut)
        live = select(source, since_ms=cut, before_ms=cut + DAY_MS, users=[user]).table.slice(0, self.live_clicks)
        report: dict[str, Any] = {"day": self.day, "user": user}
        try:
            self._history(history, report)
            model = self._train(report)
            self._start("serve", ["serve"], SERVING_ENV)
            self._start("refresh", ["refresh"], SERVING_ENV)
            self._wait(self._ready, 300, "the API's /readyz", "serve")
            before = self._recommend(user)
            self._show(f"user {user}'s top-10 before day {self.day}", before, model)
            report["before"] = before
            report["live"] = self._live(user, live, before["feature_version"])
            after = self._recommend(user)
            self._show(f"user {user}'s top-10 after {live.num_rows} ratings of {self.day}", after, model)
            report["after"] = after
            self._intents(user)
            tagged = self._recommend(user)
            self._show(f"with the intent tags of {self.day}", tagged, model)
            report["tagged"] = tagged
        finally:
            self.stop()
        return report

    def _history(self, history: TableSource, report: dict[str, Any]) -> None:
        from feature_store.offline import event_log
        from streaming.replay import replay

        if _rows(event_log, self.settings.offline_dir):
            raise DemoError(f"the demo starts from an empty store, and {self.settings.offline_dir} holds an event log "
                            f"already: `freshrec down`, remove {self.settings.state_dir} and "
                            f"{self.settings.offline_dir}, then run it again")  # fmt: skip
        stats = replay(history, self.settings.topics.clicks, self.settings.kafka.client_config())
        self.say(f"1. replayed {stats.events:,} MovieLens ratings before {self.day} to {self.settings.topics.clicks}")
        self._start("stream", ["stream", "run"], STREAM_ENV)
        offline = self.settings.offline_dir
        self._wait(lambda: _rows(event_log, offline) >= stats.events, 600, "the event log to hold the replay", "stream",
                   interval=1.0)  # fmt: skip
        report["history_events"] = _rows(event_log, offline)
        self.say(f"2. behavior job: {report['history_events']:,} clicks applied, features in Redis, the event log "
                 f"in {offline / event_log.EVENTS}")  # fmt: skip

    def _train(self, report: dict[str, Any]) -> Path:
        from inference.item_vocabulary import ItemVocabulary as Vocabulary
        from inference.model_dirs import newest_model

        self._freshrec("items", ["items", "load", DATASET])
        started = time.monotonic()
        self._freshrec("train", ["train", "--preset", self.preset, "--source", "store", "--before", self.day])
        model = newest_model(self.settings.models_dir)
        report["train_s"] = time.monotonic() - started
        report["model"] = model.name
        self.say(f"3. trained from the store's event log before {self.day} in {report['train_s']:.0f} s: {model.name}")
        self.items = Vocabulary.load(model)
        return model

    def _live(self, user: int, clicks: Any, version: int | None) -> dict[str, Any]:
        from streaming.replay import replay

        bootstrap = self.settings.kafka.client_config()
        fresh_ms, items, latest = [], clicks["item_id"].to_pylist(), {}
        for click in range(clicks.num_rows):
            sent = time.monotonic()
            replay(TableSource(DATASET, clicks.slice(click, 1)), self.settings.topics.clicks, bootstrap)

            def fresh(v: int | None = version) -> bool:
                latest["response"] = self._recommend(user)
                return _newer(latest["response"], v)

            self._wait(fresh, 60, "a fresh result after a click", "refresh")
            fresh_ms.append((time.monotonic() - sent) * 1000)
            version = latest["response"]["feature_version"]
        self.say(f"4. {len(items)} ratings of {self.day} sent live: {', '.join(self._title(i) for i in items)}")
        self.say(f"   click -> fresh result (Kafka, job, Redis, refresher, API): median {np.median(fresh_ms):.0f} ms, "
                 f"max {max(fresh_ms):.0f} ms")  # fmt: skip
        return {"items": items, "fresh_ms": fresh_ms}

    def _intents(self, user: int) -> None:
        self._freshrec("intents", ["intents", "run", "--date", self.day, "--user", str(user), "--catalog", DATASET])
        self.say(f"5. the intent batch of {self.day} tagged user {user} from the streamed event log")

    def _show(self, title: str, response: dict[str, Any], model: Path) -> None:
        self.say(f"\n{title} (feature version {response['feature_version']}, {response['path']}, model {model.name}):")
        for rank, item in enumerate(response["items"], 1):
            self.say(f"  {rank:2d}. {self._title(item['item_id'])}  [{item['source']}]")
        if response["intent_tags"]:
            self.say(f"  intent tags: {', '.join(response['intent_tags'])}")
        self.say("")

    def _title(self, item: int) -> str:
        assert self.items is not None
        row = self.items.to_index(np.array([item]))[0]
        return self.items.titles[row].rsplit(". ", 1)[0] if row else f"item {item}"  # "Title (year). Genres"

    def _recommend(self, user: int) -> dict[str, Any]:
        body = json.dumps({"user_id": user, "k": 10}).encode()
        request = urllib.request.Request(f"{self._base}/recommend", body, {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    @property
    def _base(self) -> str:
        return f"http://{self.settings.serving.host}:{self.settings.serving.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self._base}/readyz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _freshrec(self, name: str, args: list[str]) -> None:
        log = self.logs / f"{name}.log"
        with log.open("w") as out:
            done = subprocess.run([_command(), *args], stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise DemoError(f"`freshrec {' '.join(args)}` failed (exit {done.returncode}); its output: {log}")

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        out = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen([_command(), *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, **(env or {})})  # fmt: skip
        self._processes.append((name, process))

    def _wait(self, condition: Callable[[], bool], seconds: float, what: str, log: str, interval: float = 0.05) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            for name, process in self._processes:
                if process.poll() is not None:
                    raise DemoError(f"`freshrec {name}` exited while waiting for {what}; see {self.logs / f'{name}.log'}")
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {seconds:.0f} s waiting for {what}; see {self.logs / f'{log}.log'}")
            time.sleep(interval)

    def stop(self) -> None:
        """SIGTERM to what the demo started (each stops cleanly: the job keeps its checkpoint), newest first."""
        for name, process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            self.say(f"stopped freshrec {name}")
        self._processes.clear()


def most_active(source: TableSource, cut_ms: int) -> int:
    """The user with the most events on the day starting at `cut_ms` among those with 10 or more before it."""
    before = source.table.filter(pc.less(source.table["event_time"], cut_ms))["user_id"].to_numpy()
    day = select(source, since_ms=cut_ms, before_ms=cut_ms + DAY_MS).table["user_id"].to_numpy()
    users, counts = np.unique(day, return_counts=True)
    known = np.isin(users, [u for u, n in zip(*np.unique(before, return_counts=True)) if n >= 10])
    if not known.any():
        raise DemoError("no user has 10 events before the day and one on it: choose another --day")
    return int(users[known][np.argmax(counts[known])])


def _newer(response: dict[str, Any], version: int | None) -> bool:
    """Whether the API's answer reflects features newer than `version` (from the refresher's cache or computed)."""
    return response["feature_version"] is not None and (version is None or response["feature_version"] > version)


def _rows(event_log: Any, offline: Path) -> int:
    try:
        return event_log.read(offline).num_rows
    except FileNotFoundError:
        return 0


def _command() -> str:
    return str(Path(sys.executable).with_name("freshrec"))
