"""Retention on a real Redis: what is older than ``privacy.retention_days`` goes, except events
the saved checkpoint does not hold yet; the aggregator purges at its start and then every hour."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from tests.helpers import until
from tests.test_aggregator import CONFIG, simulated
from wallboard.aggregator import Aggregator
from wallboard.config import Config, ConfigError
from wallboard.retention import DAY_S, cut_ms, purge
from wallboard.streams import GROUP, Streams
from wallboard.wire import encode

NOW = time.time()


def at(days_ago: float, seq: int = 0) -> str:
    """A stream id appended ``days_ago`` days before NOW."""
    return f"{int((NOW - days_ago * DAY_S) * 1000)}-{seq}"


async def put(streams: Streams, key: str, ids: list[str]) -> None:
    for entry_id in ids:
        await streams.redis.xadd(key, {"f": "v"}, id=entry_id)


async def ids_of(streams: Streams, key: str) -> list[str]:
    return [entry_id for entry_id, _ in await streams.redis.xrange(key)]


async def consume(streams: Streams, count: int, *, checkpoint_through: int | None = None) -> list[str]:
    """Deliver ``count`` entries to the group (as the aggregator reads them) and save a checkpoint
    holding the first ``checkpoint_through`` of them (acknowledged with it, as the aggregator does)."""
    await streams.ensure_group()
    delivered = [i for i, _ in await streams.read_new("aggregator-1", count, 10)]
    if checkpoint_through:
        covered = delivered[:checkpoint_through]
        await streams.commit({"state": {}, "last_id": covered[-1], "seq": 1}, covered)
    return delivered


def config(make_config: Callable[..., Config], days: float = 7) -> Config:
    return make_config(privacy={"retention_days": days})


OLD = [at(30), at(10), at(8, 0), at(8, 1)]  # older than 7 days
NEW = [at(6.9), at(1), at(0.001)]


async def test_folded_events_older_than_the_retention_go_newer_ones_stay(
    streams: Streams, make_config: Callable[..., Config]
) -> None:
    await put(streams, streams.events_key, OLD + NEW)
    await consume(streams, 7, checkpoint_through=7)
    counts = await purge(streams, config(make_config), NOW)
    assert counts == {
        streams.events_key: 4,
        streams.rejected_key: 0,
        streams.audit_key: 0,
        streams.snapshots_key: 0,
    }
    assert await ids_of(streams, streams.events_key) == NEW
    assert (await purge(streams, config(make_config), NOW))[streams.events_key] == 0  # nothing more
    # A longer retention keeps more; the override of `wallboard purge --older-than-days` less.
    assert (await purge(streams, config(make_config, days=30), NOW))[streams.events_key] == 0
    assert (await purge(streams, config(make_config), NOW, older_than_days=2))[streams.events_key] == 1
    assert await ids_of(streams, streams.events_key) == NEW[1:]


async def test_events_the_checkpoint_does_not_hold_are_never_trimmed(
    streams: Streams, make_config: Callable[..., Config]
) -> None:
    await put(streams, streams.events_key, OLD + NEW)
    cfg = config(make_config)
    # No checkpoint (no aggregator ever ran, or its checkpoint was lost): nothing goes.
    assert (await purge(streams, cfg, NOW))[streams.events_key] == 0
    await streams.ensure_group()
    assert (await purge(streams, cfg, NOW))[streams.events_key] == 0
    # Two folded and saved, a third delivered but not saved (pending): only the two go.
    await consume(streams, 3, checkpoint_through=2)
    assert (await purge(streams, cfg, NOW, older_than_days=0))[streams.events_key] == 2
    assert await ids_of(streams, streams.events_key) == OLD[2:] + NEW


async def test_the_oldest_pending_entry_and_a_rewound_group_hold_the_trimming(
    streams: Streams, make_config: Callable[..., Config]
) -> None:
    await put(streams, streams.events_key, OLD + NEW)
    cfg = config(make_config)
    # A checkpoint ahead of entries still pending (a consumer that died holding them).
    await streams.ensure_group()
    await streams.redis.xreadgroup(GROUP, "crashed", {streams.events_key: ">"}, count=1)
    rest = [i for i, _ in await streams.read_new("aggregator-1", 10, 10)]
    await streams.commit({"state": {}, "last_id": rest[-1], "seq": 1}, rest)
    assert await streams.events_trim_floor() == OLD[0]
    assert (await purge(streams, cfg, NOW, older_than_days=0))[streams.events_key] == 0
    await streams.redis.xack(streams.events_key, GROUP, OLD[0])
    # A group rewound to rebuild the state (an unreadable checkpoint) has delivered nothing yet.
    await streams.rewind_group()
    assert await streams.events_trim_floor() == "0-1"
    assert (await purge(streams, cfg, NOW, older_than_days=0))[streams.events_key] == 0
    await streams.read_new("aggregator-1", 2, 10)  # delivered again: pending until saved
    assert (await purge(streams, cfg, NOW, older_than_days=0))[streams.events_key] == 0
    assert len(await ids_of(streams, streams.events_key)) == 7


async def test_refused_events_the_audit_log_and_old_snapshots_are_trimmed(
    streams: Streams, make_config: Callable[..., Config]
) -> None:
    for key in (streams.rejected_key, streams.audit_key):
        await put(streams, key, OLD + NEW)
    snapshots = [at(9), at(8)]
    await put(streams, streams.snapshots_key, snapshots)
    counts = await purge(streams, config(make_config), NOW)
    assert counts == {
        streams.events_key: 0,
        streams.rejected_key: 4,
        streams.audit_key: 4,
        streams.snapshots_key: 1,  # the newest snapshot is the current one: it stays, old or not
    }
    assert await ids_of(streams, streams.rejected_key) == NEW
    assert await ids_of(streams, streams.audit_key) == NEW
    assert await ids_of(streams, streams.snapshots_key) == snapshots[1:]
    await put(streams, streams.snapshots_key, [at(0.5), at(0.001)])
    assert (await purge(streams, config(make_config), NOW))[streams.snapshots_key] == 1
    assert await ids_of(streams, streams.snapshots_key) == [at(0.5), at(0.001)]


async def test_a_retention_below_zero_days_is_refused(streams: Streams, make_config: Callable[..., Config]) -> None:
    for days in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="days"):
            await purge(streams, config(make_config), NOW, older_than_days=days)
    assert cut_ms(1000.0, 0) == 1_000_000 and cut_ms(10.0, 1) == 0
    with pytest.raises(ConfigError, match="retention_days"):
        config(make_config, days=0.5)  # the config's own floor: a day


def _purge_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention: trimmed")]


async def test_the_aggregator_purges_at_its_start_and_then_periodically(
    streams: Streams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wallboard.retention")
    events = simulated(50)
    await put(streams, streams.audit_key, [at(8), at(1)])

    async def aggregate(every_s: float) -> tuple[Aggregator, asyncio.Event, asyncio.Task[None]]:
        agg = Aggregator(CONFIG, streams, clock=lambda: events[-1].ts + 60, block_ms=20, purge_every_s=every_s)
        stop = asyncio.Event()
        return agg, stop, asyncio.create_task(agg.run(stop))

    # Hourly: one purge at the start, then none for an hour.
    agg, stop, running = await aggregate(3600)
    try:
        lines = await until(lambda: _purge_lines(caplog), 10, "the purge at the start")
        assert lines == [lines[0]] and lines[0].startswith("retention: trimmed 1 entries older than 7 days (before ")
        assert lines[0].endswith("): events 0, events:rejected 0, audit 1, snapshots 0")
        for entry_id, event in zip(
            [at(9, i) for i in range(40)] + [at(0.01, i) for i in range(10)], events, strict=True
        ):
            await streams.redis.xadd(streams.events_key, encode(event), id=entry_id)  # type: ignore[arg-type]
        await until(lambda: agg.state.applied == 50, 10, "all folded")
        await asyncio.sleep(1.5)
        assert len(_purge_lines(caplog)) == 1 and len(await ids_of(streams, streams.events_key)) == 50
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    # Restarted (every 0.3 s here): the folded old events go at once, and the purge repeats.
    agg, stop, running = await aggregate(0.3)
    try:
        line = (await until(lambda: _purge_lines(caplog)[1:], 10, "the purge at the restart"))[0]
        assert "retention: trimmed 40 entries" in line and "): events 40, events:rejected 0, audit 0, " in line
        await until(lambda: len(_purge_lines(caplog)) >= 4, 10, "purges repeated")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert await ids_of(streams, streams.events_key) == [at(0.01, i) for i in range(10)]
    assert agg.state.applied == 50  # from the checkpoint: folded before they went
    assert all(streams.prefix not in r.getMessage() for r in caplog.records if r.name == "wallboard.retention")
