"""Connection limits of the web process, enforced on the socket before any HTTP is parsed.

uvicorn (0.54) keeps a connection that never sends a request for ever (its
keep-alive timer is armed only once a response has gone out, and any byte
received disarms it), and its ``limit_concurrency`` answers 503 only once a
request has arrived, answers it to ``/healthz`` too, and does not apply to
WebSocket upgrades at all. So ``wallboard web`` runs uvicorn's own HTTP protocol
wrapped by :func:`protocols`:

- at most ``max_connections`` open connections. When all are taken, a new one
  takes the place of the oldest connection that has not sent a request yet
  (so a flood of idle sockets cannot lock out ``/healthz`` or a new screen);
  only when every connection is in use is the new one refused: ``503``, closed;
- at most ``max_connections_per_client`` from one address (a trusted proxy's, ``web.trusted_proxies``,
  not counted: every screen behind it shares its address); over it, ``403``
  and closed (a screen's WebSocket handshake is refused);
- a connection that has not sent a whole request within
  ``handshake_timeout_s`` (nothing at all, or headers a byte at a time) is closed.

Refusals are answered with a few bytes written by the protocol itself (no
task, no parsing) and counted. ``/healthz`` shows the counters, never an address;
``/metrics`` the same, by reason (:mod:`wallboard.metrics`: ``wallboard_web_connections_*``,
``wallboard_web_ws_refused_total``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from wallboard import metrics
from wallboard.push import PushProtocol
from wallboard.ratelog import RateLimitedLog

if TYPE_CHECKING:
    from wallboard.config import WebSettings

log = logging.getLogger("wallboard.web")

#: A refused connection may linger this long to let its answer out, then it is cut.
LINGER_S = 2.0
#: Refused connections lingering at once; past this a refusal is cut without an answer.
MAX_LINGERING = 256
#: Open files kept spare beside the connections: Redis, the files a page load reads, logs.
MIN_SPARE_FILES = 256


def _response(status: str, text: str, *extra: str) -> bytes:
    body = text.encode() + b"\n"
    head = [
        f"HTTP/1.1 {status}",
        "content-type: text/plain; charset=utf-8",
        f"content-length: {len(body)}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_FULL = _response("503 Service Unavailable", "the wallboard is at its connection limit", "retry-after: 5")
_PER_CLIENT = _response("403 Forbidden", "too many connections from this address")


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a :class:`ConnectionGuard` enforces (from ``web:``, see :func:`limits_for`)."""

    max_connections: int
    max_per_client: int
    handshake_timeout_s: float
    #: Addresses (or networks) whose connections the per-client cap does not count: the trusted
    #: reverse proxies (``web.trusted_proxies``), through which every screen behind them comes.
    proxies: tuple[str, ...] = ()

    def counts_per_client(self, host: str) -> bool:
        """Whether a connection from ``host`` is held to ``max_per_client`` (not from a trusted proxy)."""
        return not _in_networks(host, self.proxies)


