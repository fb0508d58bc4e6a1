"""Frames written straight to uvicorn transports reach a real WebSocket client intact, in order,
and a client that stops reading makes its sink not ready instead of growing the server's memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.helpers import free_port, until, uvicorn_serving
from wallboard.push import AsgiSink, Message, PushProtocol, Sink, TransportSink, sink_for, text_frame

SIZES = [0, 5, 125, 126, 1000, 65535, 65536, 200_000]  # every length form of RFC 6455 §5.2


class Harness:
    """A Starlette app whose one endpoint hands each connection's sink to the test."""

    def __init__(self) -> None:
        self.sinks: asyncio.Queue[Sink] = asyncio.Queue()

        async def endpoint(websocket: WebSocket) -> None:
            await websocket.accept()
            sink = sink_for(websocket)
            await self.sinks.put(sink)
            try:
                while True:
                    await websocket.receive_text()
            except WebSocketDisconnect:
                pass
            finally:
                sink.close()

        self.app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])


@contextlib.asynccontextmanager
async def serving(ws: Any) -> AsyncIterator[tuple[Harness, int]]:
    harness = Harness()
    port = free_port()
    async with uvicorn_serving(
        uvicorn.Config(
            harness.app,
            host="127.0.0.1",
            port=port,
            ws=ws,
            log_level="warning",
            ws_per_message_deflate=False,
            ws_ping_interval=None,
            lifespan="off",
        )
    ):
        yield harness, port


@pytest.mark.parametrize("ws, kind", [(PushProtocol, TransportSink), ("websockets-sansio", AsgiSink)])
async def test_every_frame_length_arrives_intact_and_in_order(ws: Any, kind: type) -> None:
    async with (
        serving(ws) as (harness, port),
        websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None, compression=None) as client,
    ):
        sink = await asyncio.wait_for(harness.sinks.get(), 5)
        assert isinstance(sink, kind)
        texts = [("é" if n else "") + "x" * max(0, n - 2) for n in SIZES]  # non-ASCII: lengths are bytes
        for text in texts:
            await until(sink.ready, 5, "the sink ready")
            sink.write(Message(text))
        got = [await asyncio.wait_for(client.recv(), 5) for _ in texts]
        assert got == texts


def test_text_frame_headers() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"a" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")


async def test_a_client_that_stops_reading_makes_the_sink_not_ready_until_it_reads_again() -> None:
    async with serving(PushProtocol) as (harness, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        sink = await asyncio.wait_for(harness.sinks.get(), 5)
        readied = asyncio.Event()
        sink.on_ready = readied.set
        message = Message("y" * 60_000)
        written = 0
        while sink.ready():  # the client reads nothing: the kernel buffers fill, then the transport's
            sink.write(message)
            written += 1
            await asyncio.sleep(0)
            assert written < 2000, "the sink never stopped taking data"
        assert not readied.is_set()
        expected = written * len(message.frame)
        received = 0
        while received < expected:  # reading again drains the server's buffer: the sink calls back
            received += len(await asyncio.wait_for(reader.read(1 << 20), 5))
        assert received == expected
        await asyncio.wait_for(readied.wait(), 5)
        assert sink.ready()
        writer.close()
