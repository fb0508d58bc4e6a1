"""Peers for the fan-out benchmark: the two ways a Dash user would put live KPIs on a wall.

    .venv/bin/python bench/peers.py serve {polling|dash_ws} --redis-url URL --prefix wb: --port 8050 --screen bench
    .venv/bin/python bench/peers.py selfcheck      # both peers, raw clients and a real Chromium, ~1 min

Each peer is one Dash 4 app on its FastAPI backend, served by uvicorn (as
``wallboard web``: no per-message deflate, no server pings, uvloop when
installed; uvicorn's own WebSocket protocol, which is what Dash gets), with a
page holding ``dcc.Store(id="view")``; the wall view of
one screen (``view_of(snapshot, Selector("wall", screens=(screen,)))``) goes
into that store. Both are given the same head start as our hub: ONE asyncio
task per process follows the snapshots stream (``XREAD BLOCK`` via
``Streams.snapshots_after``, reconnecting like the hub), keeps the latest
snapshot in memory and cuts each screen's view once per snapshot, so neither
peer pays a Redis round trip or a ``view_of`` per screen. What differs is only
how the view reaches the browser, which is what the benchmark compares.

``polling`` — the classic Dash live dashboard: ``dcc.Interval(interval=1000)``
drives a normal server callback ``Output("view", "data") <- Input("tick",
"n_intervals")`` that returns the cached view (``PreventUpdate``, HTTP 204,
before the first snapshot). Every screen POSTs ``/_dash-update-component``
every second whether anything changed or not, and gets the whole view back.
Dash's FastAPI backend advertises its WebSocket in the page config whenever it
could serve one, and the renderer then opens it on every page (through a
SharedWorker) even with no WebSocket callback: ``websocket_capability`` is
turned off before the routes are set up, so this peer has no socket at all.

``dash_ws`` — Dash 4.2+'s WebSocket callbacks, the way its docs describe
streaming: a *persistent* callback (``websocket=True, persistent=True``, no
Output and no Input, ``async def``) that the renderer starts on page load (and
again after a reconnect) and that loops for ever, waiting for the next
snapshot (a per-subscriber ``asyncio.Event`` set by the shared reader; no
timeout task per wait) and pushing the view with ``set_props("view", {"data":
...})``; it stops when Dash cancels it on disconnect or ``ctx.websocket
.is_shutdown``. Everything between ``set_props`` and the socket is Dash's own.

Load-generator clients (thousands per process), each ONE screen speaking on
the wire what Chromium + dash-renderer 4.4.1 send (checked by capturing a real
page's traffic; ``selfcheck`` re-checks the polling bodies byte for byte):

- :func:`polling_screen`: ``GET /`` once (the page; only to learn the page
  load's signed ``endId``, which the renderer appends to every callback URL),
  then at a random phase the initial callback and every ``interval`` the next
  ``POST /_dash-update-component?endId=…`` with pre-built bytes over HTTP/1.1
  keep-alive connections (raw asyncio protocol). Like the renderer, a tick
  fires on time even if a request is still out: a new request goes out at once
  (on another connection, up to Chromium's 6 per host; beyond that it waits,
  as in Chromium's socket pool) and the outstanding one is superseded — its
  response, when it comes, is NOT applied to the store (verified in Chromium
  with a 2.5 s callback: 3 requests in flight, none of the results shown).
  ``record`` gets the responses the browser would apply; ``on_response_time``
  gets every response's time from its tick (browser queueing included).
- :func:`dash_ws_screen`: ``GET /_dash-dependencies`` once (the persistent
  callback's id is a hash of where it was declared: the page learns it there),
  then the WebSocket upgrade to ``/_dash-ws-callback`` (with the ``Origin`` Dash
  insists on) and one ``callback_request``; then it only listens, answering
  pings, sending the worker's ``{"type":"heartbeat"}`` every 30 s (closing if
  no ack within 10 s), reconnecting with the worker's backoff and re-sending
  the persistent callback after a reconnect, as the renderer does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (str(ROOT), str(ROOT / "bench")):
    if _p not in sys.path:
        sys.path.insert(0, _p)


from wsclient import masked_frame, split_frames

from wallboard.hub import SnapshotReader
from wallboard.streams import Streams, connect
from wallboard.views import Selector, view_of

log = logging.getLogger("bench.peers")

PEERS = ("polling", "dash_ws")
STORE_ID = "view"
TICK_ID = "tick"
SHOWN_ID = "waiting"
WS_PATH = "/_dash-ws-callback"

Record = Callable[[float, dict[str, Any]], None]


# =============================================================== the shared reader (server side)


class Subscription:
    """One waiting screen: woken by the reader when a newer snapshot is in."""

    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake = asyncio.Event()


class SnapshotFeed(SnapshotReader):
    """The process's ONE Redis reader (the hub's, :class:`wallboard.hub.SnapshotReader`): the latest
    snapshot in memory, each view cut once per snapshot, waiting screens woken."""

    name = "peer"

    def __init__(self, streams: Streams, block_ms: int = 1000) -> None:
        super().__init__(streams, block_ms=block_ms)
        self._views: dict[str, dict[str, Any]] = {}  # selector key -> view of self.latest
        self._subs: set[Subscription] = set()

    async def publish(self, snapshot: dict[str, Any]) -> None:
        if not self.newer(snapshot):
            return
        self._views.clear()
        for sub in self._subs:
            sub.wake.set()

    def view(self, selector: Selector) -> dict[str, Any] | None:
        """The latest snapshot's view for ``selector`` (None before the first snapshot)."""
        if self.latest is None:
            return None
        v = self._views.get(selector.key)
        if v is None:
            v = self._views[selector.key] = view_of(self.latest, selector)
        return v

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    async def next_view(
        self, sub: Subscription, selector: Selector, after_seq: int | None
    ) -> tuple[int, dict[str, Any]]:
        """The view of the first snapshot newer than ``after_seq`` (at once if there is one)."""
        while self.latest is None or (after_seq is not None and self.latest["seq"] <= after_seq):
            sub.wake.clear()
            await sub.wake.wait()
        view = self.view(selector)
        assert view is not None
        return self.latest["seq"], view


