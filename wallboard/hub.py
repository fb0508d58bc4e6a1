"""The hub: one Redis reader per web process, pushing each snapshot to every screen.

Shaped like broadcaster (one listener, many subscribers, cleanup in
``finally``) without its faults: nothing is queued per screen. When a
snapshot arrives the hub walks the screens once and writes each the message
that takes it from what it last received to the newest snapshot. Messages are
encoded once per (view, base seq), as ready-made frames shared by every
socket in the same position (:mod:`wallboard.push`). A screen whose socket is
not taking data (a stalled TV) is skipped; when its socket drains it gets one
message straight to the newest snapshot, so a slow screen never slows the
others or grows memory, and the frames it skipped are counted as replaced.
The latest snapshot goes out at once on connect; a heartbeat goes to screens
that heard nothing for a while; the hub reconnects to Redis by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from wallboard import metrics, retry
from wallboard.push import Message, Sink
from wallboard.streams import UNREACHABLE, Streams
from wallboard.views import Selector, diff, view_of

log = logging.getLogger("wallboard.hub")

YIELD_EVERY = 1000  # screens written between two yields to the event loop during a fan-out


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Subscriber:
    """One screen: a selector, where it writes, and the last view it was sent."""

    __slots__ = ("selector", "sink", "sent_seq", "sent_view", "last_write", "behind", "replaced")

    def __init__(self, selector: Selector, sink: Sink) -> None:
        self.selector = selector
        self.sink = sink
        self.sent_seq: int | None = None
        self.sent_view: dict[str, Any] | None = None
        self.last_write = time.monotonic()
        self.behind = False  # a snapshot is waiting for the sink to be ready
        self.replaced = 0  # snapshots never sent because a newer one came first


class SnapshotReader:
    """One reader of the ``snapshots`` stream: the newest entry, then ``XREAD BLOCK`` for the next
    ones, only the newest of a batch, reconnecting by itself after Redis failures.

    Subclasses decide what to do with each snapshot in :meth:`publish`.
    """

    name = "snapshot reader"

    def __init__(self, streams: Streams, *, block_ms: int = 1000) -> None:
        self.streams = streams
        self.block_ms = block_ms
        self.latest: dict[str, Any] | None = None
        self.connected = False

    async def run(self) -> None:
        """Follow the snapshot stream for ever, reconnecting after Redis failures."""
        last_id = "$"
        attempt = 0
        while True:
            try:
                if self.latest is None or last_id == "$":
                    latest = await self.streams.latest_snapshot_entry()
                    if not self.connected:
                        log.info("%s reading snapshots from Redis", self.name)
                        self.connected = True
                    attempt = 0
                    if latest is not None:
                        last_id = latest[0]
                        await self.publish(latest[1])
                entries = await self.streams.snapshots_after(last_id, self.block_ms)
                if entries:
                    last_id = entries[-1][0]
                    await self.publish(entries[-1][1])  # only the newest matters
            except UNREACHABLE as exc:
                metrics.redis_error("snapshot_read")
                if self.connected or attempt == 0:
                    log.warning("%s lost Redis (%s); reconnecting", self.name, exc)
                self.connected = False
                last_id = "$"
                await asyncio.sleep(retry.backoff(attempt, cap=5.0))
                attempt += 1

    def newer(self, snapshot: dict[str, Any]) -> bool:
        """Make ``snapshot`` the latest if it is newer (never going backwards); whether it was."""
        if self.latest is not None and snapshot.get("seq", 0) <= self.latest.get("seq", 0):
            return False
        self.latest = snapshot
        return True

    async def publish(self, snapshot: dict[str, Any]) -> None:
        self.newer(snapshot)


class Hub(SnapshotReader):
    """Reads ``snapshots`` from Redis once and pushes each to every subscriber."""

    name = "hub"

    def __init__(
        self,
        streams: Streams,
        *,
        block_ms: int = 1000,
        heartbeat_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(streams, block_ms=block_ms)
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.subscribers: dict[Subscriber, None] = {}  # insertion-ordered set
        self._encoded: dict[tuple[str, int | None, int], tuple[Message, int]] = {}  # message, full bytes
        self._views: dict[tuple[str, int], dict[str, Any]] = {}
        self.bytes_full = 0
        self.bytes_sent = 0
        self.messages_sent = 0
        self.replaced = 0
        self._counted = metrics.HubCounts()  # the counters above, carried into the metrics per broadcast

    async def publish(self, snapshot: dict[str, Any]) -> None:
        """Make ``snapshot`` the latest and push it to every screen (never going backwards)."""
        if not self.newer(snapshot):
            return
        self._encoded.clear()
        self._views.clear()
        for i, sub in enumerate(list(self.subscribers)):
            if sub.behind:
                sub.replaced += 1
                self.replaced += 1
            self.deliver(sub)
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let handshakes and reads in between big fan-outs
        metrics.hub_snapshot(snapshot.get("now"))
        self.count()

    def count(self) -> None:
        """Carry what the hub's counters gained into the metrics (once per broadcast or heartbeat,
        never per screen)."""
        self._counted.flush(self.messages_sent, self.replaced, self.bytes_sent)

    async def run_heartbeats(self) -> None:
        """Every ``heartbeat_s``, a heartbeat to each screen that heard nothing for that long."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self.heartbeat()

    def heartbeat(self) -> None:
        self.count()  # (messages written between broadcasts: to screens connecting or draining)
        idle_since = time.monotonic() - self.heartbeat_s * 0.9
        message: Message | None = None
        for sub in list(self.subscribers):
            if sub.last_write <= idle_since and sub.sink.ready():
                message = message or Message(heartbeat(self, self.clock))
                sub.sink.write(message)
                sub.last_write = time.monotonic()

    # --------------------------------------------------------- subscribers

    def subscribe(self, selector: Selector, sink: Sink) -> Subscriber:
        """A new screen: it gets the latest snapshot at once, then every change."""
        sub = Subscriber(selector, sink)
        self.subscribers[sub] = None
        metrics.screen_connected(selector.view)
        sink.on_ready = lambda: self.deliver(sub)
        self.deliver(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if self.subscribers.pop(sub, False) is None:  # (a screen unsubscribed twice counts once)
            metrics.screen_gone(sub.selector.view)
        sub.sink.close()

    def deliver(self, sub: Subscriber) -> None:
        """Write ``sub`` the message to the latest snapshot, if it lacks it and its sink is ready."""
        latest = self.latest
        if latest is None or sub.sent_seq == latest["seq"] or sub not in self.subscribers:
            sub.behind = False
            return
        if not sub.sink.ready():
            sub.behind = True
            return
        sub.behind = False
        sub.sink.write(self.message_for(sub, latest))
        sub.last_write = time.monotonic()

    def view(self, snapshot: dict[str, Any], selector: Selector) -> dict[str, Any]:
        key = (selector.key, snapshot["seq"])
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = view_of(snapshot, selector)
        return v

    def message_for(self, sub: Subscriber, snapshot: dict[str, Any]) -> Message:
        """The message taking ``sub`` to ``snapshot``: a patch from what it has, or the full view."""
        seq = snapshot["seq"]
        cache_key = (sub.selector.key, sub.sent_seq, seq)
        cached = self._encoded.get(cache_key)
        view = self.view(snapshot, sub.selector)
        if cached is None:
            header = {"seq": seq, "generated_at": snapshot.get("generated_at")}
            full = _dumps({"type": "full", **header, "view": view})
            text = full
            if sub.sent_view is not None:
                changed, deleted = diff(sub.sent_view, view)
                patch = _dumps({"type": "patch", **header, "base": sub.sent_seq, "set": changed, "del": deleted})
                if len(patch) < len(full):
                    text = patch
            message = Message(text)
            cached = self._encoded[cache_key] = (message, message.size if text is full else len(full.encode()))
        message, full_size = cached
        self.bytes_sent += message.size
        self.bytes_full += full_size
        self.messages_sent += 1
        sub.sent_seq, sub.sent_view = seq, view
        return message


def heartbeat(hub: Hub, clock: Callable[[], float] = time.time) -> str:
    latest = hub.latest or {}
    return _dumps(
        {
            "type": "hb",
            "seq": latest.get("seq"),
            "generated_at": latest.get("generated_at"),
            "server_time": clock(),
            "redis": hub.connected,
        }
    )
