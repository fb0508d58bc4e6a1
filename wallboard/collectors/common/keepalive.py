"""Following a link's live messages while keeping it alive: a ping, a deadline for its reply.

A peer that stops answering (a half-open TCP connection, a hung process)
sends nothing either, which from the collector's side looks like a quiet
afternoon. A ping every ``every_s``, answered within ``timeout_s``, tells the
two apart; an unanswered one drops the link, and :func:`.linked.keep_linked`
builds a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

from wallboard.collectors.common.inbox import Inbox
from wallboard.collectors.common.lines import ProtocolError

T = TypeVar("T")


class KeepAlive:
    """When the next ping goes out, and by when the one in flight must be answered (loop time)."""

    def __init__(self, every_s: float, timeout_s: float, what: str) -> None:
        self._loop = asyncio.get_running_loop()
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.what = what  # how the error names the ping: "Ping", "keep-alive 'api status'"
        self.next_ping = self._loop.time() + every_s
        self.deadline = 0.0
        #: What identifies the ping in flight (an AMI ActionID), None while none is.
        self.pending: str | None = None

    def sent(self, token: str, now: float) -> None:
        self.pending, self.deadline = token, now + self.timeout_s

    def answered(self) -> None:
        """The ping in flight was answered: the next goes out ``every_s`` from now."""
        self.pending, self.next_ping = None, self._loop.time() + self.every_s


async def follow(
    inbox: Inbox[T],
    keepalive: KeepAlive,
    ping: Callable[[], Awaitable[str]],
    handle: Callable[[list[T]], Awaitable[None]],
    next_due: Callable[[], float | None],
) -> NoReturn:
    """Hand the link's messages to ``handle`` for ever, pinging when due; :class:`ProtocolError` when unanswered.

    ``ping`` sends a keep-alive and returns what identifies it; ``handle`` gets
    each batch (``[]`` when only time passed: something may have fallen due) and
    calls :meth:`KeepAlive.answered` on the reply. ``next_due`` is the
    wall-clock time the translator next has something to decide, if any.
    """
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        if keepalive.pending is None and now >= keepalive.next_ping:
            keepalive.sent(await ping(), now)
        # Past the deadline, first handle what has already arrived (the reply may be queued
        # behind events a slow emit held up): only an empty inbox means no reply.
        overdue = keepalive.pending is not None and now >= keepalive.deadline
        wait = 0.0 if overdue else (keepalive.deadline if keepalive.pending is not None else keepalive.next_ping) - now
        due = next_due()
        if due is not None:
            wait = min(wait, due - time.time())
        batch = await inbox.batch(wait)
        if overdue and not batch:
            raise ProtocolError(f"no reply to {keepalive.what} within {keepalive.timeout_s:g} s")
        await handle(batch)
