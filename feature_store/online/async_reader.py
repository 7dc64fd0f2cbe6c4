"""`OnlineReader` batch reads from an asyncio event loop, without a thread.

Every read asked for in one pass of the loop goes out as one MULTI/EXEC (`OnlineReader.frame`) on one connection;
replies are parsed by hiredis as they arrive, and batches pipeline (RESP answers in order), so a server handling
thousands of requests a second pays one round trip per loop pass, not a thread hand-off per request. Decoding is
`OnlineReader.decode`: the same features as the threaded path, byte for byte. On Redis Cluster a loop pass's reads go
to each master they touch on that master's connection (`OnlineReader.cluster_frames`), all at once; a redirection or a
lost master fails that pass's reads and has the topology refreshed for the next.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable

import hiredis
import numpy as np
from redis.connection import Connection, ConnectionPool, SSLConnection

from feature_store.online import cluster, resp
from feature_store.online.reader import FeatureBatch, FeatureVector, OnlineReader

MAX_IN_FLIGHT = 64
"""Batches sent and not yet answered, per connection, beyond which a new batch fails at once (`Backlogged`): a
server that stops answering without closing (CLIENT PAUSE, a long fork, a failover) would otherwise collect one
pending batch per loop pass, and their memory, for as long as it stays silent. A healthy one has one or two."""


class Backlogged(ConnectionError):
    """The store has not answered the reads already in flight: this one is refused, not queued."""


class AsyncOnlineReader:
    def __init__(self, reader: OnlineReader, on_batch: Callable[[int], None] | None = None,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:  # fmt: skip
        """Connects like `reader`'s client (host, port, db, credentials, TLS over TCP). `on_batch` sees each
        batch's size (metrics)."""
        self._cluster = cluster.is_cluster(reader.client)
        pool = _node_pool(reader.client)
        if pool.connection_class not in (Connection, SSLConnection):
            raise ValueError(f"the event-loop reader speaks TCP (plain or TLS), not {pool.connection_class.__name__}")
        self.reader, self.on_batch, self.max_in_flight = reader, on_batch, max_in_flight
        kwargs = pool.connection_kwargs
        self._address = (kwargs.get("host", "localhost"), kwargs.get("port", 6379))
        self._tls = _tls_context(kwargs) if pool.connection_class is SSLConnection else None
        self._handshake = []
        if kwargs.get("password"):
            credentials = [kwargs["username"], kwargs["password"]] if kwargs.get("username") else [kwargs["password"]]
            self._handshake.append(resp.command([b"AUTH", *(str(c).encode() for c in credentials)]))
        if kwargs.get("db"):
            self._handshake.append(resp.command([b"SELECT", str(kwargs["db"]).encode()]))
        self._refreshing = False
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    async def read_with(self, entity_id: int, key: bytes) -> tuple[FeatureVector, bytes | None]:
        """The entity's features and the string at `key`, as of one instant (batched with the loop pass's others)."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop) or self._loops.setdefault(loop, _LoopState())
        future = loop.create_future()
        if not state.pending:
            loop.call_soon(self._flush, state)
        state.pending.append((entity_id, key, future))
        return await future

    def close(self) -> None:
        """Closes each loop's connection, from any thread (a loop already closed took its connection with it)."""
        for loop, state in self._loops.items():
            for protocol in state.protocols.values():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(protocol.close)
        self._loops.clear()

    def _flush(self, state: _LoopState) -> None:
        batch, state.pending = state.pending, []
        asyncio.get_running_loop().create_task(self._read(state, batch))

    async def _read(self, state: _LoopState, batch: list[tuple[int, bytes, asyncio.Future]]) -> None:
        if self.on_batch:
            self.on_batch(len(batch))
        ids = [entity for entity, _, _ in batch]
        keys = [key for _, key, _ in batch]
        try:
            if self._cluster:
                features, values = await self._read_cluster(state, ids, keys)
            else:
                replies = await (await self._connection(state, self._address)).request(*self.reader.frame(ids, keys))
                features, values = self.reader.decode(np.asarray(ids, dtype=np.int64), replies, len(keys), int(time.time() * 1000))
        except Exception as exc:  # every read of the batch gets the error; the next batch reconnects if need be
            if self._cluster and (isinstance(exc, ConnectionError) or cluster.is_redirect(exc)):
                self._refresh()
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for i, (*_, future) in enumerate(batch):
            if not future.done():  # not timed out or cancelled meanwhile
                future.set_result((features.vector(i), values[i]))

    async def _read_cluster(self, state: _LoopState, ids: list[int], keys: list[bytes]) -> tuple[FeatureBatch, list]:
        plan = self.reader.cluster_frames(ids, keys)
        requests = []
        for node, _, payload, counts in plan:
            kwargs = node.connection_pool.connection_kwargs
            connection = await self._connection(state, (kwargs["host"], kwargs["port"]))
            requests.append(connection.request(payload, sum(counts)))
        answers = await asyncio.gather(*requests)
        replies = self.reader.cluster_gather(len(ids), len(keys), [(p, c, a) for (_, p, _, c), a in zip(plan, answers)])
        return self.reader.columns(np.asarray(ids, dtype=np.int64), replies, len(keys), int(time.time() * 1000))

    def _refresh(self) -> None:
        """The cluster's topology asked for again, off the loop (it may wait on nodes that are gone), once at a time."""
        if self._refreshing:
            return
        self._refreshing = True

        def refresh() -> None:
            try:
                cluster.refresh(self.reader.client)  # type: ignore[arg-type]
            finally:
                self._refreshing = False

        asyncio.get_running_loop().run_in_executor(None, refresh)

    async def _connection(self, state: _LoopState, address: tuple[str, int]) -> _Replies:
        """The loop's connection to `address`, opened (with the handshake) when missing or lost; a connection with
        `max_in_flight` batches unanswered refuses more (`Backlogged`)."""
        async with state.connecting:
            protocol = state.protocols.get(address)
            if protocol is None or protocol.lost is not None:
                _, protocol = await asyncio.get_running_loop().create_connection(
                    _Replies, *address, ssl=self._tls, server_hostname=address[0] if self._tls else None)
                for command in self._handshake:
                    await protocol.request([command], 1)
                state.protocols[address] = protocol
        if len(protocol.waiting) >= self.max_in_flight:
            raise Backlogged(f"redis has not answered the {len(protocol.waiting)} reads in flight")
        return protocol


