"""The alert log: the watched figures' crossings into alert and back out, read off snapshots.

Pure: takes a view built by :func:`wallboard.snapshot.build_view`, the config's thresholds and
the figures held in alert so far; returns the crossings. No clock (the view's ``now`` is the
time), no I/O. The aggregator keeps the log in Redis and in every snapshot (``alerts``).

**Watched**, per queue and for the centre: ``waiting`` and ``longest_wait_s`` (window
``"now"``); ``service_level_pct`` (the block's ``sl.pct``) and ``abandon_rate_pct`` for
``"today"`` and for the shortest rolling window (``"15"``); ``asa_s`` for ``"today"``.

**Level** exactly as the screens colour it (``level()`` in ``assets/tiles.js``):
higher_is_worse, value ≥ alert → alert, ≥ warn → warn, else ok; lower_is_worse the same with ≤;
no value → no level. Thresholds are the queue's (``Config.threshold(metric, queue)``), the
centre's those without a queue.

**Too little data**: a ratio or mean over fewer than :data:`MIN_CALLS` (5) calls of its own window
has no level — service level over its denominator, abandonment over offered calls, ASA over
answered calls. Waiting and longest wait are facts of now and always count (the longest wait has
no value while nobody waits).

**Hysteresis**: a figure that reaches alert is logged at once (``"alert"``) unless it is already
held in alert. It is logged ``"cleared"`` only once it has stayed out of alert (warn, ok or no
level) for :data:`CLEAR_AFTER_S` (60 s) in a row, with the time and value of that moment; a return
to alert within those 60 s is no new crossing, and the next exit starts the 60 s again. So a figure
hovering at its threshold gives at most one ``alert`` and one ``cleared`` a minute.

**At start** the figures held in alert are those whose newest stored entry is ``"alert"``
(:meth:`AlertLog.restore`); a figure in alert at the first snapshot that the stored log does not
hold in alert is logged once, at that snapshot's time (it crossed while no aggregator watched, or
before the log began); one held in alert that is no longer is cleared 60 s later, as ever.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from wallboard.config import Config, Threshold
from wallboard.tiles import MIN_CALLS

#: Fewer calls than this in a figure's own window: the ratio or mean has no level.
#: Seconds a figure must stay out of alert before it is logged "cleared".
CLEAR_AFTER_S = 60.0
#: Crossings a snapshot carries (newest first).
LOG_SIZE = 50
#: The longest stored entry read back (ours are ~150 characters).
MAX_ENTRY_CHARS = 1_000


class Scope(StrEnum):
    QUEUE = "queue"
    CENTRE = "centre"


class Change(StrEnum):
    ALERT = "alert"
    CLEARED = "cleared"


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALERT = "alert"


METRICS = ("waiting", "longest_wait_s", "service_level_pct", "abandon_rate_pct", "asa_s")
CENTRE_ID = "centre"


class Key(NamedTuple):
    """One watched figure: whose, which metric, over which window (``now``, ``today``, minutes)."""

    scope: Scope
    id: str
    metric: str
    window: str


@dataclass(frozen=True, slots=True)
class Figure:
    key: Key
    value: float | None  # None: no value, or too few calls to mean anything


@dataclass(frozen=True, slots=True)
class Held:
    """A figure held in alert; ``out_since``: when it left alert (None while it is in alert)."""

    out_since: float | None = None


@dataclass(frozen=True, slots=True)
class Crossing:
    """One entry of the log: a figure entering alert, or cleared of it."""

    at: float
    key: Key
    change: Change
    value: float | None  # None only in a "cleared": the figure has no value (nobody waiting, few calls)
    alert: float  # the alert threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "scope": self.key.scope.value,
            "id": self.key.id,
            "metric": self.key.metric,
            "window": self.key.window,
            "level": self.change.value,
            "value": self.value,
            "alert": self.alert,
        }


def level(value: float | None, threshold: Threshold) -> Level | None:
    """The screens' colour of ``value``: alert, warn or ok by the threshold's direction; None without a value."""
    if value is None:
        return None
    if threshold.direction == "higher_is_worse":
        return Level.ALERT if value >= threshold.alert else Level.WARN if value >= threshold.warn else Level.OK
    return Level.ALERT if value <= threshold.alert else Level.WARN if value <= threshold.warn else Level.OK


def _enough(value: float | None, calls: int) -> float | None:
    return value if calls >= MIN_CALLS else None


def _block_figures(scope: Scope, block_id: str, block: Mapping[str, Any], window: str | None) -> Iterator[Figure]:
    def figure(metric: str, over: str, value: float | None) -> Figure:
        return Figure(Key(scope, block_id, metric, over), value)

    today = block["today"]
    yield figure("waiting", "now", block["waiting"])
    yield figure("longest_wait_s", "now", block["longest_wait_s"])
    yield figure("service_level_pct", "today", _enough(today["sl"]["pct"], today["sl"]["denominator"]))
    recent: Mapping[str, Any] = block["windows"][window] if window is not None else {}
    if window is not None:
        yield figure("service_level_pct", window, _enough(recent["sl"]["pct"], recent["sl"]["denominator"]))
    yield figure("abandon_rate_pct", "today", _enough(today["abandon_rate_pct"], today["offered"]))
    if window is not None:
        yield figure("abandon_rate_pct", window, _enough(recent["abandon_rate_pct"], recent["offered"]))
    yield figure("asa_s", "today", _enough(today["asa_s"], today["answered"]))


def figures(view: Mapping[str, Any]) -> Iterator[Figure]:
    """The watched figures of a view: each queue's (in the view's order), then the centre's."""
    windows = view.get("windows") or []
    window = str(min(windows)) if windows else None
    for qid, block in view["queues"].items():
        yield from _block_figures(Scope.QUEUE, qid, block, window)
    yield from _block_figures(Scope.CENTRE, CENTRE_ID, view["centre"], window)


