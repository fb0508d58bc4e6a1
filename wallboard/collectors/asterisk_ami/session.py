"""One AMI connection: log in, list ``QueueStatus``, resynchronise, then follow events and keep alive.

The collector logs in with ``Events: on``, asks ``QueueStatus`` and only after
the whole list has arrived resynchronises and marks the source up; live events
that arrive before (during the login, during the list) are kept and applied
after it. ``Ping`` every ``ping_s``; no reply within ``timeout_s`` drops the
link, and :func:`~wallboard.collectors.common.linked.keep_linked` starts again.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from wallboard.collectors.asterisk_ami.calls import OUTCOME_EVENTS
from wallboard.collectors.asterisk_ami.protocol import Framer, Item, action, banner, is_event, is_reply
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.common.inbox import Inbox, reply
from wallboard.collectors.common.keepalive import KeepAlive, follow
from wallboard.collectors.common.lines import LineReader, ProtocolError
from wallboard.events import Event

if TYPE_CHECKING:
    from wallboard.collectors.asterisk_ami.options import Options
    from wallboard.collectors.runtime import CollectorContext

_BATCH = 500  # messages handled (and emitted) together at most


class Session:
    """The protocol of every connection, for :func:`~wallboard.collectors.common.linked.keep_linked`."""

    def __init__(self, ctx: CollectorContext[Options], translator: AmiTranslator) -> None:
        self._ctx = ctx
        self._options = ctx.options
        self._translator = translator
        self._said = ""  # the last warning about missing read classes that was logged

    async def __call__(self, lines: LineReader, writer: asyncio.StreamWriter) -> None:
        greeting = await banner(lines, self._options.timeout_s)
        async with Inbox(Framer(lines, self._ctx.reject).read, batch=_BATCH) as inbox:
            link = _Link(inbox, writer)
            kept: list[Item] = []  # live events that arrive before the resync, applied after it
            await self._login(link, kept)
            listed_at, items = await self._queue_status(link, kept)
            await self._resync(listed_at, items, kept, greeting)
            keepalive = KeepAlive(self._options.ping_s, self._options.timeout_s, "Ping")

            async def handle(batch: list[Item]) -> None:
                await self._handle(batch, keepalive)

            await follow(inbox, keepalive, lambda: link.send("Ping"), handle, self._translator.next_due)

    async def _reply(self, link: _Link, action_id: str, what: str, kept: list[Item]) -> dict[str, str]:
        def answers(item: Item) -> bool:
            return is_reply(item[1]) and item[1].get("actionid", action_id) == action_id

        def keep(item: Item) -> None:
            if is_event(item[1]):
                kept.append(item)

        return (await reply(link.inbox, self._options.timeout_s, what, answers, keep))[1]

    async def _login(self, link: _Link, kept: list[Item]) -> None:
        o = self._options
        action_id = await link.send("Login", Username=o.username, Secret=o.secret, Events="on")
        answer = await self._reply(link, action_id, "Login", kept)
        if answer["response"].lower() != "success":
            raise ProtocolError(f"login refused for user {o.username!r}: {answer.get('message') or answer['response']}")
        self._translator.new_session()

    async def _queue_status(self, link: _Link, kept: list[Item]) -> tuple[float, list[dict[str, str]]]:
        """When the QueueStatus list began, and its rows; live events that arrive meanwhile go to ``kept``."""
        timeout = self._options.timeout_s
        listed_at = time.time()
        action_id = await link.send("QueueStatus")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        items: list[dict[str, str]] = []
        while (remaining := deadline - loop.time()) > 0:
            batch = await link.inbox.batch(remaining)
            for i, (received, message) in enumerate(batch):
                if message.get("actionid") != action_id:
                    if is_event(message):
                        kept.append((received, message))
                    continue
                deadline = loop.time() + timeout  # the list is progressing
                if is_reply(message):
                    if message["response"].lower() != "success":
                        raise ProtocolError(f"QueueStatus refused: {message.get('message') or message['response']}")
                    listed_at = received
                elif message.get("event", "").lower() == "queuestatuscomplete":
                    announced = message.get("listitems", "")
                    if announced.isascii() and announced.isdigit() and int(announced) != len(items):
                        self._ctx.log.warning(
                            "QueueStatus announced %s items, %d usable arrived", announced, len(items)
                        )
                    kept.extend(item for item in batch[i + 1 :] if is_event(item[1]))
                    return listed_at, items
                else:
                    items.append(message)
        raise ProtocolError(f"QueueStatus list not complete within {timeout:g} s")

    async def _resync(
        self, listed_at: float, items: Sequence[dict[str, str]], kept: Sequence[Item], greeting: str
    ) -> None:
        tr = self._translator
        settled = {m.get("uniqueid", "") for _, m in kept if m.get("event", "").lower() in OUTCOME_EVENTS}
        # The list tells the state when it began: live events kept meanwhile are newer and apply on top.
        events = tr.resync(items, listed_at, settled)
        for received, message in kept:
            events.extend(tr.feed(message, received))
        events.extend(tr.expire(time.time()))
        await self._ctx.emit(events)
        self._ctx.set_connected(True)
        self._judge_classes()
        await self._ctx.heartbeat(force=True)
        await self._save()
        self._ctx.log.info(
            "%s: resynchronised, %d calls waiting, %d members", greeting, len(tr.waiting()), len(tr.members())
        )

    async def _handle(self, batch: list[Item], keepalive: KeepAlive) -> None:
        """Live messages: events translated and emitted, the Pong noted; then what fell due."""
        tr = self._translator
        late = tr.stats.late_connects
        events: list[Event] = []
        for received, message in batch:
            if is_reply(message):
                if keepalive.pending is not None and message.get("actionid") == keepalive.pending:
                    keepalive.answered()
                continue
            events.extend(tr.feed(message, received))
        events.extend(tr.expire(time.time()))
        if events:
            await self._ctx.emit(events)
        if tr.stats.late_connects > late:
            self._ctx.log.warning(
                "AgentConnect arrived after its call was counted as an exit with key; raise outcome_grace_s (now %g s)",
                self._options.outcome_grace_s,
            )
        self._judge_classes()
        await self._save()

    def _judge_classes(self) -> None:
        """Say in the log (once) and in the health when the session lacks event classes the collector needs."""
        verdict = self._translator.classes.verdict()
        if verdict is None:
            return
        text = f"manager user {self._options.username[:40]!r} {verdict}"
        self._ctx.health.last_error = text[:300]
        if text != self._said:
            self._said = text
            self._ctx.log.warning("%s", text)

    async def _save(self) -> None:
        """Keep the calls believed waiting and the memberships in the durable cursor, after every change."""
        tr = self._translator
        if not tr.dirty:
            return
        try:
            await self._ctx.save_cursor(tr.snapshot())
        except (RedisError, OSError) as exc:  # emit() reports Redis trouble; the next save catches up
            self._ctx.log.debug("cursor not saved: %s", exc)
            return
        tr.dirty = False


class _Link:
    """Actions out (each with an ActionID of its own), messages in through the inbox."""

    def __init__(self, inbox: Inbox[Item], writer: asyncio.StreamWriter) -> None:
        self.inbox = inbox
        self._writer = writer
        self._ids = itertools.count(1)

    async def send(self, name: str, **fields: str) -> str:
        """Send an action; returns its ActionID."""
        action_id = f"wallboard-{next(self._ids)}"
        self._writer.write(action(name, action_id, **fields))
        await self._writer.drain()
        return action_id
