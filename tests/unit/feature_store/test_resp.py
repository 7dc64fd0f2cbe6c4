"""The reply poller: it returns as soon as a reply is readable, and never waits past its budget for one."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

from feature_store.online.resp import await_reply


def test_returns_once_data_is_readable_without_consuming_it() -> None:
    ours, server = socket.socketpair()
    server.sendall(b"+OK\r\n")
    await_reply(SimpleNamespace(_sock=ours), spin_us=1_000_000)
    assert ours.recv(16) == b"+OK\r\n"  # peeked, not read


def test_gives_up_after_its_budget_when_no_reply_comes() -> None:
    ours, _server = socket.socketpair()
    started = time.perf_counter()
    await_reply(SimpleNamespace(_sock=ours), spin_us=20_000)
    assert 0.02 <= time.perf_counter() - started < 1.0


def test_no_polling_when_disabled_or_not_connected() -> None:
    ours, _server = socket.socketpair()
    started = time.perf_counter()
    await_reply(SimpleNamespace(_sock=ours), spin_us=0)
    await_reply(SimpleNamespace(_sock=None), spin_us=10_000_000)
    assert time.perf_counter() - started < 0.5
