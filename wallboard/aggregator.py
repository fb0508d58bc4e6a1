"""The aggregator: reads the event stream as a consumer group, folds, checkpoints, publishes.

Exactly-once by construction: entries are acknowledged only in the same Redis
transaction that saves the checkpoint (state + last stream id in it). After a
crash, the restarted aggregator loads the checkpoint and re-reads its own
pending entries: those at or before the checkpoint's id are acknowledged
without folding, the rest are folded. Entries left by another consumer are
taken over with XAUTOCLAIM. Event ids de-duplicate on top of that.

It checkpoints every second while there is something to acknowledge, and at
once when a burst of entries has been drained. It publishes a snapshot (``seq``
monotonic across restarts, ``generated_at``, source freshness) whenever
something changed, at most every 100 ms, and at least once a second.

Each snapshot carries the alert log (``alerts``, :mod:`wallboard.alerts`): the newest crossings
of the watched figures into alert and back out, newest first. New crossings are appended to the
``<prefix>alerts`` stream (trimmed to about :data:`ALERTS_KEEP`) before the snapshot that shows
them is published, and read back at start, so the log and the figures held in alert survive a
restart.

One aggregator folds at a time: the active one holds the lease (:mod:`wallboard.lease`), and
its reads, checkpoints, snapshots and alert log are fenced by it; others stand by, trying to take
it twice a second. An aggregator that takes the lease after another held it starts from the
checkpoint and takes over every entry the other had read and not acknowledged (XAUTOCLAIM: nobody
else can read them now), so a takeover loses no event and counts none twice.

Beside the fold, a task of its own applies the retention (``privacy.retention_days``)
once at the start and then hourly: :func:`wallboard.retention.purge_forever`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wallboard import metrics, retry
from wallboard.admission import REFUSALS, Verdict
from wallboard.alerts import AlertLog, Crossing, parse_entry
from wallboard.checkpoint import from_dict, to_dict
from wallboard.clock import utc_iso
from wallboard.config import Config
from wallboard.fold import apply, cycle_collection_paused
from wallboard.fold_settings import FoldSettings
from wallboard.freshness import SOURCE_STALE_S, source_status
from wallboard.lease import Lease, LeaseLost
from wallboard.retention import PURGE_EVERY_S, purge_forever
from wallboard.snapshot import build_view
from wallboard.state import CentreState
from wallboard.streams import GROUP, UNREACHABLE, Entry, Streams, id_tuple, redis_full
from wallboard.wire import EventError, decode

log = logging.getLogger("wallboard.aggregator")

#: A read of at least BACKLOG_ENTRIES whose newest event is older than BACKLOG_S seconds is a
#: backlog (a replay): no crossings logged. (A live source whose clock is behind sends a few
#: entries a read: its alerts are still logged.)
BACKLOG_S = 60.0
BACKLOG_ENTRIES = 100
#: Crossings kept on the alerts stream (approximately: ``XADD MAXLEN ~``), and read back at start.
ALERTS_KEEP = 1_000
#: How often a standby tries to take the lease.
STANDBY_POLL_S = 0.5
#: The name (consumer and lease holder) of an aggregator not given one: $WALLBOARD_AGGREGATOR_NAME, else this.
DEFAULT_NAME = "aggregator-1"


def default_name() -> str:
    """This aggregator's name when none is given: ``$WALLBOARD_AGGREGATOR_NAME``, else ``aggregator-1``."""
    return os.environ.get("WALLBOARD_AGGREGATOR_NAME") or DEFAULT_NAME


def _refusal_reason(verdict: Verdict, ts: float, now: float) -> str:
    """Why an event was refused, for the rejected stream (names no value but a time)."""
    if verdict is Verdict.FUTURE:
        return f"future: event time {utc_iso(ts)} is {ts - now:.0f} s ahead of the aggregator's clock"
    if verdict is Verdict.LATE:
        return f"late: event time {utc_iso(ts)} is older than the retained history"
    if verdict is Verdict.UNCONFIGURED_QUEUE:
        return "unconfigured_queue: the event names a queue the config does not list"
    return "unconfigured_agent: the event names an agent the config does not list"


