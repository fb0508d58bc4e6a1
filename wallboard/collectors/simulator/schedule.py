"""Shifts that cover a team's wanted agents per interval, and pauses put where they hurt least.

Plain list algorithms over the local day's 15-minute intervals (a shift is (start interval,
length in intervals); the day repeats, so a shift running past midnight covers the morning):

- :func:`fit`: round the clock from the quietest interval on, every interval still short
  starts shifts until it is covered; a shift is full length if the roster is still short in
  at least half of it, else three quarters or half of it (part-time). With fewer agents
  than shifts, what is wanted is scaled down evenly (every interval short alike) until the
  shifts fit, never cut off at the end of the day.
- :func:`place`: a pause (:class:`~.shifts.PauseSlot`) starts at the interval of its window
  that leaves the most agents on the phones above what is needed there, so breaks and
  lunches of agents who start together do not fall together.
"""

from __future__ import annotations

import math

from wallboard.collectors.simulator.demand import INTERVAL_S, INTERVALS
from wallboard.collectors.simulator.shifts import Pause, PauseSlot

#: A shift is kept at full length only if the roster is still short in this share of its intervals.
USEFUL = 0.5

Plan = list[tuple[int, int]]


def lengths(shift_hours: float) -> tuple[int, ...]:
    """Shift lengths in intervals, longest first: full, three quarters, half (at least an hour)."""
    full = max(1, round(shift_hours * 3600 / INTERVAL_S))
    shortest = min(full, 4)
    return tuple(sorted({full, max(shortest, round(full * 0.75)), max(shortest, full // 2)}, reverse=True))


def cover(plan: Plan) -> list[int]:
    """Agents on shift per interval of the repeating day."""
    out = [0] * INTERVALS
    for start, length in plan:
        for j in range(start, start + length):
            out[j % INTERVALS] += 1
    return out


def fit(want: list[int], agents: int, sizes: tuple[int, ...]) -> Plan:
    """Shifts covering ``want`` agents per interval, at most ``agents`` of them (see the module)."""
    plan = _greedy(want, sizes)
    scale = 1.0
    while len(plan) > agents:
        scale *= min(0.97, agents / len(plan))
        plan = _greedy([math.ceil(w * scale - 1e-9) for w in want], sizes)
    return plan


def _greedy(want: list[int], sizes: tuple[int, ...]) -> Plan:
    n = len(want)
    first = min(range(n), key=lambda i: (want[i], i))
    have = [0] * n
    plan: Plan = []
    for k in range(n):
        i = (first + k) % n
        while have[i] < want[i]:
            length = sizes[-1]
            for size in sizes:
                short = sum(1 for j in range(i, i + size) if have[j % n] < want[j % n])
                if short >= USEFUL * size:
                    length = size
                    break
            plan.append((i, length))
            for j in range(i, i + length):
                have[j % n] += 1
    return plan


def best_shift(want: list[int], length: int) -> tuple[int, int]:
    """The shift of ``length`` intervals that covers the most of ``want`` (the earliest of equals)."""
    n = len(want)
    start = max(range(n), key=lambda i: (sum(want[j % n] for j in range(i, i + length)), -i))
    return start, length


def place(slot: PauseSlot, start: int, length: int, on: list[float], goal: list[int]) -> Pause:
    """Put a pause of a shift (``start``, ``length`` in intervals) where it leaves the most agents on
    the phones (``on``) above ``goal``, and take it off ``on`` there."""
    first = start + math.ceil(slot.earliest * length)
    last = max(first, start + math.floor(slot.latest * length))
    best: tuple[float, float, int] | None = None
    for c in range(first, last + 1):
        spans = _spans(c, slot.seconds)
        worst = min(on[j] - f - goal[j] for j, f in spans)
        total = sum(on[j] - f - goal[j] for j, f in spans)
        if best is None or (worst, total) > best[:2]:
            best = (worst, total, c)
    assert best is not None  # (the window has at least its first interval)
    for j, f in _spans(best[2], slot.seconds):
        on[j] -= f
    return Pause(slot.reason, slot.seconds, (best[2] - start) * INTERVAL_S)


def _spans(first: int, seconds: float) -> list[tuple[int, float]]:
    """The intervals a pause from interval ``first`` takes, with the share of each."""
    out = []
    left = seconds / INTERVAL_S
    j = first
    while left > 1e-9:
        share = min(1.0, left)
        out.append((j % INTERVALS, share))
        left -= share
        j += 1
    return out
