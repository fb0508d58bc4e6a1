"""What the simulated centre is asked to handle: calls per queue through the day, and how long each takes.

The forecast the roster staffs for and the arrivals the simulation draws come from the same
numbers here, so a day without incidents is a day the roster was made for.
"""

from __future__ import annotations

from wallboard.collectors.simulator.options import Options

#: Relative demand by local hour (1.0 = ``calls_per_hour``): quiet nights, peaks around 11:00 and 17:00.
PROFILE = (
    0.12,
    0.08,
    0.06,
    0.05,
    0.06,
    0.1,
    0.2,
    0.45,
    0.75,
    0.9,
    1.0,
    1.0,
    0.85,
    0.7,
    0.75,
    0.85,
    0.95,
    0.9,
    0.7,
    0.5,
    0.38,
    0.3,
    0.22,
    0.16,
)

#: Ringing before an answer, s (uniform): the agent is taken, the caller still waits.
RING_S = (2.0, 7.0)
#: A hold, when there is one, s (uniform).
HOLD_S = (15.0, 90.0)

DAY_S = 86_400
INTERVAL_S = 900
INTERVALS = DAY_S // INTERVAL_S


def profile(local_s: float) -> float:
    """Relative demand at ``local_s`` seconds after local midnight, linear between the hours."""
    local_hour = (local_s % DAY_S) / 3600.0
    h = int(local_hour)
    frac = local_hour - h
    return PROFILE[h] * (1 - frac) + PROFILE[(h + 1) % 24] * frac


def peak_per_hour(options: Options, queue: str) -> float:
    """The queue's calls per hour at a profile of 1.0."""
    return options.calls_per_hour.get(queue, options.default_calls_per_hour)


def forecast_per_s(options: Options, queue: str, interval: int) -> float:
    """Calls per second the roster expects in local interval ``interval`` (0 = 00:00–00:15), at its middle."""
    return peak_per_hour(options, queue) * profile((interval + 0.5) * INTERVAL_S) / 3600.0


def handle_time_s(options: Options) -> float:
    """Mean time an agent is taken by one call, s: ringing + talk + hold + wrap-up (the AHT to staff for).

    The simulation draws talk and wrap-up from lognormals whose means are ``talk_s`` and
    ``wrap_s`` (wrap-up at least 1 s), a hold with ``hold_probability``, and the ringing.
    """
    ring = (RING_S[0] + RING_S[1]) / 2
    hold = options.hold_probability * (HOLD_S[0] + HOLD_S[1]) / 2
    return ring + options.talk_s + hold + max(options.wrap_s, 1.0)
