"""One queue_log line, ``epoch|callid|queue|agent|event|data…``: its fields, checked, and what a run of lines held.

Real files are dirty, so nothing here is fatal: a field that cannot be
understood raises :class:`QueueLogError`, which the translator counts in
:class:`QueueLogStats` with the line number and the reason. A reason never
quotes the line (it holds caller numbers and member names), and neither does
it quote a field: a shifted or hand-made line may hold a caller's number in
any of them.

Units: CONNECT/ABANDON/EXIT* waits and COMPLETE*/TRANSFER talk times are
seconds, whole as Asterisk writes them or decimal as tools that rewrite logs
write them (:func:`seconds`); RINGNOANSWER/RINGCANCELED ring times are
milliseconds (:func:`milliseconds`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from wallboard.collectors.common.limits import TS_MAX, TS_MIN
from wallboard.collectors.common.names import alias
from wallboard.wire import MAX_DURATION_S, MAX_TEXT

_MAX_ERRORS_KEPT = 50
_MAX_OPAQUE_NAMES = 100
_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_DECIMAL = re.compile(r"(-?)[0-9]+(?:\.[0-9]+)?")


class QueueLogError(ValueError):
    """A line that cannot be understood; the message says why."""


class BadLine(NamedTuple):
    """A malformed line: where and why, never its text (it holds caller numbers and member names)."""

    lineno: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.reason}"


@dataclass(slots=True)
class QueueLogStats:
    """What a run of lines contained."""

    lines: int = 0
    blank: int = 0
    events: int = 0
    malformed: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    #: Opaque event names (anything not an upper-case word is counted under one placeholder).
    ignored: Counter[str] = field(default_factory=Counter)
    #: Lines that logged again an entry or outcome already counted, by event name.
    repeated: Counter[str] = field(default_factory=Counter)
    errors: list[BadLine] = field(default_factory=list)

    last_error: str = ""

    def reject(self, lineno: int, reason: str) -> None:
        """Count a malformed line (the first few are kept, with where and why)."""
        self.malformed += 1
        bad = BadLine(lineno, reason)
        self.last_error = str(bad)
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(bad)

    def opaque(self, name: str) -> None:
        """Count a line whose event no board counts (``DID``, ``INFO``, a dialplan ``QueueLog()``)."""
        ignored = self.ignored
        if not _EVENT_NAME.fullmatch(name):  # the field of a shifted line: maybe a number or a name
            name = "(not an upper-case word)"
        elif name not in ignored and len(ignored) >= _MAX_OPAQUE_NAMES:
            name = "(other names)"
        ignored[name] += 1


def split(line: str) -> tuple[float, list[str]]:
    """The time and the fields of a line (``line`` without its newline, not blank)."""
    f = line.split("|")
    if len(f) < 5:
        raise QueueLogError(f"expected at least 5 '|'-separated fields, found {len(f)}")
    epoch_text = f[0]
    # Times are not quoted either: the first field of a cut line can be a caller number.
    if not (epoch_text.isascii() and epoch_text.isdigit()):  # isdigit alone takes '²'
        raise QueueLogError("time (field 1) is not whole epoch seconds")
    ts = float(epoch_text)
    # Asterisk's queue_log is younger than 2000: an earlier time is a PBX whose clock was wrong
    # (often reset to 1970) or not a time at all.
    if ts < TS_MIN:
        year = time.gmtime(ts).tm_year
        raise QueueLogError(
            f"time is in {year}, before 2000-01-01: the PBX clock was wrong when it "
            f"was written (or field 1 is not a time)"
        )
    if ts >= TS_MAX:
        raise QueueLogError("time is after 2100-01-01: field 1 is not epoch seconds")
    return ts, f


def epoch(line: str) -> float:
    """The time of a line, read cheaply (-1 if it has none: such a line goes with its neighbours)."""
    head = line[:12].partition("|")[0]
    return float(head) if head.isascii() and head.isdigit() else -1.0


def seconds(fields: list[str], index: int, name: str) -> float:
    """A duration field: whole seconds as Asterisk writes them, or decimal ("45.0", "12.5")."""
    return _duration(fields, index, name, "seconds", 1.0)


def milliseconds(fields: list[str], index: int, name: str) -> float:
    """A duration field in milliseconds (RINGNOANSWER, RINGCANCELED), as seconds."""
    return _duration(fields, index, name, "milliseconds", 1000.0) / 1000.0


def _duration(fields: list[str], index: int, name: str, unit: str, per_second: float) -> float:
    """A duration field in ``unit`` (``per_second`` of them make a second), checked."""
    try:
        text = fields[index]
    except IndexError:
        raise QueueLogError(f"{fields[4]}: missing data field {index - 4} ({name})") from None
    if text.isascii() and text.isdigit() and len(text) < 7:  # isdigit alone takes '²'; 6 digits: < 30 days
        return float(text)
    match = _DECIMAL.fullmatch(text)
    # The value is not quoted: a shifted or hand-made line may hold a caller number there.
    if match is None:
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is not a number of {unit}")
    if match.group(1):
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is negative")
    value = float(text)
    if value > MAX_DURATION_S * per_second:
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is over 30 days")
    return value


# queue, call id and member are on every line about a call: checked inline, as they are the hot path.


def queue_of(f: list[str]) -> str:
    """The queue of a line about a call or a membership."""
    value = f[2]
    if not value or value == "NONE":
        raise QueueLogError(f"{f[4]} without a queue")
    if len(value) > MAX_TEXT:
        raise QueueLogError(f"{f[4]}: queue name longer than {MAX_TEXT} characters")
    return value


def callid_of(f: list[str]) -> str:
    """The call id (Asterisk's uniqueid) of a line about a call."""
    value = f[1]
    if not value or value == "NONE":
        raise QueueLogError(f"{f[4]} without a call id")
    if len(value) > MAX_TEXT:
        raise QueueLogError(f"{f[4]}: call id longer than {MAX_TEXT} characters")
    return value


def agent_of(f: list[str], aliases: Mapping[str, str]) -> str:
    """The agent a line is about: its member (interface or name) through the configured aliases."""
    name = f[3]
    if not name or name == "NONE":
        raise QueueLogError(f"{f[4]} without a member")
    value = alias(aliases, name) or name
    if len(value) > MAX_TEXT:
        raise QueueLogError(f"{f[4]}: member name longer than {MAX_TEXT} characters")
    return value


def event_id(base: str, n: int) -> str:
    """Id of the n-th event made from one line (the line's own id for the first)."""
    return base if n == 0 else f"{base}.{n}"
