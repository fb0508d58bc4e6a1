"""A full Redis (maxmemory, noeviction) is a state, not a crash: writes are held and retried, nothing lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from tests.helpers import until
from wallboard.aggregator import Aggregator
from wallboard.collectors.runtime import CollectorContext
from wallboard.config import Config, load_config, parse_config
from wallboard.events import CallQueued, Event
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect
from wallboard.wire import PACKED_FIELD, pack

ROOT = Path(__file__).resolve().parent.parent
CONFIG: Config = load_config(ROOT / "config.yaml", env={})
PREFIX = "t:"

# One script: its writes after the first are not checked against maxmemory, so it can
# append events and then push the server over its limit in one step.
_APPEND_THEN_FILL = """
for i = 2, #ARGV do
    redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[i])
end
redis.call('SET', KEYS[2], string.rep('x', 16 * 1024 * 1024))
return redis.call('INFO', 'memory')
"""


class NoOptions(BaseModel):
    pass


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A real Redis started as ``wallboard run`` starts it, with a tiny maxmemory."""
    server = EmbeddedRedis(tmp_path / "redis", persist=False, maxmemory="8mb")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(small_redis: EmbeddedRedis) -> AsyncIterator[Redis]:
    redis = connect(small_redis.url)
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.05)


def queued(n: int, start: int = 0) -> list[Event]:
    now = time.time()
    return [CallQueued(f"e{i}", "simulador", now, "ventas", f"c{i}") for i in range(start, start + n)]


async def append_then_fill(client: Redis, events: list[Event]) -> None:
    await client.eval(
        _APPEND_THEN_FILL,
        2,
        PREFIX + "events",
        "filler",
        PACKED_FIELD,  # type: ignore[misc]
        *[pack(e) for e in events],
    )


async def test_the_embedded_server_refuses_writes_when_full(client: Redis) -> None:
    config = await client.config_get("maxmemory*")
    assert (config["maxmemory"], config["maxmemory-policy"]) == (str(8 * 1024 * 1024), "noeviction")
    await append_then_fill(client, [])
    with pytest.raises(Exception, match="maxmemory"):
        await client.set("more", "x")


async def test_a_collector_holds_its_events_while_redis_is_full(
    client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config({"collectors": [{"kind": "simulator", "name": "sim"}]}, env={})
    ctx = CollectorContext(config, config.collectors[0], NoOptions(), Streams(client, PREFIX))
    await append_then_fill(client, [])
    events = queued(3)
    emitting = asyncio.create_task(ctx.emit(events))
    await until(lambda: ctx.health.redis_full)
    await ctx.heartbeat(force=True)  # refused too, and not an error: the heartbeat task lives on
    assert not emitting.done()  # held, not dropped, not crashed
    assert ctx.health.as_dict("simulator")["status"] == "redis_full"
    await client.delete("filler")
    await asyncio.wait_for(emitting, 30)
    assert [f[PACKED_FIELD] for _, f in await client.xrange(PREFIX + "events")] == [pack(e) for e in events]
    assert not ctx.health.redis_full and ctx.health.as_dict("simulator")["status"] == "ok"
    full = [r.getMessage() for r in caplog.records if "Redis is full" in r.getMessage()]
    assert len(full) == 1 and "holding 3 events" in full[0]


async def test_the_aggregator_waits_out_a_full_redis_and_loses_nothing(
    client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "wallboard")
    streams = Streams(client, PREFIX)
    agg = Aggregator(CONFIG, streams, block_ms=50)
    stop = asyncio.Event()
    running = asyncio.create_task(agg.run(stop))
    try:
        await streams.append(queued(5))
        await until(lambda: agg.state.applied == 5 and not agg._to_ack)
        # Five more events arrive, and Redis is full before the aggregator could save them.
        await append_then_fill(client, queued(5, start=5))
        await until(lambda: any("Redis is full" in r.getMessage() for r in caplog.records))
        assert not running.done()  # no crash (a crash-looping process under `wallboard run`)
        checkpoint = await streams.load_checkpoint()
        assert checkpoint is not None and checkpoint["state"]["applied"] == 5
        # not acknowledged without it: read and pending, or (the fenced read is a transaction,
        # which a full Redis refuses to queue) not read yet
        info = await streams.group_info()
        unread = await client.xrange(PREFIX + "events", min=f"({info['last_delivered_id']}", max="+")
        assert info["pending"] + len(unread) == 5
        await client.delete("filler")

        async def saved() -> bool:
            cp = await streams.load_checkpoint()
            snap = await streams.latest_snapshot()
            return (
                cp is not None
                and cp["state"]["applied"] == 10
                and snap is not None
                and snap["pipeline"]["applied"] == 10
                and (await streams.group_info())["pending"] == 0
            )

        await until(saved)  # caught up once Redis had room again
        assert agg.state.duplicates == 0
        snap = await streams.latest_snapshot()
        assert snap is not None and snap["queues"]["ventas"]["waiting"] == 10
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    full = [r.getMessage() for r in caplog.records if "Redis is full" in r.getMessage()]
    assert full == ["Redis is full (maxmemory reached, writes refused); retrying"]  # once, no data quoted
    assert any("Redis reachable again" in r.getMessage() for r in caplog.records)
