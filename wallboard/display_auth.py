"""Display keys: read-only, non-expiring credentials for unattended screens.

A screen is set up once with ``/wall/sala?key=…``: the key is checked in
constant time, answered with a cookie that does not expire and a redirect to
the same page without the key in its address. From then on every request of
that browser (pages, Dash's requests, assets, the WebSocket) carries the
cookie. Removing a key from ``web.display_keys`` and restarting the web
process revokes every screen that used it. The paths the web process names
stay open (``/healthz`` for monitors, the ingest API with its own tokens).
With no keys configured the middleware lets everything through.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from wallboard.config import DisplayKey

log = logging.getLogger("wallboard.web")

COOKIE = "wb_display"
_TEN_YEARS_S = 10 * 365 * 86_400

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

_DENIED = (
    "<!doctype html><html lang=es><meta charset=utf-8><title>wallboard</title>"
    "<body style='background:#0b0d10;color:#eee;font:24px sans-serif;padding:2em'>"
    "<h1>Pantalla sin clave · Screen without a key</h1>"
    "<p>Abra esta pantalla una vez con <code>?key=…</code> (la clave de pantalla de su supervisor).</p>"
    "<p>Open this screen once with <code>?key=…</code> (the display key from your supervisor).</p></body></html>"
)


class DisplayKeyMiddleware:
    """ASGI middleware enforcing display keys when any are configured."""

    def __init__(self, app: ASGIApp, keys: tuple[DisplayKey, ...], open_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.keys = keys
        self.open_paths = open_paths

    def match(self, candidate: str | None) -> DisplayKey | None:
        """The configured key equal to ``candidate`` (compared in constant time), if any."""
        if not candidate:
            return None
        found = None
        for k in self.keys:  # compare against every key: timing says nothing about which matched
            if hmac.compare_digest(k.key.encode(), candidate.encode()):
                found = k
        return found

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if not self.keys or scope["type"] not in ("http", "websocket") or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        from_query = self.match(query.get("key"))
        if scope["type"] == "http" and from_query is not None:
            # First visit with ?key=: remember it in a cookie and drop it from the address.
            rest = urlencode({k: v for k, v in query.items() if k != "key"})
            location = scope["path"] + (f"?{rest}" if rest else "")
            log.info("display key %r set up a screen at %s", from_query.name, scope["path"])
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode()),
                        (
                            b"set-cookie",
                            f"{COOKIE}={from_query.key}; Max-Age={_TEN_YEARS_S}; Path=/; HttpOnly; "
                            f"SameSite=Lax".encode(),
                        ),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if from_query is not None or self.match(_cookie(scope)) is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            message = await receive()  # the handshake's websocket.connect comes first
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008, "reason": "display key required"})
            return
        body = _DENIED.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if COOKIE in jar:
                return jar[COOKIE].value
    return None
