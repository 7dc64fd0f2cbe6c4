"""The event-loop reader on real Redis: the threaded reader's features byte for byte, one batch per loop pass,
replies kept in step when a caller gives up, and a lost connection failing only the reads in flight."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
import redis

from feature_store.online.async_reader import AsyncOnlineReader, Backlogged
from feature_store.online.reader import OnlineReader
from feature_store.online.writer import OnlineWriter
from feature_store.testing import sample_realtime_row
from feature_store.views import USER_INTENT, USER_REALTIME

pytestmark = pytest.mark.integration


@pytest.fixture
def reader(redis_client: redis.Redis) -> OnlineReader:
    now = int(time.time() * 1000)
    OnlineWriter(redis_client, USER_REALTIME).write([sample_realtime_row(u, now - u, seed=u) for u in range(1, 40)])
    for u in range(1, 40, 3):
        redis_client.set(b"state:%d" % u, b"value %d" % u)
    return OnlineReader(redis_client, [USER_REALTIME, USER_INTENT])


def _same(a, b) -> None:  # noqa: ANN001  (two FeatureVectors)
    assert a.entity_id == b.entity_id and a.views.keys() == b.views.keys()
    for name in a.views:
        x, y = a[name], b[name]
        assert (x.status, x.event_time, x.version) == (y.status, y.event_time, y.version)
        assert x.values.keys() == y.values.keys()
        for field in x.values:
            np.testing.assert_array_equal(np.asarray(x.values[field]), np.asarray(y.values[field]))


def test_one_batch_per_loop_pass_and_the_threaded_readers_features(reader: OnlineReader) -> None:
    users = [*range(1, 45)]  # 40..44 have no features
    batches: list[int] = []

    async def main() -> list:
        loop_reader = AsyncOnlineReader(reader, batches.append)
        try:
            return await asyncio.gather(*(loop_reader.read_with(u, b"state:%d" % u) for u in users))
        finally:
            loop_reader.close()

    got = asyncio.run(main())
    assert batches == [len(users)]
    now = int(time.time() * 1000)
    want, values = reader.read_batch_with(users, [b"state:%d" % u for u in users], now)
    for i, (features, value) in enumerate(got):
        _same(features, want.vector(i))
        assert value == values[i] == (b"value %d" % users[i] if users[i] % 3 == 1 and users[i] < 40 else None)
    assert got[-1][0]["user_realtime"].status == "missing"


def test_a_read_given_up_on_leaves_the_rest_of_its_batch_answered(reader: OnlineReader) -> None:
    async def main() -> list:
        loop_reader = AsyncOnlineReader(reader)
        try:
            reads = [asyncio.ensure_future(loop_reader.read_with(u, b"state:%d" % u)) for u in (4, 1, 5)]
            for _ in range(3):  # the reads queue, their batch is flushed and sent
                await asyncio.sleep(0)
            reads[1].cancel()  # as a request timeout does
            return await asyncio.wait_for(asyncio.gather(reads[0], reads[2]), 5)
        finally:
            loop_reader.close()

    (four, four_value), (five, five_value) = asyncio.run(main())
    assert (four.entity_id, four_value, five.entity_id, five_value) == (4, b"value 4", 5, None)
    _same(four, reader.read(4))


def test_the_read_after_a_lost_connection_reconnects(reader: OnlineReader, redis_client: redis.Redis) -> None:
    async def main() -> tuple:
        loop_reader = AsyncOnlineReader(reader)
        try:
            await loop_reader.read_with(1, b"state:1")
            killed = redis_client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            assert killed >= 1
            await asyncio.sleep(0.05)
            return await loop_reader.read_with(7, b"state:7")
        finally:
            loop_reader.close()

    features, value = asyncio.run(main())
    assert features["user_realtime"].status == "present" and value == b"value 7"


def test_reads_in_flight_fail_when_the_server_hangs_up() -> None:
    """A server that closes the connection on the first request (as Redis does to a killed client): the reads
    waiting on it get a ConnectionError, not a hang."""

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _hang_up(r, w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop_reader = AsyncOnlineReader(OnlineReader(redis.Redis(port=port), [USER_REALTIME]))
        try:
            results = await asyncio.wait_for(asyncio.gather(*(loop_reader.read_with(u, b"k") for u in (1, 2)),
                                                            return_exceptions=True), 5)  # fmt: skip
            assert all(isinstance(r, ConnectionError) for r in results), results
        finally:
            loop_reader.close()
            server.close()

    asyncio.run(main())


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    writer.close()


def test_a_silent_store_gets_a_bounded_backlog(reader: OnlineReader, redis_client: redis.Redis) -> None:
    """Under CLIENT PAUSE, reads pile up only to `max_in_flight` batches; later ones fail at once (the API's 503), and
    reads are answered again once the store is."""

    async def scenario() -> tuple[list[str], int]:
        async_reader = AsyncOnlineReader(reader, max_in_flight=3)
        await async_reader.read_with(1, b"state:1")  # connected
        redis_client.execute_command("CLIENT", "PAUSE", 1_500)
        outcomes = []
        for user in range(2, 10):  # one batch per loop pass
            try:
                await asyncio.wait_for(async_reader.read_with(user, b"state:%d" % user), 0.05)
                outcomes.append("answered")
            except Backlogged:
                outcomes.append("refused")
            except TimeoutError:
                outcomes.append("timed out")
        await asyncio.sleep(2)  # the pause is over: the backlog is answered and drained
        features, _ = await async_reader.read_with(7, b"state:7")
        async_reader.close()
        return outcomes, features.entity_id

    outcomes, answered = asyncio.run(scenario())
    assert outcomes == ["timed out"] * 3 + ["refused"] * 5 and answered == 7
