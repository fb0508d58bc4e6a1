"""Retention: personal data older than ``privacy.retention_days`` leaves Redis.

What is trimmed, by the age of each entry's stream id (the time Redis appended it):

- the event stream (agents' states, calls), but never an entry the saved checkpoint
  does not hold yet (:meth:`~wallboard.streams.Streams.events_trim_floor`): an
  aggregator that was stopped for longer than the retention loses nothing it has not
  folded; its checkpoint holds the counts, the events go once folded;
- the refused events (``events:rejected``, kept with their fields for the operator);
- the audit log (``audit``; its length is bounded apart, by ``privacy.audit_maxlen``);
- the snapshot stream's history (every snapshot but the newest, the current one).

The checkpoint, the collectors' cursors, the sources' health and the ticker are each
one current value, replaced as they change: no history to trim. The aggregator runs
:func:`purge` once at its start and then hourly (:func:`purge_forever`);
``wallboard purge [--older-than-days N]`` runs it once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from wallboard.clock import utc_iso
from wallboard.config import Config
from wallboard.streams import FAILURES, Streams, earliest_id

log = logging.getLogger("wallboard.retention")

DAY_S = 86_400.0
#: How often the aggregator purges, and how soon it tries again after a failure.
PURGE_EVERY_S = 3600.0
RETRY_S = 60.0


def cut_ms(now: float, days: float) -> int:
    """The stream time (ms) before which entries are older than ``days`` at ``now``."""
    if not (math.isfinite(days) and days >= 0):
        raise ValueError(f"the retention must be a number of days ≥ 0, not {days!r}")
    return max(0, int((now - days * DAY_S) * 1000))


async def purge(
    streams: Streams, config: Config, now: float, *, older_than_days: float | None = None
) -> dict[str, int]:
    """Trim entries older than ``older_than_days`` (default ``config.privacy.retention_days``)
    at ``now`` (POSIX seconds) from the event stream (never past what the saved checkpoint
    holds), the refused events, the audit log and the snapshot history (the newest snapshot
    stays). Returns how many entries went, by Redis key."""
    days = config.privacy.retention_days if older_than_days is None else older_than_days
    cut = f"{cut_ms(now, days)}-0"
    counts: dict[str, int] = {}
    floor = await streams.events_trim_floor()
    counts[streams.events_key] = await streams.trim_before(streams.events_key, earliest_id(cut, floor))
    counts[streams.rejected_key] = await streams.trim_before(streams.rejected_key, cut)
    counts[streams.audit_key] = await streams.trim_before(streams.audit_key, cut)
    newest = await streams.newest_id(streams.snapshots_key)
    counts[streams.snapshots_key] = (
        0 if newest is None else await streams.trim_before(streams.snapshots_key, earliest_id(cut, newest))
    )
    return counts


def describe(streams: Streams, counts: dict[str, int], days: float, now: float) -> str:
    """One line for the log: counts by key (without the prefix) and the cut; no personal data."""
    per_key = ", ".join(f"{key.removeprefix(streams.prefix)} {n}" for key, n in counts.items())
    cut = utc_iso(cut_ms(now, days) / 1000)
    return f"retention: trimmed {sum(counts.values())} entries older than {days:g} days (before {cut}): {per_key}"


async def purge_forever(
    streams: Streams,
    config: Config,
    *,
    every_s: float = PURGE_EVERY_S,
    retry_s: float = RETRY_S,
    clock: Callable[[], float] = time.time,
) -> None:
    """Purge now, then every ``every_s``, logging one line each time; a failure (Redis away) is
    logged and tried again after ``retry_s``. Runs until cancelled.

    ``clock`` is the wall clock, not the fold's: stream ids are Redis's times of append."""
    failing = False
    while True:
        now = clock()
        try:
            counts = await purge(streams, config, now)
        except FAILURES as exc:
            if not failing:
                log.warning("retention: purge failed (%s); trying again in %.0f s", type(exc).__name__, retry_s)
            failing = True
            await asyncio.sleep(min(retry_s, every_s))
            continue
        failing = False
        log.info("%s", describe(streams, counts, config.privacy.retention_days, now))
        await asyncio.sleep(every_s)
