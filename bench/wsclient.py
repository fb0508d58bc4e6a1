"""A minimal WebSocket client for load generation: thousands per process, a few µs per message.

A screen is an asyncio protocol: it sends the HTTP upgrade, then its subscribe
message (masked, as clients must), then stamps ``time.time()`` on each frame
the moment the bytes arrive and keeps ``(arrival, payload)``. Decoding JSON
and applying patches happen after the run, so the client's own CPU does not
sit between the wire and the timestamp.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A final client-to-server frame (clients must mask, RFC 6455 §5.3); text is opcode 1."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
    if not n:
        return header + mask
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return header + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def split_frames(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The whole server frames at the start of ``buf`` as (first byte, payload), and what is left."""
    frames: list[tuple[int, bytes]] = []
    pos, size = 0, len(buf)
    while size - pos >= 2:
        n, head = buf[pos + 1] & 0x7F, 2
        if n == 126:
            if size - pos < 4:
                break
            n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
        elif n == 127:
            if size - pos < 10:
                break
            n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
        if size - pos < head + n:
            break
        frames.append((buf[pos], buf[pos + head : pos + head + n]))
        pos += head + n
    return frames, buf[pos:]


class Screen(asyncio.Protocol):
    """One screen: upgrade, subscribe, then record every text frame with its arrival time."""

    def __init__(self, path: str, host: str, subscribe: bytes, on_open: Callable[[], None] | None = None) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self._subscribe = masked_frame(0x1, subscribe)
        self._on_open = on_open
        self._buf = b""
        self._open = False
        self.frames: list[tuple[float, bytes]] = []
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self._buf + data if self._buf else data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            if b" 101 " not in buf[:end]:
                raise ConnectionError(buf[:end].decode(errors="replace"))
            self._open = True
            buf = buf[end + 4 :]
            assert self.transport is not None
            self.transport.write(self._subscribe)
            if self._on_open is not None:
                self._on_open()
        frames, self._buf = split_frames(buf)
        for first, payload in frames:
            opcode = first & 0x0F
            if opcode == 1:
                self.frames.append((now, payload))
            elif opcode == 8:
                assert self.transport is not None
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)


async def open_screen(
    host: str, port: int, path: str, subscribe: bytes, *, local_host: str | None = None, timeout: float = 60.0
) -> Screen:
    """Connect one screen and wait until it is subscribed."""
    loop = asyncio.get_running_loop()
    opened = loop.create_future()
    _, screen = await asyncio.wait_for(
        loop.create_connection(
            lambda: Screen(path, f"{host}:{port}", subscribe, lambda: opened.set_result(None)),
            host,
            port,
            local_addr=(local_host, 0) if local_host else None,
        ),
        timeout,
    )
    await asyncio.wait_for(opened, timeout)
    return screen


class PageScreen:
    """A screen that behaves like ``assets/wallboard.js`` on the wire: for tests and benchmarks of
    replicas and workers, where a screen must outlive the process that served it.

    It subscribes on every open; applies ``full`` and ``patch`` messages by ``seq`` (an older one
    is dropped, a patch whose ``base`` is not the view's reconnects for a full view); closes and
    reconnects when nothing (not even a heartbeat) came for 3 heartbeats (the page's watchdog);
    and after a close waits a random time under min(30 s, 0.5 s × 2^attempt), ``attempt`` counting
    the tries since the last open (the page's ``schedule``). ``applied`` keeps (arrival, seq, type)
    of every snapshot message it applied; ``opens`` counts the sockets that opened.
    """

    def __init__(self, url: str, subscribe: bytes, *, heartbeat_s: float = 5.0, headers: dict[str, str] | None = None):
        self.url = url
        self.subscribe = subscribe
        self.heartbeat_s = heartbeat_s
        self.headers = headers or {}
        self.view: dict[str, object] | None = None
        self.seq = -1
        self.applied: list[tuple[float, int, str]] = []
        self.opens = 0
        self.attempt = 0
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def last_applied(self) -> float:
        return self.applied[-1][0] if self.applied else 0.0

    async def run(self) -> None:
        import json
        import random

        import websockets
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        from wallboard.views import apply_patch

        while not self._stop.is_set():
            try:
                async with websockets.connect(
                    self.url, additional_headers=self.headers, open_timeout=10, compression=None, ping_interval=None
                ) as ws:
                    self.attempt = 0
                    self.opens += 1
                    await ws.send(self.subscribe.decode())  # (a text frame, as the page sends)
                    while not self._stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 3 * self.heartbeat_s)
                        except TimeoutError:
                            break  # the watchdog: a silent link is closed and opened again
                        now = time.time()
                        msg = json.loads(raw)
                        kind = msg.get("type")
                        if kind not in ("full", "patch") or msg.get("seq") is None or msg["seq"] <= self.seq:
                            continue
                        if kind == "full":
                            self.view = msg["view"]
                        elif msg.get("base") != self.seq or self.view is None:
                            break  # a gap: reconnect for a full view
                        else:
                            self.view = apply_patch(self.view, msg["set"], msg["del"])
                        self.seq = msg["seq"]
                        self.applied.append((now, self.seq, kind))
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                pass
            if self._stop.is_set():
                return
            cap = min(30.0, 0.5 * 2 ** min(self.attempt, 10))
            self.attempt += 1
            try:
                await asyncio.wait_for(self._stop.wait(), random.random() * cap)
            except TimeoutError:
                pass
