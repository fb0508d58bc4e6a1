"""AMI on the wire: the banner, actions out, messages framed off the lines, and their fields read.

An AMI message is ``Key: Value`` lines ended by an empty line, carrying an
``Event`` (something happened) or a ``Response`` (to an action we sent, matched
by its ``ActionID``); which of the two it is, is said by its first key, and
only the empty line ends it. An event may carry a ``Response`` line of its own
(``OriginateResponse`` does): that is one of its fields, not a new message.
Asterisk writes every message whole, so the one line taken as the start of
a message that was cut short (counted, then read on) is one that can never be
inside a message: an ``Event`` line after the first, or a ``Response`` line in
anything but an event. Keys are case-folded here and a repeated key keeps its
first value. A malformed message is counted through ``reject`` and skipped;
the reason never quotes a line, which may hold a caller's number. The field
readers check a known event's fields against the limits events are held to
(:data:`wallboard.wire.MAX_TEXT`, :data:`wallboard.wire.MAX_DURATION_S`) and
raise :class:`AmiError` naming the field and what is wrong with it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping

from wallboard.collectors.common.fields import plausible, shown
from wallboard.collectors.common.lines import LineReader, LineTooLong, ProtocolError, parse_header
from wallboard.wire import MAX_DURATION_S, MAX_TEXT

BANNER_PREFIX = "Asterisk Call Manager/"

Message = Mapping[str, str]  # one AMI message: case-folded keys, first value of a repeated key
Item = tuple[float, dict[str, str]]  # (wall-clock arrival, message)


class AmiError(ValueError):
    """A known event that cannot be used; the message says which field and why."""


# ---------------------------------------------------------------- the link


async def banner(lines: LineReader, timeout: float) -> str:
    """The greeting line; ProtocolError unless it is Asterisk's."""
    try:
        async with asyncio.timeout(timeout):
            line = await lines.readline()
    except TimeoutError:
        raise ProtocolError(f"no banner within {timeout:g} s") from None
    except LineTooLong:
        raise ProtocolError("banner line too long: not an Asterisk manager") from None
    text = line.decode("utf-8", "replace").strip()
    if not text.startswith(BANNER_PREFIX):
        raise ProtocolError(f"not an Asterisk manager: banner {text[:80]!r}")
    return text


def action(name: str, action_id: str, **fields: str) -> bytes:
    """An action as AMI reads it: ``Action`` and ``ActionID`` first, then the fields, then an empty line."""
    lines = [f"Action: {name}", f"ActionID: {action_id}", *(f"{k}: {v}" for k, v in fields.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Framer:
    """AMI messages off a link's lines; a malformed one is counted through ``reject`` and skipped."""

    def __init__(self, lines: LineReader, reject: Callable[[str], None]) -> None:
        self._lines = lines
        self._reject = reject
        self._carry: tuple[str, str] | None = None  # first line of a message that began without a blank line

    async def read(self) -> Item | None:
        """The next message with the time it arrived; None if it was malformed."""
        message = await self.read_message()
        return None if message is None else (time.time(), message)

    async def read_message(self) -> dict[str, str] | None:
        """The next message; None (after counting it) if it was malformed."""
        fields: dict[str, str] = {}
        problem = ""
        first = ""  # the message's first key: event or response says what it is
        if self._carry is not None:
            first = self._carry[0]
            fields[first] = self._carry[1]
            self._carry = None
        while True:
            try:
                line = await self._lines.readline()
            except LineTooLong as exc:
                problem = problem or str(exc)
                continue
            if not line.strip():
                if fields or problem:
                    break
                continue
            try:
                key, value = parse_header(line)
            except ProtocolError as exc:
                problem = problem or str(exc)
                continue
            key = key.lower()
            if (fields or problem) and _starts_message(key, first):
                self._carry = (key, value)  # a new message began: the one before was cut short
                problem = problem or "message not ended by an empty line"
                break
            first = first or key
            fields.setdefault(key, value)
        if problem:
            name = fields.get("event") or fields.get("response") or "unnamed"
            self._reject(f"malformed AMI message ({name[:40]}) skipped: {problem}")
            return None
        if "event" not in fields and "response" not in fields:
            # (the count, not the keys: a garbled line's key may be anything, a caller's number too)
            self._reject(f"AMI message with neither Event nor Response skipped ({len(fields)} fields)")
            return None
        return fields


def _starts_message(key: str, first: str) -> bool:
    """Whether a line with ``key``, inside a message whose first key is ``first``, can only begin another."""
    return key == "event" or (key == "response" and first != "event")


def is_event(m: Message) -> bool:
    """An event (its first key was ``Event``), not a reply to an action, even if it has a ``Response`` field."""
    return "event" in m


def is_reply(m: Message) -> bool:
    """A reply to an action (its first key was ``Response``)."""
    return "response" in m and "event" not in m


def parse_message(text: str) -> dict[str, str]:
    """``Key: Value`` lines (``\\r\\n`` or ``\\n``) → a message with case-folded keys."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            key, value = parse_header(line.encode())
            out.setdefault(key.lower(), value)
    return out


# ---------------------------------------------------------------- fields


def text(m: Message, key: str, *, required: bool = True) -> str:
    """A text field, at most :data:`~wallboard.wire.MAX_TEXT` characters; ``""`` when absent and not required."""
    value = m.get(key.lower(), "")
    if not value:
        if required:
            raise AmiError(f"missing {key}")
        return ""
    if len(value) > MAX_TEXT:
        raise AmiError(f"{key} longer than {MAX_TEXT} characters")
    return value


def seconds(m: Message, key: str, *, required: bool = True) -> float | None:
    """A duration in seconds, 0 to 30 days; None when absent and not required."""
    raw = m.get(key.lower(), "")
    if not raw:
        if required:
            raise AmiError(f"missing {key}")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise AmiError(f"{key} is not a number: {shown(raw)}") from None
    if not math.isfinite(value) or not 0.0 <= value <= MAX_DURATION_S:
        raise AmiError(f"{key} out of range: {shown(raw)}")
    return value


def wait(m: Message, key: str) -> float:
    """A required duration in seconds."""
    value = seconds(m, key)
    assert value is not None
    return value


def flag(m: Message, key: str, *, required: bool = False) -> bool | None:
    """A ``0``/``1`` field; None when absent and not required."""
    raw = m.get(key.lower(), "")
    if not raw:
        if required:
            raise AmiError(f"missing {key}")
        return None
    if raw not in ("0", "1"):
        raise AmiError(f"{key} is not 0 or 1: {shown(raw)}")
    return raw == "1"


def device(m: Message) -> int | None:
    """The device state ``Status`` (0-8), None when absent."""
    raw = m.get("status", "")
    if not raw:
        return None
    if len(raw) != 1 or raw not in "012345678":  # (str.isdigit also takes '²', which int() refuses)
        raise AmiError(f"Status is not a device state 0-8: {shown(raw)}")
    return int(raw)


def event_time(m: Message, received: float) -> float:
    """``Timestamp`` (``timestampevents = yes``) when present and plausible, else the arrival time."""
    raw = m.get("timestamp")
    if raw:
        try:
            ts = float(raw)
        except ValueError:
            return received
        if plausible(ts):
            return ts
    return received
