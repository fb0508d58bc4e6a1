"""The collector runner: emits survive a Redis outage, health reaches the snapshot, crashes restart."""

from __future__ import annotations

import asyncio
import json
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.helpers import holds, until
from wallboard import collectors
from wallboard.collectors import configure
from wallboard.collectors.runtime import CollectorContext, run_collector
from wallboard.config import parse_config
from wallboard.events import CallQueued
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect
from wallboard.wire import decode

TS = 1_773_129_600.0


class NoOptions(BaseModel):
    pass


async def test_emit_holds_events_while_redis_is_down(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "r", persist=True)
    second = EmbeddedRedis(tmp_path / "r", persist=True)
    try:
        first.start()
        client = connect(first.url)
        config = parse_config({"collectors": [{"kind": "simulator", "name": "sim"}]}, env={})
        ctx = CollectorContext(config, config.collectors[0], NoOptions(), Streams(client, "t:"))
        await ctx.emit([CallQueued("a", "sim", TS, "q", "c1")])
        first.stop()
        emitting = asyncio.create_task(ctx.emit([CallQueued("b", "sim", TS + 1, "q", "c2")]))
        await holds(lambda: not emitting.done(), 1.0, "holding the event, not dropping it")
        second.port = first.port
        second.start()
        await asyncio.wait_for(emitting, 30)
        entries = await client.xrange("t:events")
        assert [decode(f).id for _, f in entries] == ["a", "b"]
        assert ctx.health.events_total == 2
        await client.aclose()
    finally:
        first.stop()
        second.stop()


async def test_health_and_crash_restart(streams: Streams, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []

    class Options(BaseModel):
        pass

    async def run(ctx: CollectorContext) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("source exploded")
        ctx.set_connected(True)
        ctx.reject("line 3: not a queue_log line")
        await ctx.emit([CallQueued("x", ctx.source, TS, "q", "c")])
        await asyncio.sleep(3600)

    fake = types.ModuleType("fake_collector")
    fake.Options = Options  # type: ignore[attr-defined]
    fake.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(collectors.REGISTRY, "fake", "fake_collector")
    monkeypatch.setitem(__import__("sys").modules, "fake_collector", fake)
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.01)
    config = parse_config({"collectors": [{"kind": "fake", "name": "f1"}]}, env={})
    task = asyncio.create_task(run_collector(config, configure(config)[0], streams))
    try:

        async def reported() -> dict[str, Any] | None:
            found: dict[str, Any] = (await streams.source_health()).get("f1", {})
            return found if found.get("events_total") == 1 else None

        h = await until(reported, 10, "the restarted collector's health with its event")
        assert len(runs) == 2
        assert (h["kind"], h["status"], h["connected"], h["errors_total"]) == ("fake", "ok", True, 1)
        assert h["last_error"] == "line 3: not a queue_log line"
        assert h["last_event_at"] == TS
        assert json.loads(json.dumps(h)) == h
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_loading_the_cursor_waits_for_redis_instead_of_crashing(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r", persist=True)
    server.start()
    client = connect(server.url)
    try:
        config = parse_config({"collectors": [{"kind": "simulator", "name": "sim"}]}, env={})
        ctx = CollectorContext(config, config.collectors[0], NoOptions(), Streams(client, "t:"))
        await ctx.save_cursor({"at": 7})
        port = server.port
        server.stop()  # (a restarted Redis answers LOADING, then nothing, while it reads its file)
        loading = asyncio.create_task(ctx.load_cursor())
        await holds(lambda: not loading.done(), 1.0, "waiting for Redis, not raising")
        server.port = port
        server.start()
        assert await asyncio.wait_for(loading, 30) == {"at": 7}
    finally:
        await client.aclose()
        server.stop()
