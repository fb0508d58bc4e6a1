"""The hub against a real Redis: fan-out, bounded per-screen queues, shared encoding, reconnects."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from wallboard.hub import Hub, heartbeat
from wallboard.messages import Selector
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect


def snap(seq: int, waiting: int = 0, agents: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"seq": seq, "generated_at": f"2026-03-10T08:00:{seq % 60:02d}.000Z", "now": 1.0 + seq,
            "screens": {"sala": {"waiting": waiting}}, "teams": {"norte": {"name": "N"}, "sur": {"name": "S"}},
            "agents": agents or {"ana": {"team": "norte", "state": "available"},
                                 "luis": {"team": "sur", "state": "available"}},
            "queues": {}, "sources": {}}


async def publish(streams: Streams, s: dict[str, Any]) -> None:
    await streams.publish_snapshot(s["seq"], json.dumps(s))


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_latest_on_connect_then_patches_shared_by_screens(streams: Streams) -> None:
    await publish(streams, snap(1, waiting=3))
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        await wait_for(lambda: hub.latest is not None)
        a, b = hub.subscribe(Selector("wall", screens=("sala",))), hub.subscribe(Selector("wall", screens=("sala",)))
        first_a = await a.next(1)
        assert first_a is not None
        msg_a = hub.message_for(a, first_a)
        first_b = await b.next(1)
        assert first_b is not None
        msg_b = hub.message_for(b, first_b)
        assert msg_a is msg_b  # encoded once, sent to both
        assert json.loads(msg_a)["type"] == "full" and json.loads(msg_a)["view"]["screens"]["sala"]["waiting"] == 3
        await publish(streams, snap(2, waiting=4))
        nxt = await a.next(2)
        assert nxt is not None
        patch = json.loads(hub.message_for(a, nxt))
        assert patch["type"] == "patch" and patch["base"] == 1 and patch["seq"] == 2
        assert patch["set"]["screens"] == {"sala": {"waiting": 4}}
        assert hub.bytes_sent < hub.bytes_full
    finally:
        task.cancel()


async def test_a_stalled_screen_holds_one_snapshot_and_slows_no_one(streams: Streams) -> None:
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        stalled = hub.subscribe(Selector("manager"))
        live = hub.subscribe(Selector("manager"))
        for seq in range(1, 51):
            await publish(streams, snap(seq, waiting=seq))
            got = await live.next(2)
            assert got is not None and got["seq"] == seq
            hub.message_for(live, got)
        newest = await stalled.next(0.1)
        assert newest is not None and newest["seq"] == 50  # only the newest was kept
        assert stalled.replaced >= 40
    finally:
        task.cancel()


async def test_team_screens_receive_only_their_team(streams: Streams) -> None:
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        await publish(streams, snap(1))
        norte = hub.subscribe(Selector("team", team="norte"))
        s = await norte.next(2)
        assert s is not None
        view = json.loads(hub.message_for(norte, s))["view"]
        assert set(view["agents"]) == {"ana"} and "luis" not in json.dumps(view)
    finally:
        task.cancel()


async def test_hub_reconnects_after_redis_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r", persist=False)
    server.start()
    port = server.port
    client = connect(server.url)
    streams = Streams(client, "h:")
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    restarted = EmbeddedRedis(tmp_path / "r2", persist=False, port=port)
    try:
        await publish(streams, snap(1))
        await wait_for(lambda: hub.latest is not None and hub.latest["seq"] == 1)
        server.stop()
        await wait_for(lambda: not hub.connected)
        assert json.loads(heartbeat(hub))["redis"] is False
        restarted.start()
        publisher = connect(restarted.url)  # a fresh client: the hub must recover on its own
        await publish(Streams(publisher, "h:"), snap(2))
        await publisher.aclose()
        await wait_for(lambda: hub.latest is not None and hub.latest["seq"] == 2, timeout=20)
        assert hub.connected
    finally:
        task.cancel()
        await client.aclose()
        server.stop()
        restarted.stop()
