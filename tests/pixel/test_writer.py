"""The batching writer (metricx.pixel.writer): concurrent requests share one write."""

from __future__ import annotations

import asyncio

import pytest

from metricx.pixel.writer import BatchWriter


def run_with_writer(write, requests: list[list[dict]], **settings) -> list[object]:
    """Submit every request at once through a started writer; each one's outcome."""
    async def scenario():
        writer = BatchWriter(write=write, **settings)
        await writer.start()
        try:
            return await asyncio.gather(*(writer.submit(rows) for rows in requests),
                                        return_exceptions=True)
        finally:
            await writer.stop()

    return asyncio.run(scenario())


def test_concurrent_requests_are_written_together_and_all_answered_after_the_write():
    writes: list[list[dict]] = []
    # Given 50 requests of 2 events arriving together
    requests = [[{"n": 2 * i}, {"n": 2 * i + 1}] for i in range(50)]
    # When the writer gathers up to 40 events per write
    outcomes = run_with_writer(writes.append, requests, max_events=40, interval_s=0.01)
    # Then every request is answered, in 3 writes (40 + 40 + 20) instead of 50
    assert outcomes == [None] * 50
    assert [len(w) for w in writes] == [40, 40, 20]
    assert sorted(row["n"] for w in writes for row in w) == list(range(100))


def test_a_request_larger_than_a_batch_is_written_whole():
    writes: list[list[dict]] = []
    run_with_writer(writes.append, [[{"n": i} for i in range(25)]], max_events=10,
                    interval_s=0)
    assert [len(w) for w in writes] == [25]


def test_a_failed_write_fails_every_request_of_its_batch_and_no_other():
    calls = []

    def flaky(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    outcomes = run_with_writer(flaky, [[{"n": i}] for i in range(6)], max_events=3,
                               interval_s=0.01)
    assert calls == [3, 3]
    assert [type(o).__name__ for o in outcomes] == ["ConnectionError"] * 3 + ["NoneType"] * 3


def test_stop_writes_what_is_queued_and_a_stopped_writer_takes_nothing():
    writes: list[list[dict]] = []

    async def scenario():
        writer = BatchWriter(write=writes.append, max_events=100, interval_s=0.05)
        await writer.start()
        pending = asyncio.ensure_future(writer.submit([{"n": 1}]))
        await asyncio.sleep(0)
        await writer.stop()
        await pending
        with pytest.raises(RuntimeError, match="not running"):
            await writer.submit([{"n": 2}])

    asyncio.run(scenario())
    assert writes == [[{"n": 1}]]
