"""The hub: one Redis reader per web process, fanning snapshots out to every screen.

Shaped like broadcaster (one listener, one queue per subscriber, cleanup in
``finally``) without its faults: each subscriber holds at most one pending
snapshot and a newer one replaces it, so a slow or stalled screen never slows
the others or grows memory; the latest snapshot goes out at once on connect;
the hub reconnects to Redis by itself. Messages are encoded once per (view,
base seq) per snapshot and shared by every socket in the same position.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wallboard.collect import backoff
from wallboard.messages import Selector, diff, view_of
from wallboard.streams import Streams

log = logging.getLogger("wallboard.hub")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Subscriber:
    """One screen: a selector, the last view it was sent, one pending snapshot slot."""

    def __init__(self, selector: Selector) -> None:
        self.selector = selector
        self.sent_seq: int | None = None
        self.sent_view: dict[str, Any] | None = None
        self._pending: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self.replaced = 0

    def offer(self, snapshot: dict[str, Any]) -> None:
        if self._pending is not None:
            self.replaced += 1  # a stale frame deliberately dropped for a newer one
        self._pending = snapshot
        self._wake.set()

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The newest snapshot not yet sent, or None after ``timeout`` (time for a heartbeat)."""
        if self._pending is None:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return None
        snapshot, self._pending = self._pending, None
        return snapshot


class Hub:
    """Reads ``snapshots`` from Redis once and offers each to every subscriber."""

    def __init__(self, streams: Streams, *, block_ms: int = 1000) -> None:
        self.streams = streams
        self.block_ms = block_ms
        self.latest: dict[str, Any] | None = None
        self.subscribers: set[Subscriber] = set()
        self.connected = False
        self._encoded: dict[tuple[str, int | None, int], tuple[str, int, int]] = {}  # text, bytes, full bytes
        self._views: dict[tuple[str, int], dict[str, Any]] = {}
        self.bytes_full = 0
        self.bytes_sent = 0

    # ---------------------------------------------------------- listening

    async def run(self) -> None:
        """Follow the snapshot stream for ever, reconnecting after Redis failures."""
        last_id = "$"
        attempt = 0
        while True:
            try:
                if self.latest is None or last_id == "$":
                    latest = await self.streams.latest_snapshot_entry()
                    if not self.connected:
                        log.info("hub reading snapshots from Redis")
                        self.connected = True
                    attempt = 0
                    if latest is not None:
                        last_id = latest[0]
                        self._publish(latest[1])
                entries = await self.streams.snapshots_after(last_id, self.block_ms)
                if entries:
                    last_id = entries[-1][0]
                    self._publish(entries[-1][1])  # only the newest matters
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if self.connected or attempt == 0:
                    log.warning("hub lost Redis (%s); reconnecting", exc)
                self.connected = False
                last_id = "$"
                await asyncio.sleep(backoff(attempt, cap=5.0))
                attempt += 1

    def _publish(self, snapshot: dict[str, Any]) -> None:
        if self.latest is not None and snapshot.get("seq", 0) <= self.latest.get("seq", 0):
            return  # never go backwards
        self.latest = snapshot
        self._encoded.clear()
        self._views.clear()
        for sub in self.subscribers:
            sub.offer(snapshot)

    # --------------------------------------------------------- subscribers

    def subscribe(self, selector: Selector) -> Subscriber:
        sub = Subscriber(selector)
        self.subscribers.add(sub)
        if self.latest is not None:
            sub.offer(self.latest)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def view(self, snapshot: dict[str, Any], selector: Selector) -> dict[str, Any]:
        key = (selector.key, snapshot["seq"])
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = view_of(snapshot, selector)
        return v

    def message_for(self, sub: Subscriber, snapshot: dict[str, Any]) -> str:
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
            cached = self._encoded[cache_key] = (text, len(text.encode()), len(full.encode()))
        text, size, full_size = cached
        self.bytes_sent += size
        self.bytes_full += full_size
        sub.sent_seq, sub.sent_view = seq, view
        return text


def heartbeat(hub: Hub, clock: Callable[[], float] = time.time) -> str:
    latest = hub.latest or {}
    return _dumps({"type": "hb", "seq": latest.get("seq"), "generated_at": latest.get("generated_at"),
                   "server_time": clock(), "redis": hub.connected})
