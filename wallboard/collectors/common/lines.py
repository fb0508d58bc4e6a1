"""Reading a TCP source's lines with a hard size limit, and the errors of a link.

A 10 MB line from a broken peer is skipped and reported, never buffered whole.
:func:`parse_header` splits one ``Key: Value`` line without ever quoting it in
its error (a garbled line may hold a caller's number).
"""

from __future__ import annotations

import asyncio

from wallboard.collectors.common.limits import MAX_LINE

_CHUNK = 64 * 1024


class ProtocolError(Exception):
    """The peer broke the protocol (bad banner, refused login, garbage where a reply belongs)."""


class LineTooLong(ValueError):
    """A line longer than the limit was skipped; the reader is positioned after it."""


class LinkClosed(ConnectionError):
    """The peer closed the connection (``partial``: bytes of an unfinished line, if any)."""

    def __init__(self, partial: bytes = b"") -> None:
        super().__init__(
            "connection closed by peer" + (f" in the middle of a line ({len(partial)} bytes)" if partial else "")
        )
        self.partial = partial


class LineReader:
    """Lines of a stream (``\\n`` or ``\\r\\n``), each at most ``max_line`` bytes."""

    def __init__(self, reader: asyncio.StreamReader, max_line: int = MAX_LINE) -> None:
        self._reader = reader
        self._max = max_line
        self._buf = bytearray()

    async def _fill(self) -> None:
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            raise LinkClosed(bytes(self._buf))
        self._buf += chunk

    async def readline(self) -> bytes:
        """The next line without its terminator; :class:`LineTooLong` after skipping an oversized one."""
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0:
                if i > self._max:
                    del self._buf[: i + 1]
                    raise LineTooLong(f"line longer than {self._max} bytes skipped")
                line = bytes(self._buf[:i])
                del self._buf[: i + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buf) > self._max:
                skipped = len(self._buf)
                self._buf.clear()
                while True:  # drop the rest of the line without keeping it
                    await self._fill()
                    j = self._buf.find(b"\n")
                    if j >= 0:
                        skipped += j
                        del self._buf[: j + 1]
                        raise LineTooLong(f"line of {skipped} bytes skipped (limit {self._max})")
                    skipped += len(self._buf)
                    self._buf.clear()
            start = len(self._buf)
            await self._fill()

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes (a body announced by a ``Content-Length``)."""
        while len(self._buf) < n:
            await self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data


def parse_header(line: bytes) -> tuple[str, str]:
    """``Key: Value`` → (key, value); :class:`ProtocolError` saying what is wrong otherwise.

    The error never quotes the line: a garbled line may hold a caller's number or an agent's name,
    and the reason ends up in logs and on /healthz.
    """
    text = line.decode("utf-8", "replace")
    key, sep, value = text.partition(":")
    if not sep or not key or key != key.strip():
        what = "no ':'" if not sep else "nothing before the ':'" if not key else "space around the key"
        raise ProtocolError(f"not a 'Key: Value' line ({what}; {len(line)} bytes)")
    return key, value.strip()