class _Runtime:
    """What the ASGI lifespan sets up for the callbacks (one app per process)."""

    feed: SnapshotFeed | None = None


# ==================================================================================== the apps


def build_app(peer: str, redis_url: str, prefix: str, screen: str, interval_s: float = 1.0) -> Any:
    """One peer's ASGI app (Dash's FastAPI server), reading snapshots from ``redis_url``."""
    import dash
    from dash import Input, Output, ctx, dcc, html, set_props
    from dash.exceptions import PreventUpdate
    from fastapi import FastAPI

    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}")
    selector = Selector("wall", screens=(screen,))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        client = connect(redis_url)
        feed = _Runtime.feed = SnapshotFeed(Streams(client, prefix))
        task = asyncio.create_task(feed.run(), name="snapshot reader")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.aclose()
            _Runtime.feed = None

    app = dash.Dash(__name__, server=False, backend="fastapi", title=f"peer {peer}", serve_locally=True, compress=False)
    if peer == "polling":
        app.backend.websocket_capability = False  # no WebSocket route, none in the page config
    app.init_app(FastAPI(lifespan=lifespan))

    children: list[Any] = [dcc.Store(id=STORE_ID), html.Div(id=SHOWN_ID)]
    if peer == "polling":
        children.insert(0, dcc.Interval(id=TICK_ID, interval=round(interval_s * 1000)))
    app.layout = html.Div(children)

    if peer == "polling":

        @app.callback(Output(STORE_ID, "data"), Input(TICK_ID, "n_intervals"))
        def poll(_n_intervals: int | None) -> dict[str, Any]:
            # Sync: Dash's FastAPI backend runs it inline on the event loop (no thread hop).
            view = _Runtime.feed.view(selector) if _Runtime.feed is not None else None
            if view is None:
                raise PreventUpdate
            return view
    else:

        @app.callback(websocket=True, persistent=True)  # no Output, no Input: started on page load
        async def stream() -> None:
            ws = ctx.websocket
            feed = _Runtime.feed
            if ws is None or feed is None:  # reached over HTTP (no SharedWorker): never loop on a request
                raise PreventUpdate
            sub = feed.subscribe()
            seq: int | None = None
            try:
                while not ws.is_shutdown:
                    seq, view = await feed.next_view(sub, selector, seq)
                    set_props(STORE_ID, {"data": view})
            finally:
                feed.unsubscribe(sub)

    # What a screen draws from the store, in the browser only (the selfcheck reads it in Chromium).
    app.clientside_callback(  # type: ignore[no-untyped-call]
        f"""function(view) {{
            var s = view && view.screens && view.screens[{json.dumps(screen)}];
            return s ? String(s.waiting) : "";
        }}""",
        Output(SHOWN_ID, "children"),
        Input(STORE_ID, "data"),
    )
    return app.server


