"""The tile registry: every figure a screen can show, where it is in a view, and how it is drawn.

One table for every view (wall TV, TV-lite, team, manager): a tile is a metric over a
window. ``now`` is the instant (calls waiting, agents by state, the staffing gap); the
call figures are over a rolling window (``15``, ``30``, ``60`` … minutes, those in
``windows:``), the current ``interval`` or ``today``. The browser gets each tile resolved
(:func:`wallboard.layouts.board.wall_page`): its id, label, window, format and colour
thresholds; ``assets/tiles.js`` draws any of them with the same few lines.

Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Calls a rate or mean needs before it has a colour (screens) or an alert (the alert log).
MIN_CALLS = 5

NOW = "now"
INTERVAL = "interval"
TODAY = "today"


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure: where it is in a block of the view, how it reads, and how it is coloured."""

    id: str
    #: The label's key in :mod:`wallboard.layouts.i18n`.
    label: str
    #: Its key in a block (``today``, a window) or, for ``now`` figures, in the block itself;
    #: ``sl`` is an object (``{pct, numerator, denominator}``), ``agents.available`` a nested key.
    field: str
    #: ``count``, ``pct``, ``duration``, ``since`` (a time that ticks from ``oldest_since``),
    #: ``staffing`` (the gap: "3 faltan").
    fmt: str
    #: Its colour thresholds in the config (``thresholds:``), or "" for none.
    threshold: str = ""
    #: ``True``: an instant (window ``now`` only); ``False``: calls over a window.
    instant: bool = False
    #: Drawn big (the top row of a TV) unless a tile says otherwise.
    big: bool = True
    #: A service level: captioned with its block's formula and threshold (or "mixed"), and a
    #: gauge with the target when big.
    rules: bool = False
    #: The calls a rate or mean stands on (a field of the same block): under :data:`MIN_CALLS`
    #: it is shown but not coloured, flashed or logged (one abandon of two at 03:00 is no alert).
    basis: str = ""


METRICS: dict[str, Metric] = {
    m.id: m
    for m in (
        Metric("waiting", "waiting", "waiting", "count", "waiting", instant=True),
        Metric("longest_wait", "longest", "longest_wait_s", "since", "longest_wait_s", instant=True),
        Metric("service_level", "sl", "sl", "pct", "service_level_pct", rules=True, basis="sl.denominator"),
        Metric("abandon_rate", "abandon", "abandon_rate_pct", "pct", "abandon_rate_pct", basis="offered"),
        Metric("asa", "asa", "asa_s", "duration", "asa_s", basis="answered"),
        Metric("aht", "aht", "aht_s", "duration", "aht_s", basis="handled"),
        Metric("answered", "answered", "answered", "count", big=False),
        Metric("abandoned", "abandoned", "abandoned", "count", big=False),
        Metric("offered", "offered", "offered", "count", big=False),
        Metric("available", "available", "agents.available", "count", instant=True, big=False),
        Metric("on_call", "on_call", "agents.on_call+agents.on_hold+agents.ringing", "count", instant=True, big=False),
        Metric("wrap_up", "wrap_up", "agents.wrap_up", "count", instant=True, big=False),
        Metric("not_ready", "not_ready", "agents.not_ready", "count", instant=True, big=False),
        Metric("staffing", "staffing", "staffing", "staffing", instant=True, big=False),
    )
}


def window_error(metric: str, window: str, windows: tuple[int, ...] | list[int]) -> str | None:
    """What is wrong with showing ``metric`` over ``window`` (``None``: nothing)."""
    m = METRICS.get(metric)
    if m is None:
        return f"unknown metric {metric!r}; known: {', '.join(METRICS)}"
    if m.instant:
        return None if window == NOW else f"{metric} is an instant: its window is {NOW!r}, not {window!r}"
    if window in (INTERVAL, TODAY) or (window.isdigit() and int(window) in windows):
        return None
    known = ", ".join([*(str(w) for w in windows), INTERVAL, TODAY])
    return f"{metric} over {window!r}: the window must be one of {known} (rolling windows are those in windows:)"


def default_window(metric: str) -> str:
    return NOW if METRICS[metric].instant else TODAY


def wall_defaults(windows: tuple[int, ...] | list[int]) -> tuple[tuple[str, str], ...]:
    """A TV's tiles when its screen names none: what a supervisor acts on now, beside today.
    ``(metric, window)``; the rolling window is the shortest configured."""
    w = str(min(windows))  # (the config refuses an empty windows:)
    return (
        ("waiting", NOW),
        ("longest_wait", NOW),
        ("service_level", w),
        ("service_level", TODAY),
        ("abandon_rate", w),
        ("abandon_rate", TODAY),
        ("available", NOW),
        ("on_call", NOW),
        ("wrap_up", NOW),
        ("not_ready", NOW),
        ("staffing", NOW),
        ("answered", TODAY),
        ("abandoned", TODAY),
    )


def row_defaults(windows: tuple[int, ...] | list[int]) -> tuple[tuple[str, str], ...]:
    """The columns of a multi-queue screen's queue rows when it names none: each queue by its
    own rules, now and today."""
    w = str(min(windows))  # (the config refuses an empty windows:)
    return (
        ("waiting", NOW),
        ("longest_wait", NOW),
        ("service_level", w),
        ("service_level", TODAY),
        ("abandon_rate", TODAY),
        ("staffing", NOW),
    )


def tile_id(metric: str, window: str, queue: str = "") -> str:
    """The DOM id of a tile: ``wb-t-service_level-15``, ``wb-t-waiting-now-ventas``."""
    return "wb-t-" + "-".join(p for p in (metric, window, _safe(queue)) if p)


def row_id(queue: str) -> str:
    """The DOM id of a queue's row on a TV: ``wb-row-ventas``."""
    return "wb-row-" + _safe(queue)


def _safe(text: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in text)
