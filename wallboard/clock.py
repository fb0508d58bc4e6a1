"""Local time for a contact centre: when "today" starts, and interval boundaries.

Pure functions of POSIX seconds and a zone: no clock is read here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_OFFSET_BLOCK_S = 900  # every real UTC offset and DST switch falls on a quarter hour


def day_start_at(now: float, zone: ZoneInfo, start: time) -> float:
    """POSIX seconds of the most recent local ``start`` (e.g. 06:00) at or before ``now``.

    DST-correct: on a 23- or 25-hour day the local wall time is what counts. A
    start that does not exist on a spring-forward day maps to the instant after
    the gap (``fold=0`` semantics of :mod:`zoneinfo`).
    """
    local = datetime.fromtimestamp(now, zone)
    candidate = _local_instant(local.date(), start, zone)
    if candidate > now:
        candidate = _local_instant(local.date() - timedelta(days=1), start, zone)
    return candidate


def _local_instant(day: date, start: time, zone: ZoneInfo) -> float:
    naive = datetime.combine(day, start)
    aware = naive.replace(tzinfo=zone)
    # A wall time inside a spring-forward gap round-trips to a different wall time:
    # normalise through UTC so the result is a real instant.
    return aware.astimezone(timezone.utc).timestamp()


class LocalIntervals:
    """Floors POSIX seconds to the start of their local interval (15 min, 1 h, …).

    Offsets are cached per quarter hour, so flooring costs a dict look-up, not a
    zoneinfo call, on the hot path of the fold.
    """

    __slots__ = ("zone", "seconds", "_offsets", "_from", "_to", "_start", "_utc_aligned")

    def __init__(self, zone: ZoneInfo, seconds: int) -> None:
        self.zone = zone
        self.seconds = seconds
        self._offsets: dict[int, int] = {}
        # The last answer of floor() and the span of times it holds for.
        self._from, self._to, self._start = 0.0, 0.0, 0
        # Where the interval divides a quarter hour and the zone's offsets are whole
        # quarter hours (every zone since the 1980s), local floors are UTC floors.
        self._utc_aligned = _OFFSET_BLOCK_S % seconds == 0 and all(
            self.offset(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) % _OFFSET_BLOCK_S == 0
            for year in (2000, 2010, 2020, 2030) for month in (1, 7))

    def offset(self, ts: float) -> int:
        """UTC offset in seconds in force at ``ts``."""
        block = int(ts // _OFFSET_BLOCK_S)
        off = self._offsets.get(block)
        if off is None:
            delta = datetime.fromtimestamp(block * _OFFSET_BLOCK_S, self.zone).utcoffset()
            off = int(delta.total_seconds()) if delta is not None else 0
            if len(self._offsets) > 10_000:
                self._offsets.clear()
            self._offsets[block] = off
        return off

    def floor(self, ts: float) -> int:
        """Start (POSIX seconds) of the local interval containing ``ts``."""
        if self._utc_aligned:
            its = int(ts // 1)
            return its - its % self.seconds
        if self._from <= ts < self._to:
            return self._start
        its = int(ts // 1)
        start = its - (its + self.offset(its)) % self.seconds
        # Valid for the rest of this interval within this quarter hour (offset constant).
        block = its - its % _OFFSET_BLOCK_S
        self._from, self._to, self._start = max(start, block), min(start + self.seconds, block + _OFFSET_BLOCK_S), start
        return start

    def next(self, start: int) -> int:
        """Start of the interval after the one starting at ``start``."""
        return self.floor(start + self.seconds)

    def iso(self, ts: float) -> str:
        """Local ISO 8601 with offset, e.g. ``2026-03-29T03:00:00+02:00``."""
        return datetime.fromtimestamp(ts, self.zone).isoformat()


def utc_iso(ts: float) -> str:
    """UTC ISO 8601 with a ``Z``, millisecond precision."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