def serve(peer: str, redis_url: str, prefix: str, port: int, screen: str, interval_s: float) -> None:
    """Run one peer with uvicorn on 127.0.0.1:``port`` until SIGTERM or SIGINT (then exit 0)."""
    import uvicorn

    def exit_cleanly(_sig: int, _frame: Any) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on these, restores the previous handlers and raises the
    # signal again: with these handlers the process then exits with status 0, not -15.
    signal.signal(signal.SIGTERM, exit_cleanly)
    signal.signal(signal.SIGINT, exit_cleanly)
    app = build_app(peer, redis_url, prefix, screen, interval_s)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        timeout_graceful_shutdown=5,
    )


# ============================================================ what Chromium sends (client side)

_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
_CH_UA = '"Not:A-Brand";v="8", "Chromium";v="156"'
_TAIL = "Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n"
MAX_CONNECTIONS_PER_HOST = 6  # Chromium's HTTP/1.1 socket pool limit

# dash-renderer's callback body (JSON.stringify, key order as sent). The page-load call has no
# "value": the layout never set n_intervals; each tick after it is n_intervals + 1.
_POLL_HEAD = (
    b'{"output":"view.data","outputs":{"id":"view","property":"data"},"inputs":[{"id":"tick","property":"n_intervals"'
)
_POLL_INITIAL = _POLL_HEAD + b'}],"changedPropIds":[],"parsedChangedPropsIds":[]}'
_POLL_TAIL = b'}],"changedPropIds":["tick.n_intervals"],"parsedChangedPropsIds":["tick.n_intervals"]}'


def poll_body(n_intervals: int | None) -> bytes:
    """The body of dash-renderer's POST for ``n_intervals`` (None: the call on page load)."""
    if n_intervals is None:
        return _POLL_INITIAL
    return _POLL_HEAD + b',"value":' + str(n_intervals).encode() + _POLL_TAIL


def _get_request(host: str, path: str, *, navigate: bool) -> bytes:
    if navigate:  # the page itself
        middle = (
            f'sec-ch-ua: {_CH_UA}\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\n'
            f"Upgrade-Insecure-Requests: 1\r\nUser-Agent: {_UA}\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
            "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\n"
            "Sec-Fetch-Dest: document\r\n"
        )
    else:  # the renderer's fetch of _dash-layout / _dash-dependencies
        middle = (
            f'sec-ch-ua-platform: "Linux"\r\nUser-Agent: {_UA}\r\nAccept: application/json\r\n'
            f"sec-ch-ua: {_CH_UA}\r\nContent-Type: application/json\r\nsec-ch-ua-mobile: ?0\r\n"
            f"Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n"
            f"Referer: http://{host}/\r\n"
        )
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n{middle}{_TAIL}\r\n".encode()


def _post_head(host: str, path: str) -> tuple[bytes, bytes]:
    """The POST's header bytes, split around the Content-Length value."""
    before = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\nContent-Length: "
    after = (
        f'\r\nsec-ch-ua-platform: "Linux"\r\nUser-Agent: {_UA}\r\nAccept: application/json\r\n'
        f"sec-ch-ua: {_CH_UA}\r\nContent-Type: application/json\r\nsec-ch-ua-mobile: ?0\r\n"
        f"Origin: http://{host}\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\n"
        f"Sec-Fetch-Dest: empty\r\nReferer: http://{host}/\r\n{_TAIL}\r\n"
    )
    return before.encode(), after.encode()


_END_ID = re.compile(rb'"end_id":\s*"([^"]+)"')


# ------------------------------------------------------------------------ HTTP/1.1 response parsing


