from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from wallboard.events import CallQueued
from wallboard.streams import GROUP, Streams, _entries, connect
from wallboard.wire import decode

TS = 1_773_129_600.0


def events(n: int, start: int = 0) -> list[CallQueued]:
    return [CallQueued(f"e{i}", "pbx", TS + i, "ventas", f"c{i}") for i in range(start, start + n)]


async def test_append_and_read_through_the_group(streams: Streams) -> None:
    await streams.ensure_group()
    await streams.ensure_group()  # BUSYGROUP is tolerated
    ids = await streams.append(events(5))
    got = await streams.read_new("agg", 100, 10)
    assert [i for i, _ in got] == ids
    assert [decode(f) for _, f in got if f] == events(5)
    info = await streams.group_info()
    assert info["pending"] == 5
    await streams.commit({"last_id": ids[-1]}, ids)
    assert (await streams.group_info())["pending"] == 0
    assert await streams.load_checkpoint() == {"last_id": ids[-1]}


async def test_own_pending_and_autoclaim(streams: Streams) -> None:
    await streams.ensure_group()
    ids = await streams.append(events(4))
    await streams.read_new("dead", 2, 10)
    await streams.read_new("alive", 10, 10)
    own = await streams.read_own_pending("alive", "0-0", 100)
    assert [i for i, _ in own] == ids[2:]
    claimed = await streams.claim_stale("new", min_idle_ms=0)
    assert [i for i, _ in claimed] == ids
    assert all(f is not None for _, f in claimed)


async def test_trimming_is_approximate_and_bounded(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        s = Streams(client, prefix, maxlen=1_000)
        for i in range(0, 5_000, 500):
            await s.append(events(500, i))
        length = await client.xlen(s.events_key)
        assert 1_000 <= length < 1_000 + 500 + 100  # ~: whole macro nodes only
    finally:
        await client.delete(prefix + "events")
        await client.aclose()


@pytest.mark.parametrize("protocol", [2, 3])
async def test_replies_decode_the_same_in_resp2_and_resp3(redis_url: str, prefix: str, protocol: int) -> None:
    client = Redis.from_url(redis_url, decode_responses=True, protocol=protocol)
    try:
        s = Streams(client, prefix)
        await s.ensure_group()
        ids = await s.append(events(3))
        got = await s.read_new("c", 10, 10)
        assert [(i, decode(f)) for i, f in got if f] == list(zip(ids, events(3)))
        own = await s.read_own_pending("c", "0-0", 10)
        assert [i for i, _ in own] == ids
    finally:
        await client.delete(prefix + "events")
        await client.aclose()


def test_entries_shapes() -> None:
    resp2 = [["k", [("1-0", {"a": "1"}), ("2-0", None)]]]
    resp3 = {"k": [[("1-0", {"a": "1"}), ("2-0", None)]]}
    flat = {"k": [["1-0", {"a": "1"}], ["2-0", None]]}
    assert _entries(resp2) == _entries(resp3) == _entries(flat) == [("1-0", {"a": "1"}), ("2-0", None)]
    assert _entries(None) == [] and _entries([]) == []
    assert GROUP == "aggregator"


async def test_a_task_using_the_client_can_always_be_cancelled(redis_url: str, prefix: str) -> None:
    """With a socket timeout redis-py sends through asyncio.wait_for, which on Python 3.11
    swallows a cancel landing as the send completes: most of these loops kept running."""
    client = connect(redis_url)
    kept_running = 0

    async def writer(flag: list[bool]) -> None:
        while True:
            await client.set(prefix + "k", "v" * 1000)
            if (task := asyncio.current_task()) is not None and task.cancelling():
                flag.append(True)  # the cancel was swallowed: the loop goes on
                return

    try:
        for i in range(200):
            flag: list[bool] = []
            task = asyncio.create_task(writer(flag))
            await asyncio.sleep(0.0003 * (i % 9))
            task.cancel()
            await asyncio.wait({task}, timeout=2)
            kept_running += bool(flag)
    finally:
        await client.delete(prefix + "k")
        await client.aclose()
    assert kept_running == 0
