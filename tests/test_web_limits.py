"""The web process's connection limits over real sockets: a real uvicorn serving the real app,
a real Redis, raw TCP clients and a real WebSocket client, from several loopback addresses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wallboard.layouts  # noqa: F401 - Dash sets its context at import: in the main context, not one test's
from tests.helpers import free_port, until, uvicorn_serving
from wallboard.config import Config
from wallboard.guard import ConnectionGuard, limits_for
from wallboard.streams import Streams
from wallboard.web import server_config

UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
SUBSCRIBE = json.dumps({"subscribe": {"view": "manager"}})


class Web:
    def __init__(self, port: int, guard: ConnectionGuard) -> None:
        self.port = port
        self.guard = guard
        self.url = f"ws://127.0.0.1:{port}/ws"
        self.writers: list[asyncio.StreamWriter] = []

    async def raw(self, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A plain TCP connection from ``source`` (closed when the server stops, if not before)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0))
        self.writers.append(writer)
        return reader, writer

    async def close_all(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def get(self, path: str, source: str = "127.0.0.1") -> tuple[int, bytes]:
        reader, writer = await self.raw(source)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]

    async def healthz(self, source: str = "127.0.0.1") -> dict[str, Any]:
        status, body = await self.get("/healthz", source)
        assert status in (200, 503) and body.startswith(b"{"), (status, body)
        health: dict[str, Any] = json.loads(body)
        return health

    def screen(self, source: str = "127.0.0.1") -> Any:
        return websockets.connect(self.url, local_addr=(source, 0), open_timeout=10, compression=None)


@pytest.fixture
def serve(
    make_config: Callable[..., Config], redis_url: str, prefix: str, streams: Streams
) -> Callable[..., contextlib.AbstractAsyncContextManager[Web]]:
    """Start the web process (in this event loop) with the given ``web:`` settings."""

    @contextlib.asynccontextmanager
    async def start(**web: Any) -> AsyncIterator[Web]:
        port = free_port()
        config = make_config(redis={"url": redis_url, "prefix": prefix}, web={"port": port, **web}, auth={"open": True})
        uv = server_config(config, redis_url)
        await streams.publish_snapshot(
            1, json.dumps({"seq": 1, "now": time.time(), "sources": {}, "generated_at": "2026-12-01T10:00:00Z"})
        )
        async with uvicorn_serving(uv):
            web = Web(port, uv.app.state.guard)  # type: ignore[attr-defined]
            try:
                yield web
            finally:
                await web.close_all()

    return start


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded, never a timing check)."""
    return await asyncio.wait_for(reader.read(), 20)


async def test_a_client_address_over_its_cap_is_refused_and_others_are_not(serve: Any) -> None:
    async with serve(max_connections_per_client=3) as web:
        held = [await web.raw("127.0.0.2") for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            async with web.screen("127.0.0.2"):
                pass
        assert refused.value.response.status_code == 403
        reader, _ = await web.raw("127.0.0.2")
        answer = await closed_by_server(reader)
        assert answer.startswith(b"HTTP/1.1 403 ") and b"too many connections from this address" in answer
        async with web.screen("127.0.0.3") as ws:  # another address is not affected
            await ws.send(SUBSCRIBE)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "full"
        health = await web.healthz("127.0.0.4")
        assert health["connections"]["refused_per_client"] == 2
        assert health["connections"]["max_connections_per_client"] == 3
        assert "127.0.0" not in json.dumps(health)  # counters, never addresses
        for _, writer in held:
            writer.close()


async def test_a_trusted_proxy_is_not_held_to_the_per_client_cap(serve: Any) -> None:
    """Behind haproxy every screen comes from the proxy's address: a trusted proxy (an address or a
    network of ``web.trusted_proxies``) is not counted per client; any other address still is."""
    async with serve(max_connections_per_client=2, trusted_proxies=["127.0.0.8/30"]) as web:
        held = [await web.raw("127.0.0.9") for _ in range(4)]  # the proxy: past the cap of 2
        async with web.screen("127.0.0.9") as ws:
            await ws.send(SUBSCRIBE)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "full"
        others = [await web.raw("127.0.0.20") for _ in range(2)]
        reader, _ = await web.raw("127.0.0.20")  # not a proxy: the cap holds
        assert (await closed_by_server(reader)).startswith(b"HTTP/1.1 403 ")
        for _, writer in held + others:
            writer.close()


async def test_connections_that_send_no_whole_request_are_closed(serve: Any) -> None:
    async with serve(handshake_timeout_s=0.3) as web:
        silent, _ = await web.raw()
        slow, slow_writer = await web.raw()
        slow_writer.write(b"GET /healthz HTTP/1.1\r\nHo")  # a header that never ends
        assert await closed_by_server(silent) == b""
        assert await closed_by_server(slow) == b""
        assert (await web.healthz())["connections"]["closed_idle"] >= 2
        # a connection whose request is answered is still served, and kept alive by uvicorn as usual
        reader, writer = await web.raw()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).split(b" ")[1] in (b"200", b"503")
        writer.close()


