"""Running a collector: what every source gets, so each source module stays small.

A collector's ``run(ctx)`` turns source data into events and calls
``ctx.emit``. Everything else is here, once: appending to the stream with
retry (an event is never dropped because Redis blinked), health reported to
Redis every second for the snapshot's freshness flags, counted rejections of
bad input, a durable cursor, and logging once when something starts failing
and once when it recovers. Events appended, input rejected and Redis retries are
counted per source in :mod:`wallboard.metrics` (once per batch, not per event).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from redis.exceptions import ResponseError

from wallboard import collectors, metrics, retry
from wallboard.collectors import Configured
from wallboard.config import CollectorConfig, Config
from wallboard.events import Event
from wallboard.streams import UNREACHABLE, Streams, redis_full

HEARTBEAT_S = 1.0


@dataclass
class Health:
    """A source's health as screens and /healthz see it."""

    connected: bool = True
    redis_full: bool = False  # Redis refuses our writes (maxmemory): events are held, not dropped
    started_at: float = field(default_factory=time.time)
    last_event_at: float | None = None
    events_total: int = 0
    errors_total: int = 0
    last_error: str = ""
    rate_window: list[tuple[float, int]] = field(default_factory=list)

    def as_dict(self, kind: str) -> dict[str, Any]:
        now = time.time()
        self.rate_window = [(t, n) for t, n in self.rate_window if now - t <= 10.0]
        rate = sum(n for _, n in self.rate_window) / 10.0
        return {
            "kind": kind,
            "status": "redis_full" if self.redis_full else "ok" if self.connected else "down",
            "connected": self.connected,
            "redis_full": self.redis_full,
            "heartbeat_at": now,
            "started_at": self.started_at,
            "last_event_at": self.last_event_at,
            "events_total": self.events_total,
            "events_per_s": round(rate, 2),
            "errors_total": self.errors_total,
            "last_error": self.last_error,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }


OptionsT = TypeVar("OptionsT", bound=BaseModel)


class CollectorContext(Generic[OptionsT]):
    """What a collector module gets: config, its typed options, and the ways to emit and report."""

    def __init__(self, config: Config, collector: CollectorConfig, options: OptionsT, streams: Streams) -> None:
        self.config = config
        self.collector = collector
        self.options = options
        self.source = collector.source
        self.streams = streams
        self.health = Health()
        self.log = logging.getLogger(f"wallboard.collector.{self.source}")
        self._last_heartbeat = 0.0
        self._redis_down = False
        self._link_reported = False
        self._events_in = metrics.COLLECTOR_EVENTS.labels(self.source)  # (a source named in the config)
        self._rejected = metrics.COLLECTOR_REJECTED.labels(self.source)
        self._retries = metrics.COLLECTOR_RETRIES.labels(self.source)

    async def _until_done(self, what: str, operation: Callable[[], Awaitable[Any]], kind: str = "append") -> None:
        """Run a Redis operation, retrying with backoff until Redis takes it (logged once).

        A full Redis (maxmemory reached) is handled like an unreachable one: the events
        are held and retried, never dropped, and the source's health says ``redis_full``.
        """
        attempt = 0
        while True:
            try:
                await operation()
                break
            except (*UNREACHABLE, ResponseError) as exc:
                full = redis_full(exc)
                metrics.redis_error(kind)
                if not full and isinstance(exc, ResponseError):
                    raise
                if retry.being_cancelled():
                    raise asyncio.CancelledError from exc
                if not self._redis_down:
                    if full:  # a refused pipeline quotes its command and data: keep them out of the log
                        self.log.warning(
                            "Redis is full (maxmemory reached, writes refused); holding %s and retrying", what
                        )
                    else:
                        self.log.warning("Redis unavailable (%s); holding %s and retrying", exc, what)
                    self._redis_down = True
                self.health.redis_full = full
                self._retries.inc()
                await asyncio.sleep(retry.backoff(attempt))
                attempt += 1
        if self._redis_down:
            self.log.info("Redis reachable again; events flowing")
            self._redis_down = False
            self.health.redis_full = False

    async def emit(self, events: Sequence[Event]) -> None:
        """Append events to the stream, retrying until Redis takes them."""
        await self._until_done(f"{len(events)} events", lambda: self.streams.append(events))
        if events:
            self._events_in.inc(len(events))
            self.health.events_total += len(events)
            self.health.last_event_at = max(e.ts for e in events)
            self.health.rate_window.append((time.time(), len(events)))
        await self.heartbeat()

    def reject(self, reason: str) -> None:
        """Count bad input from the source; logs the first ones and then every 1000th."""
        self.health.errors_total += 1
        self._rejected.inc()
        self.health.last_error = reason[:300]
        n = self.health.errors_total
        if n <= 10 or n % 1000 == 0:
            self.log.warning("rejected input #%d: %s", n, reason[:300])

    def set_connected(self, connected: bool, error: str = "") -> None:
        """Record the source's link state, logging the first report and then only the changes."""
        first = not self._link_reported
        if connected and (first or not self.health.connected):
            self.log.info("source connected" if first else "source recovered")
        elif not connected and (first or self.health.connected):
            self.log.warning("source failing: %s", error)
        self._link_reported = True
        self.health.connected = connected
        if error:
            self.health.last_error = error[:300]

    async def heartbeat(self, force: bool = False) -> None:
        """Publish health at most once a second (never raises on a Redis blip)."""
        now = time.monotonic()
        if not force and now - self._last_heartbeat < HEARTBEAT_S:
            return
        self._last_heartbeat = now
        try:
            await self.streams.set_source_health(self.source, self.health.as_dict(self.collector.kind))
        except (*UNREACHABLE, ResponseError) as exc:
            metrics.redis_error("health")
            # emit() reports Redis trouble (a full one refuses this write too: the heartbeat
            # task must not die of it); health is refreshed on the next beat
            if isinstance(exc, ResponseError) and not redis_full(exc):
                raise

    async def load_cursor(self) -> dict[str, Any]:
        """The source's stored position, retrying until Redis answers (it may still be loading)."""
        cursor: dict[str, Any] = {}

        async def load() -> None:
            nonlocal cursor
            cursor = await self.streams.load_cursor(self.source)

        await self._until_done("the start until the source's position is read", load, "cursor")
        return cursor

    async def save_cursor(self, cursor: dict[str, Any]) -> None:
        """Store the source's position, retrying until Redis takes it."""
        await self._until_done("the source's position", lambda: self.streams.save_cursor(self.source, cursor), "cursor")


async def report_health(ctx: CollectorContext[Any]) -> None:
    """Publish ``ctx``'s health every second until cancelled: the source is up while this runs."""
    while True:
        await ctx.heartbeat(force=True)
        await asyncio.sleep(HEARTBEAT_S)


async def run_collector(config: Config, collector: Configured, streams: Streams) -> None:
    """Run one configured collector until cancelled, restarting it if it crashes."""
    module = collectors.load(collector.spec.kind)
    ctx = CollectorContext(config, collector.spec, collector.options, streams)
    ctx.log.info("collector %r (%s) starting, pid %d", ctx.source, collector.spec.kind, os.getpid())

    beater = asyncio.create_task(report_health(ctx))
    attempt = 0
    try:
        while True:
            try:
                await module.run(ctx)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a source bug must not stop the service: log, back off, restart
                # Health names the kind of failure only: an exception's text can quote source data.
                ctx.set_connected(False, f"collector crashed ({type(exc).__name__}); restarting")
                ctx.log.exception("collector crashed; restarting")
                await asyncio.sleep(retry.backoff(attempt, base=1.0))
                attempt += 1
    finally:
        beater.cancel()