def crossings(
    view: Mapping[str, Any], config: Config, held: Mapping[Key, Held]
) -> tuple[list[Crossing], dict[Key, Held]]:
    """The crossings at the view's ``now`` given the figures ``held`` in alert before it, and the
    figures held in alert after it (only figures of this view: one gone from the config is dropped)."""
    now = float(view["now"])
    found: list[Crossing] = []
    after: dict[Key, Held] = {}
    thresholds: dict[tuple[str, str | None], Threshold] = {}
    for fig in figures(view):
        key = fig.key
        owner = None if key.scope is Scope.CENTRE else key.id
        th = thresholds.get((key.metric, owner))
        if th is None:
            th = thresholds[(key.metric, owner)] = config.threshold(key.metric, owner)
        was = held.get(key)
        if level(fig.value, th) is Level.ALERT:
            if was is None:
                found.append(Crossing(now, key, Change.ALERT, fig.value, th.alert))
            after[key] = Held()
        elif was is not None:
            out_since = now if was.out_since is None else was.out_since
            if now - out_since >= CLEAR_AFTER_S:
                found.append(Crossing(now, key, Change.CLEARED, fig.value, th.alert))
            else:
                after[key] = Held(out_since)
    return found, after


def _number(entry: Mapping[str, Any], name: str) -> float:
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"alert entry: field {name!r} must be a number, got {value!r:.40}")
    return value


def _text(entry: Mapping[str, Any], name: str, allowed: Iterable[str] | None = None) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValueError(f"alert entry: field {name!r} must be a non-empty string, got {value!r:.40}")
    if allowed is not None and value not in allowed:
        raise ValueError(f"alert entry: field {name!r} must be one of {', '.join(allowed)}, got {value!r:.40}")
    return value


def parse_entry(raw: str) -> Crossing:
    """A stored entry (JSON of :meth:`Crossing.as_dict`) back; ValueError says what is wrong."""
    if len(raw) > MAX_ENTRY_CHARS:
        raise ValueError(f"alert entry: {len(raw)} characters, more than {MAX_ENTRY_CHARS}")
    try:
        entry = json.loads(raw)
    except ValueError:
        raise ValueError("alert entry: not JSON") from None
    if not isinstance(entry, dict):
        raise ValueError("alert entry: not a JSON object")
    change = Change(_text(entry, "level", [c.value for c in Change]))
    key = Key(
        Scope(_text(entry, "scope", [s.value for s in Scope])),
        _text(entry, "id"),
        _text(entry, "metric", METRICS),
        _text(entry, "window"),
    )
    if key.window not in ("now", "today") and not (key.window.isdigit() and key.window.isascii()):
        raise ValueError(f"alert entry: field 'window' must be now, today or minutes, got {key.window!r:.40}")
    # Only a "cleared" may have no value (the figure had none when it was cleared).
    value = None if change is Change.CLEARED and entry.get("value") is None else _number(entry, "value")
    return Crossing(_number(entry, "at"), key, change, value, _number(entry, "alert"))


class AlertLog:
    """The newest crossings (newest first, at most ``size``) and the figures held in alert."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        self.entries: deque[Crossing] = deque(maxlen=size)
        self.held: dict[Key, Held] = {}

    def restore(self, stored: Iterable[Crossing]) -> None:
        """Start from a stored log (newest first): its newest entries, and as held in alert each
        figure whose newest entry is an ``alert``."""
        self.entries.clear()
        self.held = {}
        decided: set[Key] = set()
        for crossing in stored:
            if len(self.entries) < (self.entries.maxlen or 0):
                self.entries.append(crossing)
            if crossing.key not in decided:
                decided.add(crossing.key)
                if crossing.change is Change.ALERT:
                    self.held[crossing.key] = Held()

    def observe(self, view: Mapping[str, Any], config: Config) -> list[Crossing]:
        """Log the view's crossings; returns them in the order of the view's figures (a
        snapshot's crossings stand in that order at the head of the log)."""
        found, self.held = crossings(view, config, self.held)
        self.entries.extendleft(reversed(found))
        return found

    def as_list(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.entries]