def _node_pool(client: cluster.Client) -> ConnectionPool:
    """The connection pool of the server, or of a master of the cluster: how a node is spoken to."""
    if not cluster.is_cluster(client):
        return client.connection_pool  # type: ignore[union-attr]
    return client.get_redis_connection(client.get_primaries()[0]).connection_pool  # type: ignore[union-attr]


def _tls_context(kwargs: dict) -> ssl.SSLContext:
    """The TLS of redis-py's `SSLConnection` arguments: the CA to trust, the client certificate, hostname checks."""
    context = ssl.create_default_context(cafile=kwargs.get("ssl_ca_certs"))
    context.check_hostname = bool(kwargs.get("ssl_check_hostname", False))  # redis-py's default
    if kwargs.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if kwargs.get("ssl_certfile"):
        context.load_cert_chain(kwargs["ssl_certfile"], kwargs.get("ssl_keyfile"), kwargs.get("ssl_password"))
    return context


class _LoopState:
    """A connection and the reads waiting for the next flush, per event loop (futures and transports are bound to
    the loop that made them; tests and servers may each run their own)."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, bytes, asyncio.Future]] = []
        self.protocols: dict[tuple[str, int], _Replies] = {}
        self.connecting = asyncio.Lock()


class _Replies(asyncio.Protocol):
    """One connection: requests written in order, replies handed back in order, each to the request they answer."""

    def __init__(self) -> None:
        self.parser = hiredis.Reader()
        self.waiting: deque[tuple[asyncio.Future, int, list]] = deque()
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def request(self, payload: list[bytes], replies: int) -> asyncio.Future:
        """Sends `payload`; the future gets its `replies` replies (error replies raise)."""
        future = asyncio.get_running_loop().create_future()
        if self.lost is not None:
            future.set_exception(self.lost)
            return future
        self.waiting.append((future, replies, []))
        self.transport.writelines(payload)  # type: ignore[attr-defined]
        return future

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        while (reply := self.parser.gets()) is not False:
            future, expected, got = self.waiting[0]
            got.append(reply)
            if len(got) == expected:
                self.waiting.popleft()
                if future.done():  # its caller gave up; the replies were still its to consume
                    continue
                error = next((r for r in _flat(got) if isinstance(r, hiredis.ReplyError)), None)
                future.set_exception(error) if error else future.set_result(got)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = ConnectionError(f"redis connection lost: {exc or 'closed by the server'}")
        while self.waiting:
            future = self.waiting.popleft()[0]
            if not future.done():
                future.set_exception(self.lost)

    def close(self) -> None:
        self.transport.close()


def _flat(replies: list) -> list:
    """Replies and, one level down, EXEC's array: where a command's error reply would be."""
    return [*replies, *(r for reply in replies if isinstance(reply, list) for r in reply)]
