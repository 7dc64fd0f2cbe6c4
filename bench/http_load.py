"""An HTTP/1.1 load generator on uvloop: `concurrency` keep-alive connections, each sending its next request as soon
as the previous answer is complete (closed loop: the most the server can answer), or, with a `rate`, at fixed
intervals across the connections (paced: the latency at that offered load); per-request latency and the answers'
`path` field recorded. Paced latency counts from the request's scheduled time, so a server that falls behind is
charged for the wait too (no coordinated omission).

Minimal on purpose (no HTTP library in the loop): on a 2-core machine the generator shares the CPU with the
server, so every microsecond it spends is one the server does not get.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import uvloop

_PATH = re.compile(rb'"path":"(\w+)"')


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    paths: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(np.asarray(self.latencies) * 1000, q)) if self.latencies else float("nan")


class _Schedule:
    """Send times at `rate` per second from `start`, shared by every connection; None: as soon as possible."""

    def __init__(self, start: float, rate: float | None) -> None:
        self.start, self.rate, self.sent = start, rate, 0

    def next(self) -> float | None:
        if self.rate is None:
            return None
        self.sent += 1
        return self.start + (self.sent - 1) / self.rate


class _Connection(asyncio.Protocol):
    def __init__(self, host: str, path: str, next_body: Callable[[], bytes | None], result: LoadResult,
                 deadline: float, done: asyncio.Future, schedule: _Schedule) -> None:  # fmt: skip
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: ".encode()
        self.next_body, self.result, self.deadline, self.done = next_body, result, deadline, done
        self.schedule = schedule
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        at = self.schedule.next()
        body = self.next_body() if (time.perf_counter() if at is None else at) < self.deadline else None
        if body is None:
            self.transport.close()
            return
        wait = at - time.perf_counter() if at is not None else 0.0
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._write, body, at)
        else:
            self._write(body, at)

    def _write(self, body: bytes, at: float | None) -> None:
        self.started = at if at is not None else time.perf_counter()
        self.transport.write(b"%s%d\r\n\r\n%s" % (self.head, len(body), body))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        self.result.latencies.append(time.perf_counter() - self.started)
        self.result.statuses[int(head[9:12])] += 1
        match = _PATH.search(body)
        self.result.paths[match.group(1).decode() if match else "-"] += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _run(host: str, port: int, path: str, next_body: Callable[[], bytes | None], concurrency: int,
               seconds: float, rate: float | None) -> LoadResult:  # fmt: skip
    loop = asyncio.get_running_loop()
    result = LoadResult(seconds)
    started = time.perf_counter()
    deadline, schedule = started + seconds, _Schedule(started, rate)
    finished = [loop.create_future() for _ in range(concurrency)]
    for done in finished:
        await loop.create_connection(lambda d=done: _Connection(host, path, next_body, result, deadline, d, schedule),
                                     host, port)  # fmt: skip
    await asyncio.wait_for(asyncio.gather(*finished), seconds + 60)
    result.seconds = time.perf_counter() - started
    return result


def run_load(host: str, port: int, path: str, next_body: Callable[[], bytes | None], concurrency: int,
             seconds: float, rate: float | None = None) -> LoadResult:  # fmt: skip
    """Requests until `seconds` have passed or `next_body` returns None (no more requests to make); `rate`: paced
    at that many requests per second in all (at most `concurrency` in flight), else closed loop."""
    return uvloop.run(_run(host, port, path, next_body, concurrency, seconds, rate))