def _parse_response(buf: bytes) -> tuple[int, bytes, int, bool] | None:
    """(status, body, bytes consumed, server closes) of the first complete response in ``buf``."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].lower()
    status = int(head[9:12])
    start = end + 4
    close = b"\r\nconnection: close" in head
    i = head.find(b"\r\ncontent-length:")
    if i >= 0:
        j = head.find(b"\r\n", i + 2)
        n = int(head[i + 17 : j if j >= 0 else len(head)])
        if len(buf) < start + n:
            return None
        body = buf[start : start + n]
        consumed = start + n
    elif b"\r\ntransfer-encoding: chunked" in head:
        chunks: list[bytes] = []
        pos = start
        while True:
            k = buf.find(b"\r\n", pos)
            if k < 0:
                return None
            size = int(buf[pos:k].split(b";")[0], 16)
            if len(buf) < k + 2 + size + 2:
                return None
            if size == 0:
                t = buf.find(b"\r\n\r\n", k)  # trailers end
                if t < 0:
                    return None
                consumed = t + 4
                break
            chunks.append(buf[k + 2 : k + 2 + size])
            pos = k + 2 + size + 2
        body = b"".join(chunks)
    elif status in (204, 304) or 100 <= status < 200:
        body, consumed = b"", start
    else:  # body until the server closes: not something these servers send
        return None
    if b"\r\ncontent-encoding: gzip" in head:
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return status, body, consumed, close


async def _http_get(
    host: str, port: int, path: str, *, navigate: bool, local_host: str | None, timeout: float = 60.0
) -> bytes:
    """One GET as the page does it (on its own connection, closed after); the body of a 200."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=(local_host, 0) if local_host else None), timeout
    )
    try:
        writer.write(_get_request(f"{host}:{port}", path, navigate=navigate))
        buf = b""
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                raise ConnectionError(f"GET {path}: connection closed")
            buf += data
            parsed = _parse_response(buf)
            if parsed is not None:
                break
        status, body, _, _ = parsed
        if status != 200:
            raise ConnectionError(f"GET {path}: HTTP {status}")
        return body
    finally:
        writer.close()


# ------------------------------------------------------------------------------ polling screen


class _Request:
    __slots__ = ("n", "issued", "data")

    def __init__(self, n: int, issued: float, data: bytes) -> None:
        self.n, self.issued, self.data = n, issued, data