def _report_crash(task: asyncio.Task[None]) -> None:
    """Say so if the retention task ended by an error (it retries Redis failures itself)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("retention task failed; no more purges until a restart", exc_info=task.exception())


class Aggregator:
    """Folds the event stream into state and publishes snapshots."""

    def __init__(
        self,
        config: Config,
        streams: Streams,
        *,
        consumer: str | None = None,
        batch: int = 5_000,
        block_ms: int = 500,
        checkpoint_every_s: float = 1.0,
        publish_min_s: float = 0.1,
        publish_max_s: float = 1.0,
        source_stale_s: float = SOURCE_STALE_S,
        clock: Callable[[], float] = time.time,
        purge_every_s: float | None = PURGE_EVERY_S,
    ) -> None:
        self.config = config
        self.streams = streams
        self.consumer = consumer or default_name()
        self.lease: Lease | None = None  # run() takes one; step() alone (tests, tools) is unfenced
        self.batch = batch
        self._catching_up = False  # the last read was of the past (a backlog): see _step
        self._newest_ts = 0.0  # the newest event time of the last read
        self.block_ms = block_ms
        self.checkpoint_every_s = checkpoint_every_s
        self.publish_min_s = publish_min_s
        self.publish_max_s = publish_max_s
        self.source_stale_s = source_stale_s
        self.clock = clock
        self.purge_every_s = purge_every_s  # None: no retention task (run() only)
        self.settings = FoldSettings.from_config(config)
        self.state = CentreState()
        self.last_id = "0-0"
        self.seq = 0
        self.rejected = 0
        self.refusals_logged = 0
        self._to_ack: list[str] = []
        self._dirty = True
        self._last_publish = 0.0
        self._last_checkpoint = 0.0
        self.alerts = AlertLog()
        self._alerts_unsaved: deque[Crossing] = deque(maxlen=ALERTS_KEEP)  # in stream order
        self._last_renew = 0.0
        self._seen_epoch = 0  # the highest lease epoch seen (a lower one: Redis lost its data)
        self._reset_at: float | None = None  # when this standby first saw the epoch go back

    @property
    def fence(self) -> str | None:
        """The lease's token while this aggregator holds it (None: unfenced, or not held)."""
        return None if self.lease is None else self.lease.token

    def _forget(self) -> None:
        """Drop everything held in memory: another aggregator has folded since (start from the checkpoint)."""
        self.state = CentreState()
        self.last_id = "0-0"
        self.seq = 0
        self.rejected = 0
        self._to_ack = []
        self._dirty = True
        self.alerts = AlertLog()
        self._alerts_unsaved.clear()

    # -------------------------------------------------------------- setup

    async def restore(self) -> None:
        """Load the checkpoint and the last published seq."""
        await self.streams.ensure_group()
        checkpoint = await self.streams.load_checkpoint()
        if checkpoint is not None:
            try:
                self.state = from_dict(checkpoint["state"], self.settings)
            except (ValueError, KeyError, TypeError) as exc:
                # A checkpoint this version cannot read (an upgrade): rebuild the state
                # from every event still on the stream instead of failing for ever.
                log.warning("cannot use the checkpoint (%s); rebuilding from the events on the stream", exc)
                self.state = CentreState()  # recover() then re-reads the whole stream
            else:
                self.last_id = checkpoint["last_id"]
                self.rejected = int(checkpoint.get("rejected", 0))
                log.info("restored checkpoint at %s (%d events applied)", self.last_id, self.state.applied)
            self.seq = int(checkpoint.get("seq", 0))
        latest = await self.streams.latest_snapshot()
        if latest is not None:
            self.seq = max(self.seq, int(latest.get("seq", 0)))
        await self._load_alerts()

    async def _load_alerts(self) -> None:
        """The stored alert log, newest first; an entry that cannot be read is skipped and said."""
        stored: list[Crossing] = []
        bad = 0
        for entry_id, text in await self.streams.recent_alerts(ALERTS_KEEP):
            try:
                stored.append(parse_entry(text))
            except ValueError as exc:
                bad += 1
                if bad == 1:
                    log.warning("skipped alert entry %s: %s", entry_id, exc)
        if bad > 1:
            log.warning("skipped %d unreadable alert entries in all", bad)
        self.alerts.restore(stored)

    async def _save_alerts(self) -> None:
        """Append the crossings not stored yet to the alerts stream, all or none."""
        if not self._alerts_unsaved:
            return
        texts = [json.dumps(c.as_dict(), separators=(",", ":")) for c in self._alerts_unsaved]
        await self.streams.append_alerts(texts, ALERTS_KEEP, self.fence)
        self._alerts_unsaved.clear()

    async def recover(self) -> None:
        """Fold what this consumer had pending, and what others left behind.

        Under the lease, entries other consumers hold are taken over first (at once: while this
        aggregator holds the lease nobody else can read or acknowledge) and then folded with its
        own in stream order. Without one, those idle for 10 s are, after its own."""
        if self.state.applied == 0 and self.last_id == "0-0":
            # Nothing folded yet: anything pending anywhere is simply read again in order.
            await self.streams.rewind_group()
            return
        if self.lease is not None:
            claimed = await self.streams.claim_stale(self.consumer, min_idle_ms=0)
            if claimed:
                log.info(
                    "took over %d entries read and not acknowledged before (this or another aggregator)", len(claimed)
                )
        after = "0-0"
        while True:
            entries = await self.streams.read_own_pending(self.consumer, after, self.batch)
            if not entries:
                break
            await self.fold_entries(entries)
            after = entries[-1][0]
            await self._renew_if_due()
        if self.lease is None:
            claimed = await self.streams.claim_stale(self.consumer, min_idle_ms=10_000)
            if claimed:
                log.info("took over %d entries left pending by another consumer", len(claimed))
                await self.fold_entries(claimed)
        await self.commit()

    # ---------------------------------------------------------------- fold

    async def fold_entries(self, entries: list[Entry]) -> int:
        """Apply entries (in stream order); returns how many changed the state."""
        changed = 0
        state, settings, to_ack = self.state, self.settings, self._to_ack
        now = self.clock()  # the aggregator's clock is "now"; event time only places an event
        refused: list[tuple[str, dict[str, str], str]] = []
        # Only entries read again after a restart can be inside the checkpoint: the first ones.
        self._newest_ts = 0.0
        last, inside = id_tuple(self.last_id), 0
        while inside < len(entries) and id_tuple(entries[inside][0]) <= last:
            to_ack.append(entries[inside][0])
            inside += 1
        for i in range(inside, len(entries)):
            entry_id, fields = entries[i]
            to_ack.append(entry_id)
            self.last_id = entry_id
            if fields is None:
                self.rejected += 1
                log.warning("entry %s was trimmed before it was read", entry_id)
                continue
            try:
                event = decode(fields)
            except EventError as exc:
                self.rejected += 1
                if self.rejected <= 10 or self.rejected % 1000 == 0:
                    log.warning("rejected entry %s (#%d): %s", entry_id, self.rejected, exc)
                await self.streams.reject(entry_id, fields, str(exc))
                continue
            if event.ts > self._newest_ts:
                self._newest_ts = event.ts
            verdict = apply(state, settings, event, now)
            if verdict:
                changed += 1
            elif verdict in REFUSALS:
                refused.append((entry_id, fields, _refusal_reason(verdict, event.ts, now)))
        if refused:
            self._log_refusals(refused)
            await self.streams.reject_many(refused)
            self._dirty = True  # the sources' refusal counts changed
        if changed:
            self._dirty = True
        return changed

    def _log_refusals(self, refused: list[tuple[str, dict[str, str], str]]) -> None:
        """One line per batch with refusals, for the first ones and then every 1000th."""
        before = self.refusals_logged
        self.refusals_logged += len(refused)
        if before < 10 or before // 1000 != self.refusals_logged // 1000:
            log.warning(
                "refused %d events (%d so far), e.g. entry %s: %s",
                len(refused),
                self.refusals_logged,
                refused[0][0],
                refused[0][2],
            )

    async def commit(self) -> None:
        """Checkpoint the state and acknowledge every entry folded into it."""
        checkpoint = {
            "state": to_dict(self.state),
            "last_id": self.last_id,
            "seq": self.seq,
            "rejected": self.rejected,
            "saved_at": self.clock(),
        }
        with metrics.timed(metrics.CHECKPOINT_SECONDS):
            await self.streams.commit(checkpoint, self._to_ack, self.fence)
        self._to_ack = []
        self._last_checkpoint = time.monotonic()

    # ------------------------------------------------------------ publish

    async def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The full snapshot at ``now``: view, alert log, sources and pipeline figures (its
        figures' crossings are logged: each call observes them)."""
        now = self.clock() if now is None else now
        view = build_view(self.state, self.config, self.settings, now)
        # Newest first in the log; the stream reads back newest first, so a snapshot's
        # crossings are appended in reverse.
        # Not while reading a backlog (_step: a full batch, or many events all older than BACKLOG_S):
        # figures of the past hours would be logged as crossings happening now. What is in
        # alert once it has caught up is logged then, once.
        if not self._catching_up:
            self._alerts_unsaved.extend(reversed(self.alerts.observe(view, self.config)))
        health = await self.streams.source_health()
        sources: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for collector in self.config.collectors:
            if collector.enabled:
                sources[collector.source] = None
        for name in list(sources) + [n for n in health if n not in sources]:
            h = health.get(name)
            stale, status = source_status(h, now, self.source_stale_s)
            h = h or {}
            sources[name] = {
                "stale": stale,
                "status": status,
                "kind": h.get("kind"),
                "connected": bool(h.get("connected", False)),
                "heartbeat_at": h.get("heartbeat_at"),
                "last_event_at": self.state.sources.get(name) or h.get("last_event_at"),
                "events_per_s": h.get("events_per_s"),
                "events_total": h.get("events_total", 0),
                "errors_total": h.get("errors_total", 0),
                "refused": dict(self.state.refused.get(name, {})),
            }
            # Error texts are for the operator (/healthz), never for the screens.
            errors[name] = h.get("last_error", "")
        return {
            "seq": self.seq,
            "generated_at": utc_iso(now),
            **view,
            "alerts": self.alerts.as_list(),
            "ticker": await self.streams.tickers(),
            "sources": sources,
            "pipeline": {
                "applied": self.state.applied,
                "duplicates": self.state.duplicates,
                "rejected": self.rejected,
                "last_id": self.last_id,
                "refused": {src: sum(c.values()) for src, c in self.state.refused.items()},
                "source_errors": errors,
                # Queue names are configuration, not personal data: listed, but only those
                # that read as names (a shifted line can put a caller's number there).
                # Agents: counted.
                "unconfigured_queues": {q: n for q, n in self.state.unconfigured_queues.items() if q[:1].isalpha()},
                "unconfigured_queues_unnamed": sum(
                    n for q, n in self.state.unconfigured_queues.items() if not q[:1].isalpha()
                ),
                "unconfigured_agents": len(self.state.unconfigured_agents),
                "discovered": {
                    "queues": len(self.state.discovered_queues),
                    "agents": len(self.state.discovered_agents),
                },
                # Which aggregator published this, and how many times the lease has been taken.
                "aggregator": {"name": self.consumer, "epoch": None if self.lease is None else self.lease.epoch},
            },
        }

    async def publish(self) -> None:
        self.seq += 1
        started = time.perf_counter()
        snap = await self.snapshot()
        payload = json.dumps(snap, separators=(",", ":"), ensure_ascii=False)
        built = time.perf_counter() - started
        await self._save_alerts()  # before the snapshot that shows them
        await self.streams.publish_snapshot(self.seq, payload, self.fence)
        metrics.snapshot_published(len(payload.encode()), built)
        self._dirty = False
        self._last_publish = time.monotonic()

    # --------------------------------------------------------------- loop

    async def step(self) -> int:
        """Read one batch, fold it, and publish/checkpoint when due (the cyclic GC paused meanwhile)."""
        with cycle_collection_paused():
            return await self._step()

    async def _step(self) -> int:
        # Wait for entries no longer than until the next publish or checkpoint is due (a
        # checkpoint waited for a whole block_ms too: up to 1.5 s instead of its period).
        due = self._last_publish + (self.publish_min_s if self._dirty else self.publish_max_s)
        if self._to_ack:
            due = min(due, self._last_checkpoint + self.checkpoint_every_s)
        block_ms = max(1, min(self.block_ms, int((due - time.monotonic()) * 1000) + 1))
        entries = await self.streams.read_new(self.consumer, self.batch, block_ms, self.fence)
        started = time.perf_counter()
        changed = await self.fold_entries(entries)
        if entries:
            metrics.fold_batch(len(entries), time.perf_counter() - started)
        # Reading a backlog (a restart, a source replaying its day): a full batch, or many events
        # all older than BACKLOG_S. Its snapshots show the past as if it were now.
        self._catching_up = len(entries) >= self.batch or (
            len(entries) >= BACKLOG_ENTRIES and self._newest_ts < self.clock() - BACKLOG_S
        )
        now = time.monotonic()
        since_publish = now - self._last_publish
        if (self._dirty and since_publish >= self.publish_min_s) or since_publish >= self.publish_max_s:
            await self.publish()
        # Checkpoint every checkpoint_every_s, and as soon as a burst (a batch or more of
        # entries) is drained: when the stream has gone quiet, what was folded is saved at once.
        if self._to_ack and (
            now - self._last_checkpoint >= self.checkpoint_every_s or (not entries and len(self._to_ack) >= self.batch)
        ):
            await self.commit()
        return changed

    async def _renew_if_due(self) -> None:
        """Renew the lease every third of its time to live; :class:`LeaseLost` if it is gone."""
        if self.lease is None or time.monotonic() - self._last_renew < self.lease.renew_every_s:
            return
        if not await self.lease.renew():
            raise LeaseLost("the lease expired or another aggregator took it")
        self._last_renew = time.monotonic()

    async def _take_lease(self, first: bool) -> bool:
        """Try to become the active aggregator; True if this one is now. What it held in memory is
        kept only if nobody else can have folded since: the lease's epoch went up by one since its
        own (or restarted at 1: Redis lost its data, and this memory is the newest copy)."""
        assert self.lease is not None
        held_epoch = self.lease.epoch
        current = await self.lease.epoch_now()
        if current < self._seen_epoch and not self.state.applied:
            # Redis lost (or went back in) its data: this standby leaves the lease a while to the
            # aggregator that held it, whose memory may hold the only copy of the day.
            if self._reset_at is None:
                self._reset_at = time.monotonic()
                log.warning("the lease's epoch went back (Redis lost its data?): leaving it to its last holder a while")
            if time.monotonic() - self._reset_at < 2 * self.lease.ttl_ms / 1000:
                return False
        self._reset_at = None
        self._seen_epoch = max(self._seen_epoch, current)
        take_own = False
        if first:  # at start, a lease under this name may be this aggregator's killed previous run's
            own = await self.lease.held_by_my_previous_run()
            take_own = bool(own)
            if own is False:
                holder = await self.lease.holder_now()
                log.error(
                    "the lease is held under this aggregator's name %r by another process (%s): waiting for "
                    "it to expire; give each aggregator its own --name",
                    self.consumer,
                    "?" if holder is None else holder.where,
                )
        if not await self.lease.acquire(take_own=take_own):
            return False
        self._seen_epoch = max(self._seen_epoch, self.lease.epoch)
        self._last_renew = time.monotonic()
        metrics.AGGREGATOR_ACTIVE.set(1)
        if (held_epoch and self.lease.epoch != held_epoch + 1) or (not held_epoch and self.lease.epoch > 1):
            metrics.TAKEOVERS.inc()  # another aggregator held it since (or before this one started)
        continues = held_epoch and self.lease.epoch in (held_epoch + 1, 1)
        if not continues and self.state.applied:
            self._forget()
        log.info(
            "aggregator %r is active (lease epoch %d)%s",
            self.consumer,
            self.lease.epoch,
            "" if held_epoch == 0 or continues else "; starting from the checkpoint",
        )
        return True

    async def _after_losing_the_lease(self) -> None:
        """Drop this aggregator's state if another has taken the lease since (its epoch went up):
        what it holds is older than what the other folds. Kept if the lease only expired (the
        epoch unchanged: re-taken, it goes on) or Redis lost its data (the epoch gone or lower:
        this memory may be the only copy of the day)."""
        assert self.lease is not None
        try:
            current = await self.lease.epoch_now()
        except UNREACHABLE:
            return  # cannot tell: the next taking decides by the epoch
        if current > self.lease.epoch and self.state.applied:
            log.warning("another aggregator took the lease (epoch %d): dropping this one's state", current)
            self._forget()

    async def _stand_by(self, stop: asyncio.Event, announced: bool) -> None:
        """Wait before the next try at the lease, saying once who holds it."""
        assert self.lease is not None
        if not announced:
            holder = await self.lease.holder_now()
            log.info(
                "aggregator %r standing by: %s holds the lease",
                self.consumer,
                "nobody" if holder is None else f"{holder.name!r} (epoch {holder.epoch})",
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STANDBY_POLL_S)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or cancelled), surviving Redis restarts: active while this
        aggregator holds the lease, standing by while another does."""
        stop = stop or asyncio.Event()
        self.lease = Lease(self.streams.redis, self.streams.prefix, self.consumer, self.config.aggregator.lease_ttl_s)
        log.info("aggregator %r starting, pid %d", self.consumer, os.getpid())
        metrics.AGGREGATOR_ACTIVE.set(0)
        metrics.watch_aggregator(
            lambda: metrics.FoldFigures(self.state.applied, self.state.duplicates, self.rejected, self.state.refused),
            {c.source for c in self.config.collectors},
        )
        lag = asyncio.create_task(
            metrics.watch_stream_lag(self.streams.redis, self.streams.events_key, GROUP), name="stream lag"
        )
        attempt = 0
        ready = False
        first = True  # the first try at the lease
        standing_by = False  # said so
        purger: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                try:
                    if self.lease.token is None:
                        taken = await self._take_lease(first)
                        first = False
                        if not taken:
                            await self._stand_by(stop, standing_by)
                            standing_by = True
                            continue
                        standing_by, ready = False, False
                    if not ready:
                        if not await self.lease.renew():  # (after a Redis outage: is it still ours?)
                            raise LeaseLost("the lease expired while Redis was unreachable")
                        self._last_renew = time.monotonic()
                        if self.state.applied == 0:
                            await self.restore()  # first start: continue from the checkpoint
                        else:
                            await self.streams.ensure_group()  # reconnect: our state is newer
                        await self.recover()
                        ready = True
                        if purger is None and self.purge_every_s is not None:
                            # Started once recovered: a group rewound to rebuild the state
                            # holds back the trimming from the first purge on.
                            purger = asyncio.create_task(
                                purge_forever(self.streams, self.config, every_s=self.purge_every_s),
                                name="retention",
                            )
                            purger.add_done_callback(_report_crash)
                        if attempt:
                            log.info("Redis reachable again; aggregating")
                        attempt = 0
                    await self._renew_if_due()
                    await self.step()
                except LeaseLost as exc:
                    log.warning("aggregator %r is no longer active (%s); standing by", self.consumer, exc)
                    metrics.AGGREGATOR_ACTIVE.set(0)
                    self.lease.token = None
                    await self._after_losing_the_lease()
                    ready = False
                    if purger is not None:
                        purger.cancel()
                        await asyncio.gather(purger, return_exceptions=True)
                        purger = None
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    metrics.redis_error("read")
                    if attempt == 0:
                        log.warning("Redis unavailable (%s); retrying", exc)
                    ready = False
                    await asyncio.sleep(retry.backoff(attempt))
                    attempt += 1
                except ResponseError as exc:
                    metrics.redis_error("commit" if redis_full(exc) else "read")
                    if redis_full(exc):  # maxmemory: a checkpoint or snapshot refused; nothing is lost
                        if attempt == 0:  # (its message quotes the checkpoint: not logged)
                            log.warning("Redis is full (maxmemory reached, writes refused); retrying")
                        ready = False  # the entries since the checkpoint stay pending: read again
                        await asyncio.sleep(retry.backoff(attempt))
                        attempt += 1
                        continue
                    if "NOGROUP" not in str(exc):
                        raise
                    log.warning("consumer group vanished (Redis restarted without data?); recreating it")
                    ready = False
        finally:
            lag.cancel()
            await asyncio.gather(lag, return_exceptions=True)
            metrics.unwatch_aggregator()
            if purger is not None:
                purger.cancel()
                await asyncio.gather(purger, return_exceptions=True)
            if ready and self.lease.token is not None:
                try:
                    await asyncio.shield(self.commit())
                    await asyncio.shield(self.lease.release())  # the standby takes over at once
                    log.info("aggregator stopped at %s (checkpoint saved, lease given up)", self.last_id)
                except Exception as exc:  # shutting down: report, do not mask the original exit
                    log.warning("final checkpoint failed: %s", exc)
