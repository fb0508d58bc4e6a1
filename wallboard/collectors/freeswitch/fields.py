"""Reading mod_callcenter's values: queue names, epoch times, durations, whole numbers.

mod_callcenter stamps events in epoch microseconds (``Event-Date-Timestamp``)
and its ``CC-*-Time`` headers and table columns in epoch seconds. Each reader
checks a value against the limits events are held to and raises
:class:`CallcenterError` naming the header or column and what is wrong, never
quoting a value long enough to be personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from wallboard.collectors.common.fields import plausible, shown
from wallboard.wire import MAX_DURATION_S, MAX_TEXT

_MICROS = re.compile(r"[0-9]{1,19}")  # epoch microseconds: 16 digits until 2286
_EPOCH = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")
_WHOLE = re.compile(r"-?[0-9]{1,15}")


class CallcenterError(ValueError):
    """An event or table row that cannot be understood; the message says why."""


def queue_name(raw: str) -> str:
    """``ventas@default`` → ``ventas``."""
    return raw.split("@", 1)[0]


def text(value: str | None, name: str) -> str:
    """A required text, at most :data:`~wallboard.wire.MAX_TEXT` characters."""
    if not value:
        raise CallcenterError(f"{name} is missing")
    if len(value) > MAX_TEXT:
        raise CallcenterError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def stamp(value: str) -> float:
    """``Event-Date-Timestamp`` (epoch microseconds) in epoch seconds."""
    # (a regex, not str.isdigit, which takes '²'; and bounded, as a 400-digit int overflows a float)
    if not _MICROS.fullmatch(value) or not plausible(int(value) / 1e6):
        raise CallcenterError(f"Event-Date-Timestamp is not epoch microseconds: {shown(value)}")
    return int(value) / 1e6


def epoch(value: str | None, name: str) -> float:
    """Epoch seconds from a header or column; CallcenterError naming it otherwise."""
    if value is None or value == "":
        raise CallcenterError(f"{name} is missing")
    if not _EPOCH.fullmatch(value) or not plausible(float(value)):
        raise CallcenterError(f"{name} is not epoch seconds: {shown(value)}")
    return float(value)


def epoch_or(h: Mapping[str, str], name: str, default: float) -> float:
    """An optional epoch header: ``default`` when absent, CallcenterError when not epoch seconds."""
    return epoch(h[name], name) if h.get(name) else default


def duration(start: float, end: float, name: str) -> float:
    """Seconds from ``start`` to ``end``, at most 30 days."""
    seconds = max(0.0, end - start)  # whole-second stamps of one clock: never really negative
    if seconds > MAX_DURATION_S:
        raise CallcenterError(f"{name} of {seconds:.0f} s is longer than 30 days")
    return seconds


def epoch_column(value: str | None, name: str) -> int:
    """A table's optional epoch column: 0 when empty or 0, else whole epoch seconds (CallcenterError if not)."""
    number = whole(value, name)
    if number != 0 and not plausible(number):  # it becomes an event's time
        raise CallcenterError(f"{name} is not epoch seconds: {number}")
    return number


def whole(value: str | None, name: str) -> int:
    """A whole number column, 0 when empty."""
    if not value:
        return 0
    if not _WHOLE.fullmatch(value):
        raise CallcenterError(f"{name} is not a whole number: {shown(value)}")
    return int(value)