class _HttpConnection(asyncio.Protocol):
    """One keep-alive connection of a screen's pool: one request at a time (no pipelining)."""

    def __init__(self, owner: _PollingScreen) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.request: _Request | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass

    def send(self, request: _Request) -> None:
        assert self.transport is not None
        self.request = request
        self.transport.write(request.data)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        parsed = _parse_response(buf)
        if parsed is None:
            self.buf = buf
            return
        now = time.time()  # the response is complete: stamped before any JSON parsing
        status, body, consumed, close = parsed
        self.buf = buf[consumed:]
        request, self.request = self.request, None
        if close and self.transport is not None:
            self.transport.close()
        if request is not None:
            self.owner.on_response(self, request, status, body, now, reusable=not close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.owner.on_lost(self)


class _PollingScreen:
    """A dcc.Interval page: one callback request per tick, superseding any still outstanding."""

    def __init__(
        self,
        host: str,
        port: int,
        record: Record,
        on_response_time: Callable[[float], None] | None,
        interval: float,
        local_host: str | None,
        end_id: str | None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port, self.local_host = host, port, local_host
        self.record, self.on_response_time, self.interval = record, on_response_time, interval
        path = "/_dash-update-component" + (f"?endId={end_id}" if end_id else "")
        self.head_before, self.head_after = _post_head(f"{host}:{port}", path)
        self.conns: set[_HttpConnection] = set()
        self.idle: list[_HttpConnection] = []
        self.opening: set[asyncio.Task[None]] = set()  # connections being opened
        self.queue: deque[_Request] = deque()
        self.n = -1  # n_intervals of the newest request issued (0: the page-load call)
        self.failed = 0
        self.superseded = 0
        self.deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False

    def start(self) -> None:
        """The page has loaded: its initial call now, then one every interval (dcc.Interval's setInterval)."""
        self.deadline = self.loop.time()
        self._tick()

    def _tick(self) -> None:
        if self.closed:
            return
        self.n += 1
        body = poll_body(self.n or None)  # 0: the call on page load
        data = self.head_before + str(len(body)).encode() + self.head_after + body
        self.queue.append(_Request(self.n, time.time(), data))
        self._pump()
        self.deadline += self.interval
        now = self.loop.time()
        if self.deadline < now:  # the generator's loop fell behind: skip, as a late setInterval does
            self.deadline = now + self.interval - (now - self.deadline) % self.interval
        self.timer = self.loop.call_at(self.deadline, self._tick)

    def _pump(self) -> None:
        while self.queue:
            if self.idle:
                self.idle.pop().send(self.queue.popleft())
            elif len(self.conns) + len(self.opening) < MAX_CONNECTIONS_PER_HOST:
                task = self.loop.create_task(self._open())
                self.opening.add(task)
                task.add_done_callback(self.opening.discard)
                return
            else:
                return  # Chromium queues the fetch until a socket of the pool is free

    async def _open(self) -> None:
        try:
            _, conn = await self.loop.create_connection(
                lambda: _HttpConnection(self),
                self.host,
                self.port,
                local_addr=(self.local_host, 0) if self.local_host else None,
            )
        except OSError:
            if self.queue:  # the fetch waiting for this socket fails (net::ERR_CONNECTION_REFUSED …)
                self.queue.popleft()
                self.failed += 1
            if not self.closed and self.queue:
                self._pump()
            return
        if self.closed:
            assert conn.transport is not None
            conn.transport.close()
            return
        self.conns.add(conn)
        self.idle.append(conn)
        self._pump()

    def on_response(
        self, conn: _HttpConnection, request: _Request, status: int, body: bytes, now: float, *, reusable: bool
    ) -> None:
        if reusable and not self.closed:
            self.idle.append(conn)
        if self.on_response_time is not None:
            self.on_response_time(now - request.issued)
        if request.n != self.n:
            self.superseded += 1  # the renderer dropped this callback when the next tick came
        elif status == 200:
            data = json.loads(body)["response"][STORE_ID]["data"]
            self.record(now, data)
        elif status != 204:  # 204: PreventUpdate (no snapshot yet)
            self.failed += 1
        if not self.closed:
            self._pump()

    def on_lost(self, conn: _HttpConnection) -> None:
        self.conns.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.request is not None:  # a fetch in flight fails with the connection
            conn.request = None
            self.failed += 1
        if not self.closed and self.queue:
            self._pump()

    def close(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        for task in list(self.opening):
            task.cancel()
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.close()
        self.queue.clear()


async def polling_screen(
    host: str,
    port: int,
    record: Record,
    stop: asyncio.Event,
    *,
    interval: float = 1.0,
    local_host: str | None = None,
    on_response_time: Callable[[float], None] | None = None,
) -> None:
    """One polling screen until ``stop`` is set (or the task is cancelled).

    ``record(t, view)`` for each response the renderer would apply to the store
    (``t``: ``time.time()`` when the response was complete);
    ``on_response_time(s)`` for every response, from its tick to its last byte.
    """
    await asyncio.sleep(random.uniform(0.0, interval))  # screens load their pages at any moment
    page = await _http_get(host, port, "/", navigate=True, local_host=local_host)
    m = _END_ID.search(page)
    screen = _PollingScreen(
        host, port, record, on_response_time, interval, local_host, m.group(1).decode() if m else None
    )
    screen.start()
    try:
        await stop.wait()
    finally:
        screen.close()


# ------------------------------------------------------------------------------ dash_ws screen


HEARTBEAT_S = 30.0  # dash-ws-worker: heartbeatInterval (the app's websocket_heartbeat_interval)
HEARTBEAT_TIMEOUT_S = 10.0
INACTIVITY_S = 300.0  # websocket_inactivity_timeout: the worker closes (4001) and does not come back
_HEARTBEAT = b'{"type":"heartbeat"}'


class _DashWsConnection(asyncio.Protocol):
    """The SharedWorker's WebSocket for one page: upgrade, the persistent callback, then listen."""

    def __init__(self, host: str, callback_request: bytes, record: Record) -> None:
        self.loop = asyncio.get_running_loop()
        key = base64.b64encode(os.urandom(16)).decode()
        self.upgrade = (
            f"GET {WS_PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nPragma: no-cache\r\n"
            f"Cache-Control: no-cache\r\nUser-Agent: {_UA}\r\nUpgrade: websocket\r\n"
            f"Origin: http://{host}\r\nSec-WebSocket-Version: 13\r\n{_TAIL}"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
        self.callback_request = callback_request
        self.record = record
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.open = False
        self.inflate: Any = None  # zlib decompressor if the server took permessage-deflate
        self.inflate_reset = False
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[int] = self.loop.create_future()  # the close code (1006: dropped)
        self.close_code = 1006
        self.last_activity = time.monotonic()
        self.beat: asyncio.TimerHandle | None = None
        self.beat_timeout: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass
        transport.write(self.upgrade)  # type: ignore[attr-defined]

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(opcode, payload))

    def close(self, code: int = 1000, reason: bytes = b"") -> None:
        self.close_code = code
        self._write(0x8, struct.pack("!H", code) + reason)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()  # stamped on arrival, before any decoding
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            head = buf[:end].lower()
            if b" 101 " not in head[:16]:
                self.buf = b""
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(buf[:end].decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            if b"permessage-deflate" in head:
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self.inflate_reset = b"server_no_context_takeover" in head
            self.open = True
            buf = buf[end + 4 :]
            self._write(0x1, self.callback_request)  # the renderer's persistent callback, at once
            self.beat = self.loop.call_later(HEARTBEAT_S, self._heartbeat)
            if not self.opened.done():
                self.opened.set_result(None)
        frames, self.buf = split_frames(buf)
        for b0, payload in frames:
            self._frame_received(b0, payload, now)

    def _frame_received(self, b0: int, payload: bytes, now: float) -> None:
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode in (0x1, 0x2, 0x0):
            if opcode:
                self.fragment_compressed = bool(b0 & 0x40)
            if not fin:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join(self.fragments) + payload
                self.fragments = []
            if self.fragment_compressed and self.inflate is not None:
                payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
                if self.inflate_reset:
                    self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self._message(payload, now)
        elif opcode == 0x9:  # ping: browsers answer at once
            self._write(0xA, payload)
        elif opcode == 0x8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self._write(0x8, payload[:2])
            if self.transport is not None:
                self.transport.close()

    def _message(self, payload: bytes, now: float) -> None:
        msg = json.loads(payload)
        items = msg if isinstance(msg, list) else (msg,)  # the server batches messages 5 ms apart
        acked = False
        for item in items:
            kind = item.get("type")
            if kind == "set_props":
                body = item.get("payload") or {}
                props = body.get("props") or {}
                if body.get("componentId") == STORE_ID and "data" in props:
                    self.record(now, props["data"])
                self.last_activity = time.monotonic()
            elif kind == "heartbeat_ack":
                acked = True
            else:
                self.last_activity = time.monotonic()
                if kind == "callback_response":  # the persistent callback ended: it never should
                    log.warning("dash_ws: the persistent callback ended: %s", item.get("payload"))
        if acked and self.beat_timeout is not None:
            self.beat_timeout.cancel()
            self.beat_timeout = None

    def _heartbeat(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if time.monotonic() - self.last_activity >= INACTIVITY_S:
            self.close(4001, b"Inactivity timeout")
            return
        self._write(0x1, _HEARTBEAT)
        if self.beat_timeout is None:
            self.beat_timeout = self.loop.call_later(HEARTBEAT_TIMEOUT_S, self.close, 4000, b"Heartbeat timeout")
        self.beat = self.loop.call_later(HEARTBEAT_S, self._heartbeat)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for timer in (self.beat, self.beat_timeout):
            if timer is not None:
                timer.cancel()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the upgrade"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)


def persistent_callback_id(dependencies: list[dict[str, Any]]) -> str:
    """The id the renderer sends for the page's persistent callback (no Output, no Input)."""
    for cb in dependencies:
        if cb.get("no_output") and not cb.get("inputs") and cb.get("websocket"):
            return str(cb["output"])
    raise LookupError("no persistent WebSocket callback in _dash-dependencies")


async def dash_ws_screen(
    host: str, port: int, record: Record, stop: asyncio.Event, *, local_host: str | None = None
) -> None:
    """One dash_ws screen until ``stop`` is set (or the task is cancelled).

    ``record(t, view)`` for each ``set_props`` of the store (``t``: arrival, before decoding).
    """
    loop = asyncio.get_running_loop()
    deps = json.loads(await _http_get(host, port, "/_dash-dependencies", navigate=False, local_host=local_host))
    callback_id = persistent_callback_id(deps)
    renderer_id = str(uuid.uuid4())  # crypto.randomUUID(), one per page
    requests = 0
    retries = 0
    conn: _DashWsConnection | None = None
    stopped = loop.create_task(stop.wait())
    try:
        while not stop.is_set():
            requests += 1  # the renderer's counter; a reconnect re-sends the persistent callback
            message = json.dumps(
                {
                    "type": "callback_request",
                    "rendererId": renderer_id,
                    "requestId": f"{renderer_id}-{requests}",
                    "payload": {"output": callback_id, "inputs": [], "changedPropIds": [], "parsedChangedPropsIds": []},
                },
                separators=(",", ":"),
            )
            conn = None
            try:
                _, conn = await loop.create_connection(
                    lambda message=message: _DashWsConnection(f"{host}:{port}", message.encode(), record),
                    host,
                    port,
                    local_addr=(local_host, 0) if local_host else None,
                )
                await conn.opened
                retries = 0
                waits: list[asyncio.Future[Any]] = [conn.closed, stopped]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                code = conn.closed.result() if conn.closed.done() else None
            except OSError:
                code = 1006
            if stop.is_set():
                break
            if code in (1000, 4001) or retries >= 10:  # the worker gives up on these
                await stop.wait()
                break
            # dash-ws-worker's backoff: min(1 s · 2^retry + 0–1 s, 30 s)
            delay = min(1.0 * 2**retries + random.random(), 30.0)
            retries += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopped), delay)
    finally:
        stopped.cancel()
        if conn is not None and conn.transport is not None:
            conn.close(1000, b"Client disconnect")


# =================================================================================== selfcheck


def _snapshot(seq: int, waiting: int, screen: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "generated_at": f"2026-03-10T08:00:{seq % 60:02d}.000Z",
        "now": time.time(),
        "screens": {screen: {"waiting": waiting}},
        "teams": {},
        "agents": {},
        "queues": {},
        "sources": {},
    }


def selfcheck(clients: int = 20, seconds: float = 5.0) -> int:
    """Both peers against an embedded Redis: raw clients, then a real Chromium. Exit status."""
    return asyncio.run(_selfcheck(clients, seconds))


async def _selfcheck(clients: int, seconds: float) -> int:
    from _util import free_port

    from wallboard.redis_server import EmbeddedRedis

    screen, prefix = "bench", "peers:"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persist=False)
        url = server.start()
        client = connect(url)
        streams = Streams(client, prefix)
        seq = 0
        waiting = 0
        published: dict[int, float] = {}

        async def publish() -> int:
            nonlocal seq, waiting
            seq += 1
            waiting += 1
            published[waiting] = time.time()
            await streams.publish_snapshot(seq, json.dumps(_snapshot(seq, waiting, screen)))
            return waiting

        await publish()
        procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for peer in PEERS:
                port = free_port()
                procs[peer] = (
                    subprocess.Popen(
                        [
                            sys.executable,
                            __file__,
                            "serve",
                            peer,
                            "--redis-url",
                            url,
                            "--prefix",
                            prefix,
                            "--port",
                            str(port),
                            "--screen",
                            screen,
                        ]
                    ),
                    port,
                )
            for _, port in procs.values():
                await _wait_up(port)
            for peer, (_, port) in procs.items():
                ok &= await _check_raw_clients(peer, port, clients, seconds, publish, published)
            ok &= await _check_chromium(procs, publish, published)
        finally:
            for peer, (proc, _) in procs.items():
                proc.send_signal(signal.SIGTERM)
                rc: int | None = None
                try:
                    rc = proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                print(f"{peer}: server exit status on SIGTERM: {rc}")
                ok &= rc == 0
            await client.aclose()
            server.stop()
    print("selfcheck", "OK" if ok else "FAILED")
    return 0 if ok else 1


async def _wait_up(port: int) -> None:
    deadline = time.time() + 60
    while True:
        try:
            await _http_get("127.0.0.1", port, "/", navigate=True, local_host=None, timeout=5)
            return
        except OSError:
            if time.time() > deadline:
                raise
            await asyncio.sleep(0.2)


def _ms(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000 if s else float("nan")


async def _check_raw_clients(
    peer: str, port: int, n: int, seconds: float, publish: Callable[[], Awaitable[int]], published: dict[int, float]
) -> bool:
    stop = asyncio.Event()
    seen: list[dict[int, float]] = [{} for _ in range(n)]  # waiting value -> first arrival
    counts = [0] * n
    response_times: list[float] = []

    def recorder(i: int) -> Record:
        def record(t: float, view: dict[str, Any]) -> None:
            counts[i] += 1
            w = view.get("screens", {}).get("bench", {}).get("waiting")
            if isinstance(w, int) and w not in seen[i]:
                seen[i][w] = t

        return record

    tasks = []
    for i in range(n):
        local = f"127.0.0.{3 + i % 2}"
        if peer == "polling":
            coro = polling_screen(
                "127.0.0.1", port, recorder(i), stop, local_host=local, on_response_time=response_times.append
            )
        else:
            coro = dash_ws_screen("127.0.0.1", port, recorder(i), stop, local_host=local)
        tasks.append(asyncio.create_task(coro))
    deadline = time.time() + 20
    while not all(seen) and time.time() < deadline:
        await asyncio.sleep(0.05)
    first = [min(s) if s else None for s in seen]
    values = []
    t_end = time.time() + seconds
    while time.time() < t_end:
        # At random moments (not in step with the polling phases), each value held longer than a
        # poll interval: every screen of either peer should then show every value.
        await asyncio.sleep(random.uniform(1.1, 1.6))
        values.append(await publish())
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for t in tasks:
        if t.exception() is not None:
            print(f"{peer}: a client failed: {t.exception()!r}")
    complete = sum(1 for s in seen if all(v in s for v in values))
    lat = [s[v] - published[v] for s in seen for v in values if v in s]
    print(
        f"{peer}: {complete}/{n} raw clients saw waiting go {first[0]} -> {values[0]}..{values[-1]} "
        f"({len(values)} changes); latency publish -> record p50 {_ms(lat, 0.5):.0f} ms, "
        f"p95 {_ms(lat, 0.95):.0f} ms, max {_ms(lat, 1.0):.0f} ms; {sum(counts)} records"
    )
    if response_times:
        print(
            f"{peer}: {len(response_times)} responses, response time p50 {_ms(response_times, 0.5):.1f} ms, "
            f"max {_ms(response_times, 1.0):.1f} ms"
        )
    return complete == n


async def _check_chromium(
    procs: dict[str, tuple[subprocess.Popen[bytes], int]],
    publish: Callable[[], Awaitable[int]],
    published: dict[int, float],
) -> bool:
    from playwright.async_api import async_playwright

    ok = True
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            for peer, (_, port) in procs.items():
                page = await browser.new_page()
                posts: list[tuple[str, bytes]] = []

                def on_request(request: Any, posts: list[tuple[str, bytes]] = posts) -> None:
                    if "_dash-update-component" in request.url:
                        posts.append((request.url, request.post_data_buffer or b""))

                page.on("request", on_request)
                await page.goto(f"http://127.0.0.1:{port}/")
                await page.wait_for_function(
                    f"document.getElementById('{SHOWN_ID}')"
                    f" && document.getElementById('{SHOWN_ID}').textContent !== ''",
                    timeout=15000,
                )
                config = json.loads(await page.eval_on_selector("#_dash-config", "e => e.textContent"))
                before = await page.text_content(f"#{SHOWN_ID}")
                lats = []
                for _ in range(3):
                    w = await publish()
                    await page.wait_for_function(
                        f"document.getElementById('{SHOWN_ID}').textContent === '{w}'", timeout=15000, polling=10
                    )
                    lats.append(time.time() - published[w])
                    await asyncio.sleep(random.uniform(0.1, 0.9))
                await asyncio.sleep(1.2)
                good = True
                if peer == "polling":
                    good &= "websocket" not in config
                    bodies = [b for _, b in posts]
                    expected = [poll_body(None)] + [poll_body(k) for k in range(1, len(bodies))]
                    same = bodies == expected
                    end_id = config.get("end_id")
                    urls_ok = all(u.endswith(f"/_dash-update-component?endId={end_id}") for u, _ in posts)
                    print(
                        f"polling: Chromium: {len(posts)} callback POSTs, bodies byte-identical to poll_body(): "
                        f"{same}, URL ?endId=<page token>: {urls_ok}, no websocket in the page config: "
                        f"{'websocket' not in config}"
                    )
                    good &= same and urls_ok
                else:
                    good &= bool(config.get("websocket")) and not posts
                    print(
                        f"dash_ws: Chromium: websocket in the page config: {bool(config.get('websocket'))}, "
                        f"callback POSTs: {len(posts)}"
                    )
                print(
                    f"{peer}: Chromium store went {before} -> {w}; latency publish -> DOM "
                    + ", ".join(f"{x * 1000:.0f} ms" for x in lats)
                )
                ok &= good
                await page.close()
        finally:
            await browser.close()
    return ok


# ======================================================================================== main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run one peer's web process")
    p.add_argument("peer", choices=PEERS)
    p.add_argument("--redis-url", required=True)
    p.add_argument("--prefix", default="wb:")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--screen", default="bench")
    p.add_argument("--interval", type=float, default=1.0, help="polling: the page's dcc.Interval, seconds")
    c = sub.add_parser("selfcheck", help="both peers: raw clients and a real Chromium")
    c.add_argument("--clients", type=int, default=20)
    c.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        logging.basicConfig(level=logging.WARNING)
        serve(args.peer, args.redis_url, args.prefix, args.port, args.screen, args.interval)
    else:
        sys.exit(selfcheck(min(args.clients, 200), args.seconds))


if __name__ == "__main__":
    main()
