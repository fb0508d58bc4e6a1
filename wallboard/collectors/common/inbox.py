"""A link's messages read by a task of their own, and waiting for a reply among them.

Reading runs ahead of handling, into a bounded queue, so the peer is never
left blocked on a collector waiting for Redis. The error that ends the link
(the peer closing, a socket error, framing lost) is the inbox's last item: the
messages that arrived before it are handled first, then it is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar

from wallboard.collectors.common.lines import ProtocolError

T = TypeVar("T")

INBOX_SIZE = 10_000


class _Ended:
    """The inbox's last item: what ended the link (wrapped, as a message may be an exception too)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class Inbox(Generic[T]):
    """Messages that ``read`` returns (``None``: nothing to hand on), handed out ``batch`` at a time.

    Use it as ``async with``: the reading task starts on entry and is stopped on exit.
    """

    def __init__(self, read: Callable[[], Awaitable[T | None]], *, batch: int = 1, size: int = INBOX_SIZE) -> None:
        self._read = read
        self._batch = batch
        self._queue: asyncio.Queue[T | _Ended] = asyncio.Queue(maxsize=size)
        self._task: asyncio.Task[None] | None = None
        self._failure: Exception | None = None

    async def __aenter__(self) -> Inbox[T]:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # never raises the task's CancelledError, so never hides ours

    async def _pump(self) -> None:
        try:
            while True:
                item = await self._read()
                if item is not None:
                    await self._queue.put(item)
        except Exception as exc:  # EOF or a socket error: the consumer ends the session with it
            await self._queue.put(_Ended(exc))

    def empty(self) -> bool:
        """Nothing has arrived that was not handed out yet."""
        return self._queue.empty()

    async def batch(self, timeout: float) -> list[T]:
        """The messages that have arrived (waiting up to ``timeout`` for the first); ``[]`` on timeout."""
        if self._failure is not None:
            raise self._failure
        try:
            item = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives as the item does, and the collector would never stop.
                async with asyncio.timeout(max(timeout, 0.0)):
                    item = await self._queue.get()
            except TimeoutError:
                return []
        out: list[T] = []
        while True:
            if isinstance(item, _Ended):
                if not out:
                    raise item.error
                self._failure = item.error  # the messages before it are handled first
                return out
            out.append(item)
            if len(out) >= self._batch or self._queue.empty():
                return out
            item = self._queue.get_nowait()


async def reply(
    inbox: Inbox[T], timeout: float, what: str, is_reply: Callable[[T], bool], keep: Callable[[T], None]
) -> T:
    """The reply to the request just sent: the first message ``is_reply`` takes within ``timeout``.

    Every other message on the way goes to ``keep``: the events among them are
    kept for later, and ``keep`` may raise for one that cannot come before the
    reply. :class:`ProtocolError` if no reply comes in time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    found: list[T] = []
    while (remaining := deadline - loop.time()) > 0:
        for item in await inbox.batch(remaining):
            if not found and is_reply(item):
                found.append(item)
            else:
                keep(item)
        if found:
            return found[0]
    raise ProtocolError(f"no reply to {what} within {timeout:g} s")
