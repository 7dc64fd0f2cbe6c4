"""Micro-batching between an asyncio server and blocking batch functions (model runs, Redis round trips).

Requests queue up from the event loop; worker threads each take what is queued (up to `max_batch`), waiting at
most `max_wait_s` for more once they hold one, run the batch function once and resolve every request's future.
`max_batch=1` is the unbatched baseline. A full queue refuses new work at once (`Overloaded`) instead of letting
latency grow without bound.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_STOP = object()


class Overloaded(RuntimeError):
    """The queue is full: the caller should answer 503 and let the client back off."""


class MicroBatcher(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], list[R]], max_batch: int, max_wait_s: float, workers: int = 1,
                 max_queue: int = 4096, name: str = "batcher",
                 on_batch: Callable[[int], None] | None = None) -> None:  # fmt: skip
        """`run` maps a batch of inputs to their outputs, in order; `on_batch` sees each batch's size (metrics)."""
        self._run, self.max_batch, self.max_wait_s = run, max_batch, max_wait_s
        self._on_batch = on_batch
        self._queue: queue.Queue = queue.Queue(max_queue)
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        try:
            self._queue.put_nowait((item, future, loop))
        except queue.Full:
            raise Overloaded(f"more than {self._queue.maxsize} requests waiting") from None
        return await future

    def submit_nowait(self, item: T) -> bool:
        """Fire and forget (e.g. a cache write-back): False, and the item dropped, when the queue is full."""
        try:
            self._queue.put_nowait((item, None, None))
            return True
        except queue.Full:
            return False

    def depth(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch:
                try:
                    remaining = deadline - time.monotonic()
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)  # for this thread's next turn
                    break
                batch.append(item)
            if self._on_batch:
                self._on_batch(len(batch))
            try:
                outcome: list | BaseException = self._run([item for item, _, _ in batch])
            except Exception as exc:  # every request of the batch gets the error; the worker lives on
                outcome = exc
            by_loop: dict = {}
            for index, (_, future, loop) in enumerate(batch):
                if future is None:
                    continue
                by_loop.setdefault(loop, []).append((future, outcome if isinstance(outcome, BaseException) else outcome[index]))
            for loop, results in by_loop.items():
                loop.call_soon_threadsafe(_resolve, results)


def _resolve(results: list[tuple[asyncio.Future, object]]) -> None:
    for future, result in results:
        if future.done():  # the request timed out or was cancelled meanwhile
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
