"""The hub against a real Redis: fan-out, bounded per-screen queues, shared encoding, reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import until
from wallboard.hub import Hub, heartbeat
from wallboard.push import Message
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect
from wallboard.views import Selector


def snap(seq: int, waiting: int = 0, agents: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "seq": seq,
        "generated_at": f"2026-03-10T08:00:{seq % 60:02d}.000Z",
        "now": 1.0 + seq,
        "screens": {"sala": {"waiting": waiting}},
        "teams": {"norte": {"name": "N"}, "sur": {"name": "S"}},
        "agents": agents
        or {"ana": {"team": "norte", "state": "available"}, "luis": {"team": "sur", "state": "available"}},
        "queues": {},
        "sources": {},
    }


async def publish(streams: Streams, s: dict[str, Any]) -> None:
    await streams.publish_snapshot(s["seq"], json.dumps(s))


class Recorder:
    """A screen's sink that keeps what it was sent; ``ready`` can be switched off like a full socket."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.is_ready = True
        self.closed = False
        self.on_ready: Callable[[], None] | None = None

    def ready(self) -> bool:
        return self.is_ready

    def write(self, message: Message) -> None:
        assert self.is_ready, "written while not ready"
        self.sent.append(message)

    def close(self) -> None:
        self.closed = True

    def drained(self) -> None:
        self.is_ready = True
        if self.on_ready is not None:
            self.on_ready()

    def json(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.sent[i].text)  # type: ignore[no-any-return]


async def test_latest_on_connect_then_patches_shared_by_screens(streams: Streams) -> None:
    await publish(streams, snap(1, waiting=3))
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        await until(lambda: hub.latest is not None)
        a, b = Recorder(), Recorder()
        hub.subscribe(Selector("wall", screens=("sala",)), a)
        hub.subscribe(Selector("wall", screens=("sala",)), b)
        assert len(a.sent) == len(b.sent) == 1
        assert a.sent[0] is b.sent[0]  # encoded once, sent to both
        assert a.json()["type"] == "full" and a.json()["view"]["screens"]["sala"]["waiting"] == 3
        await publish(streams, snap(2, waiting=4))
        await until(lambda: len(a.sent) == 2 and len(b.sent) == 2)
        assert a.sent[1] is b.sent[1]
        patch = a.json()
        assert patch["type"] == "patch" and patch["base"] == 1 and patch["seq"] == 2
        assert patch["set"]["screens"] == {"sala": {"waiting": 4}}
        payload = a.sent[1].text.encode()  # every socket gets the same bytes: one unmasked final text frame
        assert a.sent[1].frame == bytes((0x81, 126)) + len(payload).to_bytes(2, "big") + payload
        assert hub.bytes_sent < hub.bytes_full and hub.messages_sent == 4
    finally:
        task.cancel()


async def test_a_stalled_screen_is_skipped_then_jumps_to_the_newest(streams: Streams) -> None:
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        stalled, live = Recorder(), Recorder()
        hub.subscribe(Selector("wall", screens=("sala",)), stalled)
        hub.subscribe(Selector("wall", screens=("sala",)), live)
        await publish(streams, snap(1, waiting=1))
        await until(lambda: len(live.sent) == 1 and len(stalled.sent) == 1)
        stalled.is_ready = False  # its socket stopped taking data
        for seq in range(2, 51):
            await publish(streams, snap(seq, waiting=seq))
            await until(lambda: live.json()["seq"] == seq)  # noqa: B023 - checked before the next loop
        assert [m["seq"] for m in map(json.loads, (m.text for m in live.sent))] == list(range(1, 51))
        assert len(stalled.sent) == 1  # nothing queued for it
        stalled.drained()
        assert len(stalled.sent) == 2
        jump = stalled.json()
        assert jump["type"] == "patch" and jump["base"] == 1 and jump["seq"] == 50
        assert jump["set"]["screens"] == {"sala": {"waiting": 50}}
        assert hub.replaced == 48  # snapshots 2..49 were replaced by a newer one before it could take them
    finally:
        task.cancel()


async def test_team_screens_receive_only_their_team(streams: Streams) -> None:
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    try:
        await publish(streams, snap(1))
        norte = Recorder()
        hub.subscribe(Selector("team", team="norte"), norte)
        await until(lambda: len(norte.sent) == 1)
        view = norte.json()["view"]
        assert set(view["agents"]) == {"ana"} and "luis" not in json.dumps(view)
    finally:
        task.cancel()


async def test_heartbeats_go_only_to_idle_screens_and_unsubscribing_closes_the_sink(streams: Streams) -> None:
    hub = Hub(streams, block_ms=50, heartbeat_s=0.2, clock=lambda: 1234.5)
    await hub.publish(snap(1))
    idle, busy, blocked = Recorder(), Recorder(), Recorder()
    for r in (idle, busy, blocked):
        hub.subscribe(Selector("manager"), r)
    for sub in hub.subscribers:
        sub.last_write -= 1.0  # as if a second had passed: blocked is idle too, and skipped as not ready
    blocked.is_ready = False
    await hub.publish(snap(2))  # reaches busy (and idle); blocked is skipped
    for sub in hub.subscribers:
        if sub.sink is idle:
            sub.last_write -= 1.0  # as if it had heard nothing for a second
    hub.heartbeat()
    assert idle.json()["type"] == "hb" and idle.json()["server_time"] == 1234.5 and idle.json()["seq"] == 2
    assert busy.json()["type"] == "patch" and len(blocked.sent) == 1
    sub = next(s for s in hub.subscribers if s.sink is busy)
    hub.unsubscribe(sub)
    assert busy.closed and len(hub.subscribers) == 2
    await hub.publish(snap(3))
    assert busy.json()["seq"] == 2  # no longer written to


async def test_hub_reconnects_after_redis_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r", persist=False)
    server.start()
    port = server.port
    client = connect(server.url)
    streams = Streams(client, "h:")
    hub = Hub(streams, block_ms=50)
    task = asyncio.create_task(hub.run())
    restarted = EmbeddedRedis(tmp_path / "r", persist=False, port=port)  # (the same folder: the same password)
    try:
        await publish(streams, snap(1))
        await until(lambda: hub.latest is not None and hub.latest["seq"] == 1)
        server.stop()
        await until(lambda: not hub.connected)
        assert json.loads(heartbeat(hub))["redis"] is False
        restarted.start()
        publisher = connect(restarted.url)  # a fresh client: the hub must recover on its own
        await publish(Streams(publisher, "h:"), snap(2))
        await publisher.aclose()
        await until(lambda: hub.latest is not None and hub.latest["seq"] == 2, timeout=20)
        assert hub.connected
    finally:
        task.cancel()
        await client.aclose()
        server.stop()
        restarted.stop()