def _in_networks(host: str, networks: tuple[str, ...]) -> bool:
    if not networks or not host:
        return False
    if "*" in networks:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host in networks  # (a unix socket's path, a name)
    for net in networks:
        try:
            if address in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to the hard one; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass  # (a kernel's nr_open below the hard limit): keep what we have
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def limits_for(
    max_connections: int,
    max_per_client: int,
    handshake_timeout_s: float,
    open_files: int | None = None,
    proxies: tuple[str, ...] = (),
) -> Limits:
    """The limits to enforce: ``max_connections`` lowered, if need be, to leave a tenth of the
    open-file limit (at least 256 files) spare for everything else the process opens."""
    if open_files is None:
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if open_files != resource.RLIM_INFINITY:
        ceiling = max(16, open_files - max(MIN_SPARE_FILES, open_files // 10))
        if max_connections > ceiling:
            log.warning(
                "web.max_connections %d lowered to %d: the open-file limit is %d (raise it with "
                "ulimit -n or LimitNOFILE=)",
                max_connections,
                ceiling,
                open_files,
            )
            max_connections = ceiling
    return Limits(max_connections, min(max_per_client, max_connections), handshake_timeout_s, proxies)


def guard_for(web: WebSettings) -> ConnectionGuard:
    """A guard enforcing the ``web:`` limits (the web process's, and the ingest API's served alone)."""
    return ConnectionGuard(
        limits_for(
            web.max_connections,
            web.max_connections_per_client,
            web.handshake_timeout_s,
            proxies=web.trusted_proxies,
        )
    )


class ConnectionGuard:
    """Counts open connections, per address too, and decides which to refuse or let go."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open: dict[asyncio.BaseTransport, str] = {}  # transport → client address
        self.waiting: dict[asyncio.BaseTransport, None] = {}  # no request yet, oldest first
        self.per_client: Counter[str] = Counter()
        self.lingering = 0
        self.refused_full = 0
        self.refused_per_client = 0
        self.evicted_waiting = 0
        self.closed_idle = 0
        self.refusals = RateLimitedLog(log)  # connection refusals: one line per reason a minute
        self.ws_refusals = RateLimitedLog(log)  # /ws closed for what a screen never sends, by reason
        self.ws_closed: Counter[int] = Counter()  # the same, by close code

    def admit(self, transport: asyncio.BaseTransport) -> bytes | None:
        """Register a new connection; ``None`` if it may stay, else the answer that refuses it."""
        peer: Any = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if self.per_client[host] >= self.limits.max_per_client and self.limits.counts_per_client(host):
            self.refused_per_client += 1
            metrics.CONNECTIONS_REFUSED.labels("per_client").inc()
            self.refusals.warning(
                "connection refused: a client address is at max_connections_per_client", str(self.limits.max_per_client)
            )
            return _PER_CLIENT
        if len(self.open) >= self.limits.max_connections:
            if not self.waiting:
                self.refused_full += 1
                metrics.CONNECTIONS_REFUSED.labels("max_connections").inc()
                self.refusals.warning(
                    "connection refused: at max_connections, every connection in use", str(self.limits.max_connections)
                )
                return _FULL
            oldest = next(iter(self.waiting))
            self.closed(oldest)
            cast(asyncio.Transport, oldest).abort()  # at once: its file is needed now
            self.evicted_waiting += 1
            metrics.CONNECTIONS_CLOSED.labels("evicted").inc()
        self.open[transport] = host
        metrics.CONNECTIONS_OPEN.inc()
        self.per_client[host] += 1
        self.waiting[transport] = None
        return None

    def started(self, transport: asyncio.BaseTransport) -> None:
        """The connection sent a request: it is no longer the first to make room."""
        self.waiting.pop(transport, None)

    def closed(self, transport: asyncio.BaseTransport) -> None:
        """The connection is gone (or going): forget it."""
        self.waiting.pop(transport, None)
        host = self.open.pop(transport, None)
        if host is not None:
            metrics.CONNECTIONS_OPEN.dec()
            self.per_client[host] -= 1
            if self.per_client[host] <= 0:
                del self.per_client[host]

    def idle_closed(self) -> None:
        self.closed_idle += 1
        metrics.CONNECTIONS_CLOSED.labels("idle").inc()

    def frame_refused(self, code: int, reason: str) -> None:
        """A WebSocket closed for a message no screen sends (``reason``: a fixed phrase)."""
        self.ws_closed[code] += 1
        metrics.ws_refused(code)
        self.ws_refusals.warning(f"/ws closed {code}: {reason}")

    def stats(self) -> dict[str, Any]:
        """Counters for ``/healthz`` (no addresses)."""
        return {
            "open": len(self.open),
            "max_connections": self.limits.max_connections,
            "max_connections_per_client": self.limits.max_per_client,
            "refused_full": self.refused_full,
            "refused_per_client": self.refused_per_client,
            "evicted_waiting": self.evicted_waiting,
            "closed_idle": self.closed_idle,
            "ws_closed": {str(code): n for code, n in sorted(self.ws_closed.items())},
        }


class _Refusal(asyncio.Protocol):
    """A refused connection: one short answer, a half-close, input discarded, cut after ``LINGER_S``.

    Closing at once with the client's request unread would send a reset that can
    destroy the answer before the client reads it.
    """

    def __init__(self, guard: ConnectionGuard, answer: bytes) -> None:
        self.guard = guard
        self.answer = answer
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, base)
        if self.guard.lingering >= MAX_LINGERING:
            transport.abort()
            return
        self.guard.lingering += 1
        transport.write(self.answer)
        if transport.can_write_eof():
            transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(LINGER_S, transport.abort)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the client is done too: close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.guard.lingering -= 1


def _http_base() -> type[asyncio.Protocol]:
    """uvicorn's choice for ``http="auto"``: httptools if installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def protocols(guard: ConnectionGuard) -> tuple[type[asyncio.Protocol], type[PushProtocol]]:
    """uvicorn's HTTP and WebSocket protocols (``http=``, ``ws=``) enforcing ``guard``."""
    base: Any = _http_base()

    class GuardedHttp(base):  # type: ignore[misc]
        """uvicorn's HTTP protocol behind the guard, closing connections idle before a request."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            answer = guard.admit(transport)
            if answer is not None:
                refusal = _Refusal(guard, answer)
                transport.set_protocol(refusal)
                refusal.connection_made(transport)
                return
            super().connection_made(transport)
            self._wb_scope: Any = None
            self._wb_fresh = False
            self._wb_timer: asyncio.TimerHandle | None = self.loop.call_later(
                guard.limits.handshake_timeout_s, self._wb_check
            )

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            scope = self.scope
            if scope is not None and "method" in scope and scope is not self._wb_scope:  # a request's headers
                self._wb_scope = scope
                self._wb_fresh = True
                guard.started(self.transport)

        def _wb_check(self) -> None:
            transport = self.transport
            if transport.is_closing() or transport.get_protocol() is not self:  # gone, or now a WebSocket
                self._wb_timer = None
                return
            busy = self.cycle is not None and not self.cycle.response_complete
            if self._wb_fresh or busy:
                self._wb_fresh = False
                self._wb_timer = self.loop.call_later(guard.limits.handshake_timeout_s, self._wb_check)
                return
            self._wb_timer = None
            guard.idle_closed()
            guard.closed(transport)
            transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            guard.closed(self.transport)
            if self._wb_timer is not None:
                self._wb_timer.cancel()
            super().connection_lost(exc)

    class GuardedWebSocket(PushProtocol):
        observer = guard

    return GuardedHttp, GuardedWebSocket
