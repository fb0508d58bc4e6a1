"""Local time for a contact centre: when "today" starts, and interval boundaries.

Pure functions of POSIX seconds and a zone: no clock is read here.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
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
    return aware.astimezone(UTC).timestamp()


class LocalIntervals:
    """Floors POSIX seconds to the start of their local interval (15 min, 1 h, 1 day, …).

    Up to an hour, intervals follow the local clock (a quarter hour starts at :00,
    :15, …; the two 02:00 hours of a fall-back night are two intervals). Longer
    intervals tile each local day from ``day_start`` by wall-clock time, so a
    daily interval runs from one local ``day_start`` to the next (23 or 25 hours
    on DST days) and a 3-hour one from 00:00, 03:00, … local. A boundary that
    falls in a spring-forward gap is the instant after the gap, as for
    :func:`day_start_at`.

    Offsets are cached per quarter hour, so flooring costs a dict look-up, not a
    zoneinfo call, on the hot path of the fold.
    """

    __slots__ = ("zone", "seconds", "day_start", "_offsets", "_from", "_to", "_start", "_utc_aligned", "_days")

    def __init__(self, zone: ZoneInfo, seconds: int, day_start: time = time(0)) -> None:
        if seconds <= 0 or (seconds > 3600 and (seconds > 86_400 or 86_400 % seconds)):
            raise ValueError(f"an interval longer than an hour must divide a day into whole intervals, got {seconds} s")
        self.zone = zone
        self.seconds = seconds
        self.day_start = day_start
        self._offsets: dict[int, int] = {}
        # The last answer of floor(), the span of times it holds for ([_from, _to)).
        self._from, self._to, self._start = 0.0, 0.0, 0
        self._days: dict[int, tuple[int, ...]] = {}  # day start -> its interval starts and the next day's
        # Where the interval divides a quarter hour and the zone's offsets are whole
        # quarter hours (every zone since the 1980s), local floors are UTC floors.
        self._utc_aligned = _OFFSET_BLOCK_S % seconds == 0 and all(
            self.offset(datetime(year, month, 1, tzinfo=UTC).timestamp()) % _OFFSET_BLOCK_S == 0
            for year in (2000, 2010, 2020, 2030)
            for month in (1, 7)
        )

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
        if self.seconds > 3600:
            return self._floor_in_day(ts)
        its = int(ts // 1)
        start = its - (its + self.offset(its)) % self.seconds
        # Valid for the rest of this interval within this quarter hour (offset constant).
        block = its - its % _OFFSET_BLOCK_S
        self._from, self._to, self._start = max(start, block), min(start + self.seconds, block + _OFFSET_BLOCK_S), start
        return start

    def _floor_in_day(self, ts: float) -> int:
        # Not start - (start + offset) % seconds: a day or a 3-hour interval spans offset
        # changes, and each event's own offset would put it into a different interval.
        day = int(day_start_at(ts, self.zone, self.day_start))
        starts = self._days.get(day)
        if starts is None:
            starts = self._day_starts(day)
        i = bisect_right(starts, ts) - 1
        self._from, self._to, self._start = starts[i], starts[i + 1], starts[i]
        return starts[i]

    def _day_starts(self, day: int) -> tuple[int, ...]:
        """Interval starts of the local day starting at ``day``, and the next day's start."""
        local_day = datetime.fromtimestamp(day, self.zone).date()
        first = datetime.combine(local_day, self.day_start)
        starts = [day]
        for k in range(1, 86_400 // self.seconds):
            wall = first + timedelta(seconds=k * self.seconds)
            starts.append(int(_local_instant(wall.date(), wall.time(), self.zone)))
        starts.append(int(_local_instant(local_day + timedelta(days=1), self.day_start, self.zone)))
        if len(self._days) > 1_000:
            self._days.clear()
        self._days[day] = result = tuple(starts)
        return result

    def next(self, start: int) -> int:
        """Start of the interval after the one starting at ``start``."""
        if self.seconds > 3600 and not self._utc_aligned:
            self.floor(start)
            return int(self._to)
        return self.floor(start + self.seconds)

    def iso(self, ts: float) -> str:
        """Local ISO 8601 with offset, e.g. ``2026-03-29T03:00:00+02:00``."""
        return datetime.fromtimestamp(ts, self.zone).isoformat()


def utc_iso(ts: float) -> str:
    """UTC ISO 8601 with a ``Z``, millisecond precision."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
