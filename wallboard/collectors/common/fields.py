"""Value checks both translators use: for a rejection reason, for a time, for a cursor read back.

A rejection reason goes to logs and /healthz, so a bad value is shown only
when it is too short to be personal data. A cursor comes back from Redis as
JSON that a previous version, a bug or a hand may have made: every value is
checked before it is believed.
"""

from __future__ import annotations

from wallboard.collectors.common.limits import TS_MAX, TS_MIN
from wallboard.wire import MAX_TEXT


def shown(value: str) -> str:
    """A bad value for a rejection reason: quoted if short, else only its length.

    A value too short to be a phone number or a full name is safe to show, and
    shows what was wrong (``'x'``, ``'-5'``, ``'²'``).
    """
    return repr(value) if len(value) <= 8 else f"({len(value)} characters)"


def plausible(ts: float) -> bool:
    """An epoch time within the range events are checked against."""
    return TS_MIN <= ts < TS_MAX


def stored_text(value: object, *, required: bool = True) -> bool:
    """A name read back from the cursor is usable in an event (text, at most 256 characters, non-empty if required)."""
    return isinstance(value, str) and (bool(value) or not required) and len(value) <= MAX_TEXT


def stored_number(value: object, low: float, high: float) -> float | None:
    """A number read back from the cursor (JSON), or None if it is not one in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and not low <= value <= high:  # (a huge int would overflow float())
        return None
    number = float(value)
    return number if low <= number <= high else None


def stored_time(value: object) -> float | None:
    """A time read back from the cursor, or None if it is not a number within ±the plausible range."""
    return stored_number(value, -TS_MAX, TS_MAX)
