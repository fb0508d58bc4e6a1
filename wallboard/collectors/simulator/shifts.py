"""One agent's shift: when the agent logs in, and the pauses that take ``shrinkage`` of it off the phones.

The roster staffs for agents on the phones ``1 − shrinkage`` of their shift; what takes the
rest is sized here (the roster places each pause inside its window), so the two agree:

- **late log-ins**: most agents log in within two minutes before to half a minute after the
  shift starts, a quarter 2–8 minutes late, one in twenty 10–20 minutes late
  (:data:`LATE_MEAN_S` ≈ 1.5 minutes on average);
- **breaks** of 15 minutes, two in a shift of 6 hours or more (one in the first and one in
  the last third of it), one in a shorter one (in its middle half);
- **lunch**, 30 minutes in the middle fifth of a shift of 6 hours or more;
- the rest of the shrinkage in one **training or coaching** session in the middle half of
  the shift (if it comes to 10 minutes or more; less is added to the breaks).

When the shrinkage is smaller than the late log-ins, breaks and lunch, the breaks and lunch
are shortened in proportion (``shrinkage: 0``: no pauses at all). In the simulation each pause
starts within 5 minutes of its planned time, once the agent is free (a call is finished
first), and lasts its planned time ±10 %.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BREAK_S = 900.0
LUNCH_S = 1800.0
#: Shifts at least this long have lunch and two breaks.
LONG_SHIFT_S = 6 * 3600.0
#: Late log-ins: (share of agents, earliest, latest offset from the shift start, s).
LATE = ((0.70, -120.0, 30.0), (0.25, 120.0, 480.0), (0.05, 600.0, 1200.0))
LATE_MEAN_S = sum(share * (lo + hi) / 2 for share, lo, hi in LATE)
#: How far a pause may start from its planned time, s, and how much its length varies.
START_JITTER_S = 300.0
LENGTH_JITTER = 0.10
_SESSION_MIN_S = 600.0


@dataclass(frozen=True, slots=True)
class Pause:
    """A pause of a shift: ``reason``, ``seconds`` long, starting ``at_s`` after the shift's planned start."""

    reason: str
    seconds: float
    at_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PauseSlot:
    """A pause to place: its reason and length, and the window (fractions of the shift) it must start in."""

    reason: str
    seconds: float
    earliest: float
    latest: float


def late_by(rng: random.Random) -> float:
    """Seconds after the shift's start at which the agent logs in (negative: early)."""
    r = rng.random()
    for share, lo, hi in LATE:
        if r < share:
            return rng.uniform(lo, hi)
        r -= share
    return rng.uniform(LATE[-1][1], LATE[-1][2])


def pause_slots(length_s: float, shrinkage: float, session_reason: str = "training") -> list[PauseSlot]:
    """The pauses of a shift ``length_s`` long, taking ``shrinkage`` of it with the late log-in (see module)."""
    long = length_s >= LONG_SHIFT_S
    windows = [(0.2, 0.33), (0.67, 0.8)] if long else [(0.25, 0.75)]
    breaks = BREAK_S * len(windows)
    lunch = LUNCH_S if long else 0.0
    budget = shrinkage * length_s - LATE_MEAN_S
    session = budget - breaks - lunch
    if session < 0:
        scale = max(0.0, budget) / (breaks + lunch)
        breaks, lunch, session = breaks * scale, lunch * scale, 0.0
    elif session < _SESSION_MIN_S:
        breaks, session = breaks + session, 0.0
    slots = [PauseSlot("break", breaks / len(windows), lo, hi) for lo, hi in windows]
    if lunch > 0:
        slots.append(PauseSlot("lunch", lunch, 0.4, 0.6))
    if session > 0:
        slots.append(PauseSlot(session_reason, session, 0.25, 0.75))
    return [s for s in slots if s.seconds > 0]


def as_taken(pause: Pause, rng: random.Random) -> Pause:
    """The pause as an agent takes it: within :data:`START_JITTER_S` of its time, its length ±10 %."""
    at = max(0.0, pause.at_s + rng.uniform(-START_JITTER_S, START_JITTER_S))
    return Pause(pause.reason, pause.seconds * rng.uniform(1 - LENGTH_JITTER, 1 + LENGTH_JITTER), at)
