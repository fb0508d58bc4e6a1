"""The aggregators' lease on a real Redis: one active at a time, the fence on every write, handing over."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.helpers import holds, until
from tests.test_aggregator import CONFIG, clock, simulated
from wallboard.aggregator import Aggregator
from wallboard.events import Event
from wallboard.lease import Lease, LeaseLost, parse_token
from wallboard.streams import Streams


def lease(streams: Streams, name: str, ttl_s: float = 5.0) -> Lease:
    return Lease(streams.redis, streams.prefix, name, ttl_s)


async def test_one_holder_at_a_time_and_the_epoch_counts_every_taking(streams: Streams) -> None:
    a, b = lease(streams, "a"), lease(streams, "b")
    assert await a.acquire()
    assert not await b.acquire()  # held
    assert not await b.acquire(take_own=True)  # held by another name
    assert await a.renew()
    held = await a.holder_now()
    assert held is not None and (held.epoch, held.name) == (1, "a") and held.pid is not None
    await a.release()
    assert await a.holder_now() is None
    assert await b.acquire()
    assert b.epoch == 2
    assert not await a.renew()  # not a's any more
    assert a.token is None


async def test_a_lease_under_its_own_name_is_taken_over_at_start(streams: Streams) -> None:
    """A killed aggregator's lease under the restarted one's name: its previous run's, taken at once."""
    killed, restarted = lease(streams, "agg"), lease(streams, "agg")
    assert await killed.acquire()
    assert not await restarted.acquire()  # a standby waits for it to expire …
    assert await restarted.acquire(take_own=True)  # … a restart of the same aggregator does not
    assert restarted.epoch == killed.epoch + 1
    assert not await killed.renew()


async def test_the_lease_expires_when_not_renewed(streams: Streams) -> None:
    a, b = lease(streams, "a", ttl_s=1.0), lease(streams, "b", ttl_s=1.0)
    assert await a.acquire()
    await until(lambda: b.acquire(), timeout=5)
    assert parse_token(b.token or "").name == "b"
    assert not await a.renew()


def test_a_name_with_a_space_is_refused(streams: Streams) -> None:
    with pytest.raises(ValueError, match="no spaces"):
        lease(streams, "two words")


async def test_a_deposed_aggregator_can_read_save_and_publish_nothing(streams: Streams) -> None:
    """The fence: once another has taken the lease, the first one's read, checkpoint with its
    acknowledgements, snapshot and alert log are all refused, and change nothing in Redis."""
    events = simulated(20)
    await streams.ensure_group()
    await streams.append(events[:10])
    old, new = lease(streams, "old"), lease(streams, "new")
    assert await old.acquire()
    read = await streams.read_new("old", 100, 0, old.token)
    assert len(read) == 10
    await streams.redis.delete(old.key)  # its lease expired (it was paused, cut off …)
    assert await new.acquire()
    await streams.append(events[10:])
    stale = old.token
    assert stale is not None
    with pytest.raises(LeaseLost):
        await streams.read_new("old", 100, 0, stale)
    with pytest.raises(LeaseLost):
        await streams.commit({"state": {}, "last_id": read[-1][0]}, [i for i, _ in read], stale)
    with pytest.raises(LeaseLost):
        await streams.publish_snapshot(99, "{}", stale)
    with pytest.raises(LeaseLost):
        await streams.append_alerts(['{"x":1}'], 10, stale)
    assert await streams.load_checkpoint() is None
    assert await streams.latest_snapshot() is None
    assert await streams.recent_alerts(10) == []
    info = await streams.group_info()
    assert info["pending"] == 10  # nothing acknowledged; the 10 new ones never delivered to "old"
    # the holder reads what was never delivered, and takes over the rest
    assert len(await streams.read_new("new", 100, 0, new.token)) == 10


async def test_a_fenced_read_waits_for_entries_then_reads_them(streams: Streams) -> None:
    await streams.ensure_group()
    a = lease(streams, "a")
    assert await a.acquire()
    assert await streams.read_new("a", 10, 50, a.token) == []  # waited 50 ms: nothing

    async def later() -> None:
        await asyncio.sleep(0.2)
        await streams.append(simulated(3))

    task = asyncio.create_task(later())
    got = await streams.read_new("a", 10, 5_000, a.token)
    await task
    assert len(got) == 3


