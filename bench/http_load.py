"""A closed-loop HTTP/1.1 load generator on uvloop: `concurrency` keep-alive connections, each sending its next
request as soon as the previous answer is complete; per-request latency and the answers' `path` field recorded.

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


class _Connection(asyncio.Protocol):
    def __init__(self, host: str, path: str, next_body: Callable[[], bytes | None], result: LoadResult,
                 deadline: float, done: asyncio.Future) -> None:  # fmt: skip
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: ".encode()
        self.next_body, self.result, self.deadline, self.done = next_body, result, deadline, done
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        body = self.next_body() if time.perf_counter() < self.deadline else None
        if body is None:
            self.transport.close()
            return
        self.started = time.perf_counter()
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
               seconds: float) -> LoadResult:  # fmt: skip
    loop = asyncio.get_running_loop()
    result = LoadResult(seconds)
    started = time.perf_counter()
    deadline = started + seconds
    finished = [loop.create_future() for _ in range(concurrency)]
    for done in finished:
        await loop.create_connection(lambda d=done: _Connection(host, path, next_body, result, deadline, d), host, port)
    await asyncio.wait_for(asyncio.gather(*finished), seconds + 60)
    result.seconds = time.perf_counter() - started
    return result


def run_load(host: str, port: int, path: str, next_body: Callable[[], bytes | None], concurrency: int,
             seconds: float) -> LoadResult:  # fmt: skip
    """Requests until `seconds` have passed or `next_body` returns None (no more requests to make)."""
    return uvloop.run(_run(host, port, path, next_body, concurrency, seconds))
