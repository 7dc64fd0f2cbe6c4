"""MicroBatcher: concurrent requests share a batch, order is kept, errors reach every request of their batch, and a
full queue refuses work at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inference.serving.batching import MicroBatcher, Overloaded


def test_concurrent_requests_share_batches_and_keep_their_answers() -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(lambda xs: [x * 10 for x in xs], max_batch=8, max_wait_s=0.05, on_batch=sizes.append)

    async def main() -> list[int]:
        return await asyncio.gather(*(batcher.submit(i) for i in range(20)))

    try:
        assert asyncio.run(main()) == [i * 10 for i in range(20)]
    finally:
        batcher.close()
    assert sum(sizes) == 20 and max(sizes) == 8 and len(sizes) <= 4


def test_max_batch_one_is_unbatched() -> None:
    sizes: list[int] = []
    batcher = MicroBatcher(lambda xs: xs, max_batch=1, max_wait_s=0.05, workers=2, on_batch=sizes.append)

    async def main() -> list[int]:
        return await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    try:
        assert asyncio.run(main()) == list(range(10))
    finally:
        batcher.close()
    assert sizes == [1] * 10


def test_an_error_fails_its_batch_and_the_worker_lives_on() -> None:
    def run(xs: list[int]) -> list[int]:
        if 3 in xs:
            raise ValueError("bad input 3")
        return xs

    batcher = MicroBatcher(run, max_batch=1, max_wait_s=0)

    async def main() -> tuple:
        return await asyncio.gather(batcher.submit(3), batcher.submit(4), return_exceptions=True)

    try:
        failed, ok = asyncio.run(main())
    finally:
        batcher.close()
    assert isinstance(failed, ValueError) and ok == 4


def test_a_full_queue_refuses_at_once() -> None:
    release = threading.Event()
    batcher = MicroBatcher(lambda xs: [release.wait(5) for _ in xs], max_batch=1, max_wait_s=0, max_queue=2)

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit(0))  # taken by the worker, which then blocks
        await asyncio.sleep(0.1)
        queued = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await batcher.submit(3)
        release.set()
        await asyncio.gather(first, *queued)

    try:
        asyncio.run(main())
    finally:
        release.set()
        batcher.close()
