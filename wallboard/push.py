"""How a message reaches a screen's socket: one pre-encoded frame written to every transport.

The hub encodes each message once per (view, base seq). Sending it through
ASGI would then cost, per screen, a message dict, the server's frame encoder
and an awaited ``send``, which is most of the web process's time with
thousands of screens. A server-to-client WebSocket frame is not masked, so the
same bytes are valid on every connection: :class:`PushProtocol` (uvicorn's own
WebSocket protocol plus one scope extension) lets the hub write them straight
to each transport. ASGI still does the handshake, the subscribe message and
the close.

A :class:`Sink` is where the hub writes for one screen. It is *ready* while
the transport takes more; when its buffer passes the high-water mark it is
not, and the hub keeps only that screen's newest snapshot until the sink calls
back (``on_ready``). Any other ASGI server gets :class:`AsgiSink`: the same
contract over ``websocket.send``, one message in flight at a time.

:class:`PushProtocol` also tells an :class:`Observer` (the web process's
connection guard) when a connection ends and when it closed one for a frame no
screen sends: text that is not UTF-8 (1007, where uvicorn's own protocol logs
a traceback), a message over ``ws_max_size`` (1009), a broken frame (1002).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from typing import Any, Protocol

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

EXTENSION = "wallboard.push"


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) carrying ``payload`` (UTF-8)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


class Message:
    """A message as text (for ASGI) and as a ready-made frame (for a transport)."""

    __slots__ = ("text", "frame", "size")

    def __init__(self, text: str) -> None:
        data = text.encode()
        self.text = text
        self.frame = text_frame(data)
        self.size = len(data)


class Observer(Protocol):
    def closed(self, transport: asyncio.BaseTransport) -> None:
        """The connection on ``transport`` is gone."""

    def frame_refused(self, code: int, reason: str) -> None:
        """The connection was closed with ``code`` for a frame no screen sends."""


#: Why the protocol closed a connection, by close code (RFC 6455 §7.4.1).
_FRAME_REASONS = {1002: "broken frame", 1007: "text is not UTF-8", 1009: "message too large"}


class Sink(Protocol):
    on_ready: Callable[[], None] | None

    def ready(self) -> bool:
        """Whether a write now goes out without queueing behind earlier ones."""

    def write(self, message: Message) -> None:
        """Send ``message``; only called when :meth:`ready`."""

    def close(self) -> None:
        """The screen is gone: drop anything unsent."""


class TransportSink:
    """Writes frames straight to a uvicorn connection's transport."""

    def __init__(self, protocol: PushProtocol) -> None:
        self._protocol = protocol
        self.paused = False
        self.on_ready: Callable[[], None] | None = None

    def ready(self) -> bool:
        p = self._protocol
        return not (self.paused or p.disconnected or p.close_sent or p.transport.is_closing())

    def write(self, message: Message) -> None:
        self._protocol.transport.write(message.frame)

    def close(self) -> None:
        self.on_ready = None

    def _resumed(self) -> None:
        self.paused = False
        if self.on_ready is not None:
            self.on_ready()


class PushProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, offering a :class:`TransportSink` in the ASGI scope."""

    sink: TransportSink | None = None
    observer: Observer | None = None  # set on a subclass (wallboard.guard.protocols)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.observer is not None:
            self.observer.closed(self.transport)

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:  # uvicorn would log it with a traceback
                self.frames = []
                self.conn.send_close(1007, "text is not UTF-8")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()

    def handle_parser_exception(self) -> None:
        sent = self.conn.close_sent
        if self.observer is not None and sent is not None:
            self.observer.frame_refused(sent.code, _FRAME_REASONS.get(sent.code, "protocol error"))
        super().handle_parser_exception()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:
            self.sink = TransportSink(self)
            scope["extensions"][EXTENSION] = {"sink": self.sink}

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.sink is not None:
            self.sink.paused = True

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.sink is not None:
            self.sink._resumed()


class AsgiSink:
    """The same contract over ASGI ``websocket.send``, for servers other than :class:`PushProtocol`'s."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._next: Message | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.on_ready: Callable[[], None] | None = None
        self._task = asyncio.create_task(self._send_loop())

    def ready(self) -> bool:
        return self._next is None and not self._closed

    def write(self, message: Message) -> None:
        self._next = message
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self.on_ready = None
        self._task.cancel()

    async def _send_loop(self) -> None:
        with contextlib.suppress(Exception):  # a gone client ends the loop; the endpoint notices on receive
            while True:
                await self._wake.wait()
                self._wake.clear()
                message = self._next
                if message is None:
                    continue
                await self._websocket.send_text(message.text)
                self._next = None
                if self.on_ready is not None:
                    self.on_ready()


def sink_for(websocket: WebSocket) -> Sink:
    """The fastest sink the server offers for this connection."""
    pushed = websocket.scope.get("extensions", {}).get(EXTENSION)
    if pushed is not None:
        sink: TransportSink = pushed["sink"]
        return sink
    return AsgiSink(websocket)
