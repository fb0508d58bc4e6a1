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
