"""KPI formulas over raw counters: service level (six variants), abandon rates, ASA, AHT, occupancy.

Notation: T = service-level threshold, Ts = short-abandon threshold, A =
answered, A≤T = answered with wait ≤ T, Ab = abandoned (the caller hung up),
U = what Asterisk's app_queue counts as abandoned (Ab and the exits in
:data:`ASTERISK_ABANDON_EXITS`), Off = offered. Every function returns ``None``
where its denominator is empty: screens show "—", never 0 % or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, get_args

from wallboard.counters import AgentCounters, QueueCounters
from wallboard.events import AgentState

#: The service-level formulas (see :func:`service_level`); a queue's ``sl_formula`` names one.
SLFormula = Literal["answered", "asterisk_sl2", "sl2_hangups", "offered", "excl_short_abandons", "abandons_after_T"]
SL_FORMULAS: tuple[str, ...] = get_args(SLFormula)

#: Exit reasons app_queue counts as abandoned besides hang-ups: it calls ``record_abandoned()``
#: on a timeout, a leave-when-empty and a withdraw, never on an exit with a key. ``other`` is
#: here too: from Asterisk it comes only after a ``QueueCallerAbandon`` (which app_queue sends
#: from ``record_abandoned()`` alone) when the caller's channel joins a queue again.
ASTERISK_ABANDON_EXITS: tuple[str, ...] = ("timeout", "empty", "withdraw", "other")


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return None if denominator <= 0 else scale * numerator / denominator


def asterisk_abandoned(c: QueueCounters) -> tuple[int, int]:
    """(U, U≤T): the calls app_queue counts as abandoned (its ``Abandoned``), and those with wait ≤ T."""
    u, u_t = c.abandoned, c.abandoned_within_sl
    for reason in ASTERISK_ABANDON_EXITS:
        u += c.exits.get(reason, 0)
        u_t += c.exits_within_sl.get(reason, 0)
    return u, u_t


def sl_parts(c: QueueCounters, formula: str) -> tuple[int, int]:
    """The service level's numerator and denominator by ``formula`` (calls, not percent).

    - ``answered``: A≤T / A (Asterisk ServicelevelPerf, VICIdial)
    - ``asterisk_sl2``: (A≤T + U≤T) / (A + U) (Asterisk ServicelevelPerf2)
    - ``sl2_hangups``: (A≤T + Ab≤T) / (A + Ab), hang-ups only (Amazon Connect style)
    - ``offered``: A≤T / (A + Ab) (ICMI formula 3)
    - ``excl_short_abandons``: A≤T / (A + Ab − Ab≤Ts)
    - ``abandons_after_T``: A≤T / (A + Ab>T) (ICMI formula 4)
    """
    a, ab, a_t = c.answered, c.abandoned, c.answered_within_sl
    if formula == "answered":
        return a_t, a
    if formula == "asterisk_sl2":
        u, u_t = asterisk_abandoned(c)
        return a_t + u_t, a + u
    if formula == "sl2_hangups":
        return a_t + c.abandoned_within_sl, a + ab
    if formula == "offered":
        return a_t, a + ab
    if formula == "excl_short_abandons":
        return a_t, a + ab - c.short_abandoned
    if formula == "abandons_after_T":
        return a_t, a + ab - c.abandoned_within_sl
    raise ValueError(f"unknown service-level formula {formula!r}")


def service_level(c: QueueCounters, formula: str) -> float | None:
    """Service level in percent by ``formula`` (:func:`sl_parts`); ``None`` on an empty denominator."""
    return _ratio(*sl_parts(c, formula), 100.0)


def combined_service_level(parts: Iterable[tuple[QueueCounters, str]]) -> dict[str, Any]:
    """The service level of several queues together, each under its own formula (and the threshold
    its counters were counted with): the sum of their numerators over the sum of their denominators.
    ``{"pct", "numerator", "denominator"}``; ``pct`` is ``None`` when no queue has a denominator."""
    num = den = 0
    for counters, formula in parts:
        n, d = sl_parts(counters, formula)
        num, den = num + n, den + d
    return {"pct": _round(_ratio(num, den, 100.0)), "numerator": num, "denominator": den}


def service_levels(c: QueueCounters) -> dict[str, float | None]:
    """All six service-level variants at once."""
    return {name: service_level(c, name) for name in SL_FORMULAS}


def abandon_rate(c: QueueCounters) -> float | None:
    """Ab / Off, in percent."""
    return _ratio(c.abandoned, c.offered, 100.0)


def abandon_rate_excl_short(c: QueueCounters) -> float | None:
    """(Ab − Ab≤Ts) / (Off − Ab≤Ts), in percent: short abandons removed from both."""
    return _ratio(c.abandoned - c.short_abandoned, c.offered - c.short_abandoned, 100.0)


def asa(c: QueueCounters) -> float | None:
    """Average speed of answer: mean wait of answered calls, seconds."""
    return _ratio(c.answer_wait_sum, c.answered)


def avg_abandon_wait(c: QueueCounters) -> float | None:
    """Mean wait of abandoned calls, seconds."""
    return _ratio(c.abandon_wait_sum, c.abandoned)


def aht(handled: int, talk: float, hold: float, wrap: float) -> float | None:
    """Average handle time: (talk + hold + wrap-up) / calls ended in the window, seconds."""
    return _ratio(talk + hold + wrap, handled)


def occupancy(a: AgentCounters) -> float | None:
    """(talk + wrap) / (talk + wrap + available), in percent; talk includes hold.

    Ringing counts in neither term: the agent is neither idle nor handling.
    """
    s = a.state_s
    busy = s.get(AgentState.ON_CALL, 0.0) + s.get(AgentState.ON_HOLD, 0.0) + s.get(AgentState.WRAP_UP, 0.0)
    return _ratio(busy, busy + s.get(AgentState.AVAILABLE, 0.0), 100.0)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def queue_kpis(c: QueueCounters) -> dict[str, Any]:
    """The raw counters and every KPI derived from them, JSON-ready."""
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "short_abandoned": c.short_abandoned,
        "other_exits": c.other_exits,
        "exits": dict(sorted(c.exits.items())),
        "answered_within_sl": c.answered_within_sl,
        "abandoned_within_sl": c.abandoned_within_sl,
        "exits_within_sl": dict(sorted(c.exits_within_sl.items())),
        "handled": c.handled,
        "transferred": c.transferred,
        "asa_s": _round(asa(c)),
        "avg_abandon_wait_s": _round(avg_abandon_wait(c)),
        "max_wait_s": _round(c.max_wait) if c.offered else None,
        "aht_s": _round(aht(c.handled, c.talk_sum, c.hold_sum, c.wrap_sum)),
        "abandon_rate_pct": _round(abandon_rate(c)),
        "abandon_rate_excl_short_pct": _round(abandon_rate_excl_short(c)),
        "service_level_pct": {k: _round(v) for k, v in service_levels(c).items()},
    }


def interval_kpis(c: QueueCounters) -> dict[str, Any]:
    """The compact row of a trend chart: volumes, SL variants, ASA, AHT."""
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "other_exits": c.other_exits,
        "asa_s": _round(asa(c), 1),
        "aht_s": _round(aht(c.handled, c.talk_sum, c.hold_sum, c.wrap_sum), 1),
        "service_level_pct": {k: _round(v, 1) for k, v in service_levels(c).items()},
    }


def agent_kpis(a: AgentCounters) -> dict[str, Any]:
    """Per-agent or per-team work figures, JSON-ready."""
    return {
        "answered": a.answered,
        "handled": a.handled,
        "transferred": a.transferred,
        "asa_s": _round(_ratio(a.answer_wait_sum, a.answered)),
        "aht_s": _round(aht(a.handled, a.talk_sum, a.hold_sum, a.wrap_sum)),
        "occupancy_pct": _round(occupancy(a)),
        "paused_s": round(a.state_s.get(AgentState.NOT_READY, 0.0), 1),
        "pause_by_reason_s": {k: round(v, 1) for k, v in sorted(a.pause_s.items())},
        "state_s": {k: round(v, 1) for k, v in sorted(a.state_s.items())},
    }