async def test_an_idle_flood_at_the_limit_leaves_room_for_healthz_and_a_new_screen(serve: Any) -> None:
    async with serve(max_connections=16, max_connections_per_client=100) as web:
        flood = [await web.raw(f"127.0.0.{2 + i % 4}") for i in range(16)]
        for _ in range(3):
            assert (await web.healthz("127.0.1.1"))["status"] == "ok"
        async with web.screen("127.0.1.2") as ws:
            await ws.send(SUBSCRIBE)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "full"
            health = await web.healthz("127.0.1.1")
            evicted = health["connections"]["evicted_waiting"]
            assert evicted >= 2 and health["connections"]["open"] <= 16
            for reader, _ in flood[:evicted]:  # the oldest idle connections made room
                assert await closed_by_server(reader) == b""


async def test_when_every_connection_is_a_screen_a_new_one_gets_503(serve: Any) -> None:
    async with serve(max_connections=16, max_connections_per_client=100) as web:
        async with contextlib.AsyncExitStack() as stack:
            for i in range(16):
                ws = await stack.enter_async_context(web.screen(f"127.0.0.{2 + i % 4}"))
                await ws.send(SUBSCRIBE)
                await asyncio.wait_for(ws.recv(), 10)
            reader, _ = await web.raw("127.0.1.1")
            answer = await closed_by_server(reader)
            assert answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 5" in answer
            assert web.guard.refused_full == 1
        # the screens are gone: room again, and the refusal is in /healthz
        await until(lambda: not web.guard.open, 5, "every screen's connection closed")
        assert (await web.healthz())["connections"]["refused_full"] == 1


async def test_a_screen_that_does_not_subscribe_in_time_is_closed_1008(serve: Any) -> None:
    async with serve(subscribe_timeout_s=0.3) as web:
        async with web.screen() as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "no subscribe message within 0.3 s"
        assert (await web.healthz())["connections"]["ws_closed"] == {"1008": 1}


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame (RFC 6455 §5.2: clients mask), payload under 126 bytes."""
    mask = os.urandom(4)
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def close_code_for(web: Web, opcode: int, payload: bytes) -> int:
    reader, writer = await web.raw()
    writer.write(UPGRADE)
    assert b" 101 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.write(masked_frame(opcode, payload))
    head = await asyncio.wait_for(reader.readexactly(2), 10)
    assert head[0] == 0x88, f"expected a close frame, got {head!r}"  # server frames are not masked
    body = await asyncio.wait_for(reader.readexactly(head[1] & 0x7F), 10)
    writer.close()
    return int.from_bytes(body[:2], "big")


async def test_bad_first_messages_get_a_close_code_and_one_log_line_each(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")  # (it does not propagate: watch it directly)
    uvicorn_log.addHandler(caplog.handler)
    try:
        async with serve() as web:
            for _ in range(5):
                assert await close_code_for(web, 0x2, b"\x00") == 1003  # binary
            assert await close_code_for(web, 0x1, b"\xff\xfe") == 1007  # text that is not UTF-8
            assert await close_code_for(web, 0x1, b"hello") == 1008  # not JSON
            assert await close_code_for(web, 0x1, b'{"subscribe": {"view": "tv"}}') == 1008  # wrong shape
            assert await close_code_for(web, 0x1, b'{"subscribe": {"view": "team", "team": "x"}}') == 1008
            async with web.screen() as ws:  # an unknown team named at length: the reason is cut to fit a frame
                await ws.send(json.dumps({"subscribe": {"view": "team", "team": "é" * 300}}))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                assert closed.value.rcvd.reason.startswith("unknown team 'éé")
            async with web.screen() as ws:  # nested deeper than a parser goes
                await ws.send("[" * 2000 + "]" * 2000)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                assert closed.value.rcvd.reason == "not JSON: nested too deeply"
            async with web.screen() as ws:  # larger than any subscribe message
                await ws.send(json.dumps({"subscribe": {"view": "manager", "x": "y" * 5000}}))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            ws_closed = (await web.healthz())["connections"]["ws_closed"]
            assert ws_closed == {"1003": 5, "1007": 1, "1008": 5, "1009": 1}
            assert (await web.get("/healthz"))[0] in (200, 503)  # still serving
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    binary = [r.getMessage() for r in caplog.records if "/ws closed 1003" in r.getMessage()]
    assert binary == ["/ws closed 1003: binary message"]  # five of them, one line
    assert sorted(r.getMessage() for r in caplog.records if "/ws closed 1008" in r.getMessage()) == [
        "/ws closed 1008: bad subscription",
        "/ws closed 1008: not JSON",
        "/ws closed 1008: unknown team",
    ]


def test_the_connection_limit_leaves_open_files_spare() -> None:
    assert limits_for(15_000, 500, 10, open_files=20_000).max_connections == 15_000
    assert limits_for(30_000, 500, 10, open_files=20_000).max_connections == 18_000
    assert limits_for(15_000, 500, 10, open_files=1_024).max_connections == 768
    assert limits_for(100, 500, 10, open_files=20_000).max_per_client == 100


def test_the_web_process_raises_its_soft_open_file_limit_to_the_hard_one() -> None:
    import resource
    import subprocess
    import sys

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    low = min(512, hard)
    script = (
        "import resource; from wallboard.guard import raise_open_file_limit; "
        "before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]; print(before, raise_open_file_limit())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)),
    )
    before, after = map(int, out.stdout.split())
    assert before == low and after == (hard if hard != resource.RLIM_INFINITY else max(low, 1 << 20))
