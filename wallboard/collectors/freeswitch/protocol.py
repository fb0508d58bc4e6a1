"""The Event Socket on the wire: framing messages, decoding event bodies, reading ``api`` tables.

A message is ``Name: value`` header lines ended by an empty line, then a body
of ``Content-Length`` bytes if it says so; an event (``text/event-plain``)
carries its own URL-encoded headers in that body. A malformed message is
skipped as a :class:`BadMessage` for the session to count, and the stream stays
positioned after it; only where that is impossible (a bad ``Content-Length``
outside an event) is the framing lost, and the link rebuilt. Lines are at most
64 KiB (:data:`~wallboard.collectors.common.limits.MAX_LINE`) and bodies 4 MiB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from wallboard.collectors.common.fields import shown
from wallboard.collectors.common.lines import LineReader, LineTooLong, ProtocolError, parse_header
from wallboard.collectors.freeswitch.fields import CallcenterError

MAX_BODY = 4 * 1024 * 1024
_LENGTH = re.compile(r"[0-9]{1,12}")


@dataclass(slots=True)
class Message:
    """One Event Socket message: its headers and (Content-Length) body."""

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class BadMessage(Exception):
    """A message that was skipped; the stream is positioned after it."""


async def read_message(reader: LineReader) -> Message:
    """The next message; :class:`BadMessage` after skipping a malformed one, ProtocolError if framing is lost."""
    headers: dict[str, str] = {}
    problem = ""
    while True:
        try:
            line = await reader.readline()
        except LineTooLong as exc:
            problem = problem or str(exc)
            continue
        if not line:
            if headers or problem:
                break
            continue  # blank lines between messages
        try:
            key, value = parse_header(line)
        except ProtocolError as exc:
            problem = problem or f"garbage where headers belong ({exc})"
            continue
        headers[key] = value
    body = b""
    length = headers.get("Content-Length")
    if length is not None:
        if not _LENGTH.fullmatch(length):
            if headers.get("Content-Type") != "text/event-plain":
                raise ProtocolError(f"bad Content-Length {shown(length)}: message framing lost")
            await _skip_block(reader)  # an event body ends with a blank line
            raise BadMessage(f"bad Content-Length {shown(length)}; the event was skipped")
        n = int(length)
        if n > MAX_BODY:
            while n > 0:  # skip without keeping it
                n -= len(await reader.readexactly(min(n, 65536)))
            raise BadMessage(f"a body of {length} bytes is over the {MAX_BODY}-byte limit; skipped")
        body = await reader.readexactly(n)
    if problem:
        raise BadMessage(problem)
    if "Content-Type" not in headers:
        raise BadMessage(f"a message without Content-Type ({len(headers)} headers)")
    return Message(headers, body)


async def _skip_block(reader: LineReader) -> None:
    while True:
        try:
            if not await reader.readline():
                return
        except LineTooLong:
            continue


def parse_event(body: bytes) -> dict[str, str]:
    """Headers of a ``text/event-plain`` body, URL-decoded; CallcenterError if it is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallcenterError("event body is not UTF-8 text") from None
    head, sep, _ = text.partition("\n\n")
    if not sep:
        raise CallcenterError(f"truncated event body: no blank line after its headers ({len(body)} bytes)")
    headers: dict[str, str] = {}
    for n, line in enumerate(head.split("\n"), 1):
        key, sep, value = line.rstrip("\r").partition(": ")
        if not sep or not key or key != key.strip():  # (never quoted: it may hold a caller's number)
            raise CallcenterError(f"event line {n} is not 'Name: value' ({len(line)} characters)")
        headers[key] = unquote(value)
    return headers


def reply_line(body: bytes) -> str:
    """The ``+OK``/``-ERR`` line of a reply body, else only its size: a body may be a table of agents."""
    first = body.decode("utf-8", "replace").strip().split("\n", 1)[0]
    return first if first.startswith(("+OK", "-ERR", "-USAGE")) else f"a body of {len(body)} bytes"


def parse_table(
    body: str, what: str, required: Iterable[str], free_text: str = ""
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of a ``callcenter_config … list`` answer (``|``-separated, header line first, ``+OK`` last).

    ``free_text`` names the one column that may itself contain ``|``: extra
    fields are joined back into it. Returns the rows and the reasons of rows
    skipped; ProtocolError if the answer is not a table or lacks a required column.
    """
    lines = [line.rstrip("\r") for line in body.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[-1].strip() != "+OK":
        first = lines[0] if lines else ""
        raise ProtocolError(f"'{what}' did not answer a table: {first[:120]!r}")
    rows = [line for line in lines[:-1] if line]
    if not rows:
        return [], []
    header = rows[0].split("|")
    missing = [c for c in required if c not in header]
    if missing:
        raise ProtocolError(f"'{what}' has no column {', '.join(missing)} (columns: {'|'.join(header)[:200]})")
    out: list[dict[str, str]] = []
    errors: list[str] = []
    for line in rows[1:]:
        fields = line.split("|")
        extra = len(fields) - len(header)
        if extra > 0 and free_text in header:
            i = header.index(free_text)
            fields[i : i + extra + 1] = ["|".join(fields[i : i + extra + 1])]
        if len(fields) != len(header):
            # (the row itself is not quoted: it holds callers' numbers and names, agents' names)
            errors.append(f"{what}: a row of {len(fields)} fields under {len(header)} columns skipped")
            continue
        out.append({k: "" if v == "(null)" else v for k, v in zip(header, fields)})
    return out, errors
