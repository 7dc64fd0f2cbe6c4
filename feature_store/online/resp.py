"""Redis protocol (RESP2) commands built a whole column at a time, sent on a redis-py connection.

redis-py packs every argument in Python (~20 us per HSET of a dozen fields); a batch write packs thousands of
arguments, so they are framed here with numpy instead: `$<len>\\r\\n<bytes>\\r\\n` per argument, columns end to end.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis
from redis.connection import Connection

from schemas.ragged import Ragged, concat, decimal_ascii

Column = Ragged | Sequence[Ragged]
"""A column argument: one argument per row, given whole or as pieces to concatenate row-wise."""


def bulk(column: Column) -> bytes:
    """Every row of `column` as one RESP bulk string, concatenated, in a single copy."""
    parts = [column] if isinstance(column, Ragged) else list(column)
    n = parts[0].n
    sizes = sum(part.sizes for part in parts)
    crlf = Ragged.constant(b"\r\n", n)
    return concat([Ragged.constant(b"$", n), decimal_ascii(sizes), crlf, *parts, crlf]).tobytes()


def command(args: Sequence[bytes | Column]) -> bytes:
    """One command whose arguments are single values or whole columns (a column adds one argument per row)."""
    count = sum(1 if isinstance(a, bytes) else (a if isinstance(a, Ragged) else a[0]).n for a in args)
    parts = [b"*%d\r\n" % count]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg) if isinstance(arg, bytes) else bulk(arg))
    return b"".join(parts)


@contextmanager
def connection(client: redis.Redis) -> Iterator[Connection]:
    """A pooled connection for raw packed commands; dropped (not reused) if anything failed mid-conversation."""
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        yield conn
    except BaseException:
        conn.disconnect()  # replies may be pending on it
        raise
    finally:
        pool.release(conn)


class ThreadConnections:
    """One connection per thread, checked out of the client's pool once and kept: a single-user read is a few tens
    of microseconds, and a pool checkout per call would add ~8 us to it."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._local = threading.local()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.client.connection_pool.get_connection()
        try:
            yield conn
        except BaseException:
            conn.disconnect()  # replies may be pending on it: start clean next time
            self.client.connection_pool.release(conn)
            self._local.conn = None
            raise


def await_reply(conn: Connection, spin_us: int) -> None:
    """Poll the socket for up to `spin_us` before the blocking read that follows.

    On a loopback or Unix socket the reply to a small read comes back in ~20 us, but a client that blocks sleeps
    and pays the scheduler's wake-up on top (~25-30 us on this VM, half the read). Polling a little first keeps the
    core awake for a latency-critical caller; past the budget (a slow server, a large batch) it falls back to
    blocking, so at most `spin_us` of CPU is spent per call.
    """
    sock = conn._sock
    if spin_us <= 0 or type(sock) is not socket.socket:  # TLS sockets take no recv flags: just block
        return
    deadline = time.perf_counter_ns() + spin_us * 1000
    peek = socket.MSG_PEEK | socket.MSG_DONTWAIT
    while time.perf_counter_ns() < deadline:
        try:
            sock.recv(1, peek)  # data, or b"" when closed: either way the read that follows handles it
            return
        except BlockingIOError:
            continue