@contextlib.asynccontextmanager
async def running(agg: Aggregator) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(agg.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _applied(streams: Streams) -> int:
    snap = await streams.latest_snapshot()
    return -1 if snap is None else int(snap["pipeline"]["applied"])


async def test_a_standby_takes_over_at_once_from_an_aggregator_that_stops(streams: Streams) -> None:
    """Two aggregators: one folds, the other stands by; the first stops (its lease given up): the
    second takes over from its checkpoint, folds what came since, and every event counts once."""
    events: list[Event] = simulated(400)
    first = Aggregator(CONFIG, streams, consumer="first", clock=clock, purge_every_s=None)
    second = Aggregator(CONFIG, streams, consumer="second", clock=clock, purge_every_s=None)
    await streams.append(events[:200])
    async with running(first) as stop_first:
        await until(lambda: _applied_is(streams, first, 200), timeout=30)
        async with running(second):
            # standing by: folds nothing, holds no lease (it tries twice a second)
            await holds(lambda: second.fence is None and second.state.applied == 0, 1.5)
            stop_first.set()  # a clean stop: checkpoint, lease given up
            await until(lambda: second.fence is not None, timeout=10)
            await streams.append(events[200:])
            await until(lambda: _applied_is(streams, second, 400), timeout=30)
            snap = await streams.latest_snapshot()
            assert snap is not None
            assert snap["pipeline"]["aggregator"] == {"name": "second", "epoch": 2}
            assert snap["pipeline"]["duplicates"] == 0


async def _applied_is(streams: Streams, agg: Aggregator, n: int) -> bool:
    return agg.state.applied == n and await _applied(streams) == n


async def _fold_until(agg: Aggregator, applied: int) -> None:
    for _ in range(200):
        if agg.state.applied >= applied:
            return
        await agg.step()
    raise AssertionError(f"{agg.consumer} folded {agg.state.applied} of {applied}")


async def _active(streams: Streams, name: str) -> Aggregator:
    agg = Aggregator(CONFIG, streams, consumer=name, clock=clock, purge_every_s=None, block_ms=20)
    agg.lease = lease(streams, name)
    assert await agg._take_lease(first=True)
    await agg.restore()
    await agg.recover()
    return agg


async def test_a_deposed_aggregator_drops_its_state_and_leaves_a_redis_that_lost_its_data_to_the_last_holder(
    streams: Streams,
) -> None:
    """b folds, is paused past its lease, a takes over and folds on: b's next read is refused and b
    drops what it held (older than a's). Then Redis loses everything: b, a standby now, leaves the
    lease to a while it may come back; a takes it again (epoch 1) and keeps the day it holds."""
    events = simulated(300)
    await streams.append(events[:100])
    b = await _active(streams, "b")
    await _fold_until(b, 100)
    assert b.lease is not None
    await streams.redis.delete(b.lease.key)  # b paused: its lease expired
    a = await _active(streams, "a")
    await streams.append(events[100:])
    await _fold_until(a, 300)
    with pytest.raises(LeaseLost):
        await b.step()
    b.lease.token = None
    await b._after_losing_the_lease()
    assert b.state.applied == 0  # not a copy of the day to publish again later

    keys = [k async for k in streams.redis.scan_iter(match=streams.prefix + "*")]
    await streams.redis.delete(*keys)  # Redis lost everything
    assert not await b._take_lease(first=False)  # the epoch went back: left to its last holder
    assert a.lease is not None and not await a.lease.renew()
    await a._after_losing_the_lease()
    assert await a._take_lease(first=False)
    assert a.lease.epoch == 1 and a.state.applied == 300  # kept: the only copy of the day
    assert not await b._take_lease(first=False)  # held by a


async def test_a_lease_under_this_name_held_by_another_live_process_is_not_taken(streams: Streams) -> None:
    """Two aggregators left with the same name: the second does not take the first one's lease."""
    first = lease(streams, "same")
    assert await first.acquire()
    # the holder is this test's own pid: "another process" is faked with a live pid that is not ours
    held = await first.holder_now()
    assert held is not None
    await streams.redis.set(first.key, f"{held.epoch} same {held.where.rpartition(':')[0]}:1", px=5000)
    second = Aggregator(CONFIG, streams, consumer="same", clock=clock, purge_every_s=None)
    second.lease = lease(streams, "same")
    assert await second.lease.held_by_my_previous_run() is False  # pid 1 lives: not its previous run
    assert not await second._take_lease(first=True)


async def test_a_connection_lost_while_reading_is_redis_unreachable_not_the_lease_lost(
    streams: Streams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py reports a connection lost while WATCHing the lease as a WatchError (seen at a
    Sentinel failover, where it stopped the aggregator): it is Redis unreachable, retried."""
    from redis.asyncio.client import Pipeline
    from redis.exceptions import WatchError

    from wallboard.streams import UNREACHABLE

    await streams.ensure_group()
    a = lease(streams, "a")
    assert await a.acquire()

    async def lost(self: Pipeline, *args: object, **options: object) -> object:
        raise WatchError("A ConnectionError occurred while watching one or more keys")

    monkeypatch.setattr(Pipeline, "immediate_execute_command", lost)
    with pytest.raises(UNREACHABLE):
        await streams.read_new("a", 10, 0, a.token)
    monkeypatch.undo()
    assert await streams.read_new("a", 10, 0, a.token) == []  # and then it reads again
