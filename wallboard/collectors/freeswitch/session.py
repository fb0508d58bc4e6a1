"""One Event Socket connection: authenticate, subscribe, resynchronise, then follow events and keep alive.

Expect ``auth/request``, answer ``auth``, subscribe with ``event plain CUSTOM
callcenter::info``, then resynchronise from ``api callcenter_config`` (``queue
list``, ``queue list members <queue>`` for each, ``agent list``) before marking
the source up. Events arriving during the resync are kept and applied after
the snapshot. ``api status`` is sent every ``keepalive_s``; no reply within
``timeout_s`` drops the link, and
:func:`~wallboard.collectors.common.linked.keep_linked` builds a new one.
The waiting calls are saved in the durable cursor after each batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from wallboard.collectors.common.inbox import Inbox, reply
from wallboard.collectors.common.keepalive import KeepAlive, follow
from wallboard.collectors.common.lines import LineReader, ProtocolError
from wallboard.collectors.freeswitch.fields import CallcenterError
from wallboard.collectors.freeswitch.protocol import (
    BadMessage,
    Message,
    parse_event,
    parse_table,
    read_message,
    reply_line,
)
from wallboard.collectors.freeswitch.translator import CallcenterTranslator
from wallboard.events import Event

if TYPE_CHECKING:
    from wallboard.collectors.freeswitch.options import Options
    from wallboard.collectors.runtime import CollectorContext

SUBSCRIBE = "event plain CUSTOM callcenter::info"
Item = Message | BadMessage
#: Replies that cannot come while another is awaited: the session is out of step with FreeSWITCH.
_OUT_OF_STEP = ("command/reply", "api/response", "auth/request", "text/disconnect-notice", "text/rude-rejection")


class Collector:
    """What outlives one connection: the translator and the last saved cursor."""

    def __init__(self, ctx: CollectorContext[Options]) -> None:
        self.ctx = ctx
        self.translator = CallcenterTranslator(ctx.source, ctx.config.agent_aliases(), ctx.config.pause_reason_codes())
        self.saved: list[list[Any]] = []

    async def start(self) -> None:
        cursor = await self.ctx.load_cursor()
        self.translator.restore(cursor.get("waiting") or [])
        self.saved = self.translator.waiting()

    async def emit(self, events: list[Event]) -> None:
        if events:
            await self.ctx.emit(events)
        waiting = self.translator.waiting()
        if waiting != self.saved:
            try:
                await self.ctx.save_cursor({"waiting": waiting})
                self.saved = waiting
            except (RedisError, OSError) as exc:  # kept for the next batch; emit() reports Redis outages
                self.ctx.log.warning("could not save the waiting calls: %s", exc)

    async def session(self, reader: LineReader, writer: asyncio.StreamWriter) -> None:
        """The protocol of every connection, for :func:`~wallboard.collectors.common.linked.keep_linked`."""
        async with Inbox[Item](_reader(reader)) as inbox:
            await _Session(self, inbox, writer).run()


def _reader(lines: LineReader) -> Callable[[], Awaitable[Item]]:
    async def read() -> Item:
        try:
            return await read_message(lines)
        except BadMessage as exc:  # skipped: the session counts it, in order with the rest
            return exc

    return read


class _Session:
    """One connection: handshake, resync, then events and keep-alives until something breaks."""

    def __init__(self, owner: Collector, inbox: Inbox[Item], writer: asyncio.StreamWriter) -> None:
        self.owner = owner
        self.ctx = owner.ctx
        self.options = owner.ctx.options
        self.translator = owner.translator
        self.inbox = inbox
        self.writer = writer
        self.buffered: list[dict[str, str]] = []

    async def run(self) -> None:
        await self._handshake()
        await self._resync()
        keepalive = KeepAlive(self.options.keepalive_s, self.options.timeout_s, "keep-alive 'api status'")

        async def ping() -> str:
            await self._send("api status")
            return "api status"

        async def handle(batch: list[Item]) -> None:
            for item in batch:
                await self._handle(item, keepalive)
            expired = self.translator.expire(time.time())
            if expired:
                await self.owner.emit(expired)

        await follow(self.inbox, keepalive, ping, handle, self.translator.next_due)

    async def _send(self, command: str) -> None:
        self.writer.write(command.encode() + b"\n\n")
        await self.writer.drain()

    async def _reply(self, content_type: str, what: str) -> Message:
        """The reply to the command just sent, buffering events that come first."""

        def is_reply(item: Item) -> bool:
            return isinstance(item, Message) and item.content_type == content_type

        def keep(item: Item) -> None:
            if isinstance(item, BadMessage):
                self.ctx.reject(str(item))
                return
            ct = item.content_type
            if ct == "text/event-plain":
                try:
                    self.buffered.append(parse_event(item.body))
                except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                    self.ctx.reject(f"event: {exc}")
            elif ct in _OUT_OF_STEP:
                detail = item.headers.get("Reply-Text") or reply_line(item.body)
                raise ProtocolError(f"expected {content_type} to {what}, got {ct}: {detail[:120]!r}")

        found = await reply(self.inbox, self.options.timeout_s, what, is_reply, keep)
        assert isinstance(found, Message)
        return found

    async def _handshake(self) -> None:
        batch = await self.inbox.batch(self.options.timeout_s)
        if not batch:
            raise ProtocolError(f"no auth/request within {self.options.timeout_s:g} s of connecting")
        first = batch[0]
        if isinstance(first, BadMessage):
            raise ProtocolError(f"expected auth/request on connect, got {first}")
        if first.content_type != "auth/request":  # e.g. text/rude-rejection: "Access Denied, go away."
            body = first.body[:80].decode("utf-8", "replace")
            raise ProtocolError(f"expected auth/request on connect, got {first.content_type!r} {body!r}")
        await self._send(f"auth {self.options.password}")
        text = (await self._reply("command/reply", "auth")).headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise ProtocolError(f"auth refused by FreeSWITCH: {text[:80] or 'no Reply-Text'}")
        await self._send(SUBSCRIBE)
        text = (await self._reply("command/reply", "the event subscription")).headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise ProtocolError(f"event subscription refused: {text[:80] or 'no Reply-Text'}")

    async def _api(self, command: str, required: Iterable[str], free_text: str = "") -> list[dict[str, str]]:
        await self._send(f"api {command}")
        answer = await self._reply("api/response", f"'api {command}'")
        rows, errors = parse_table(answer.body.decode("utf-8", "replace"), command, required, free_text)
        for error in errors:
            self.ctx.reject(error)
        return rows

    async def _resync(self) -> None:
        queues = await self._api("callcenter_config queue list", ["name"])
        members: list[dict[str, str]] = []
        for q in queues:
            name = q["name"]
            if not name or any(ch.isspace() for ch in name):
                self.ctx.reject(f"queue list: unusable queue name {name[:60]!r}")
                continue
            members += await self._api(
                f"callcenter_config queue list members {name}", ["queue", "uuid", "joined_epoch", "state"], "cid_name"
            )
        agents = await self._api("callcenter_config agent list", ["name", "status", "state"], "contact")
        events, errors = self.translator.resync(members, agents, time.time(), self.buffered)
        self.buffered = []
        for error in errors:
            self.ctx.reject(error)
        await self.owner.emit(events)
        self.ctx.set_connected(True)
        await self.ctx.heartbeat(force=True)
        self.ctx.log.info("resynchronised: %d queues, %d members, %d agents", len(queues), len(members), len(agents))

    async def _handle(self, item: Item, keepalive: KeepAlive) -> None:
        if isinstance(item, BadMessage):
            self.ctx.reject(str(item))
            return
        ct = item.content_type
        if ct == "text/event-plain":
            try:
                events = self.translator.feed(parse_event(item.body))
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                self.ctx.reject(f"event: {exc}")
                return
            if events:
                await self.owner.emit(events)
        elif ct == "api/response":
            keepalive.answered()
        elif ct in ("text/disconnect-notice", "text/rude-rejection"):
            raise ProtocolError(f"FreeSWITCH closed the session: {item.body[:120].decode('utf-8', 'replace')!r}")
        elif ct == "auth/request":
            raise ProtocolError("FreeSWITCH asked to authenticate again in the middle of a session")
        # command/reply, log/data and the like carry nothing for the board
