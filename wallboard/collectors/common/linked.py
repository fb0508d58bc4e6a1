"""Keeping one TCP session to a source up for ever: connect, run the protocol, back off, again.

On any failure the source is marked down (logged once by the collector
context), the next attempt waits a capped, jittered backoff, and the session
marks the source up itself once it trusts its data again (after login and
resynchronisation).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wallboard import retry
from wallboard.collectors.common.limits import MAX_LINE
from wallboard.collectors.common.lines import LineReader, ProtocolError

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

#: One connection's protocol, run until it fails (it never returns while the link is good).
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
