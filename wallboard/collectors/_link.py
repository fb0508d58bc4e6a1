"""What every TCP source shares: bounded line reading and a reconnecting session loop.

Asterisk AMI and the FreeSWITCH Event Socket are both text protocols of
``Key: Value`` lines over TCP. :class:`LineReader` reads their lines with a
hard size limit (a 10 MB line from a broken peer is skipped and reported, never
buffered whole), and :func:`keep_linked` keeps one session up: connect, run the
protocol, and on any failure mark the source down (logged once), back off with
capped jitter, and try again; the session marks the source up when it trusts
its data again (after login and resynchronisation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wallboard import retry

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

MAX_LINE = 64 * 1024
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


Session = Callable[[LineReader, asyncio.StreamWriter], Awaitable[None]]


async def keep_linked(
    ctx: CollectorContext[Any],
    host: str,
    port: int,
    session: Session,
    *,
    connect_timeout_s: float = 5.0,
    max_line: int = MAX_LINE,
) -> None:
    """Run ``session`` over a TCP connection to ``host:port`` for ever, reconnecting on failure.

    The session calls ``ctx.set_connected(True)`` once it trusts its data; any
    error it raises (or the peer closing) marks the source down, and the next
    attempt waits a capped, jittered backoff that restarts from the beginning
    after a connection that had been up.
    """
    ctx.health.connected = False  # not trusted until the first session says so
    attempt = 0
    while True:
        writer: asyncio.StreamWriter | None = None
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands
            # just as the connection completes, and the collector would never stop.
            async with asyncio.timeout(connect_timeout_s):
                reader, opened = await asyncio.open_connection(host, port)
            writer = opened
            await session(LineReader(reader, max_line), opened)
            error = "session ended"
        except asyncio.CancelledError:
            raise
        except (OSError, TimeoutError, ProtocolError, EOFError) as exc:
            if retry.being_cancelled():
                raise asyncio.CancelledError from exc
            error = f"{host}:{port}: {exc or type(exc).__name__}"
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()
        if ctx.health.connected:
            attempt = 0
        ctx.set_connected(False, error)
        await ctx.heartbeat(force=True)
        await asyncio.sleep(retry.backoff(attempt))
        attempt += 1


def shown(value: str) -> str:
    """A bad value for a rejection reason: quoted if short, else only its length.

    Reasons go to logs and /healthz; a value too short to be a phone number or a full name is safe
    to show, and shows what was wrong (``'x'``, ``'-5'``, ``'²'``).
    """
    return repr(value) if len(value) <= 8 else f"({len(value)} characters)"


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
