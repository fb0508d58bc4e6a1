"""The doors of the web process: who may come in, and what closes when a credential goes.

:class:`Doors` puts the :class:`~wallboard.doors.gate.Gate` in front of the app,
adds the sign-in routes (:mod:`~wallboard.doors.login`, :mod:`~wallboard.doors.oidc`),
and, once Redis answers, reads the cookie secret, the display keys and the audit
stream. It keeps the open sockets with their principals, and every second looks
whether a key was revoked or an account removed: their sockets are closed at once
(code 4401), the audit log says so, and the screen goes dark.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.routing import BaseRoute
from starlette.websockets import WebSocket

from wallboard import retry
from wallboard.access import Principal
from wallboard.audit import Audit
from wallboard.config import Config
from wallboard.display_keys import KeyRing, KeyStore
from wallboard.doors import login, oidc
from wallboard.doors.gate import SCOPE_KEY, Gate, current
from wallboard.doors.http import client_address
from wallboard.redis_client import Client
from wallboard.tokens import Signer, shared_secret

__all__ = ["SCOPE_KEY", "Doors", "Gate", "current"]

log = logging.getLogger("wallboard.web")

#: How often revocations are looked for (a revoked screen goes dark within about this).
WATCH_S = 1.0


class Doors:
    def __init__(self, config: Config, open_paths: tuple[str, ...] = ()) -> None:
        self.config = config
        self.gate = Gate(_unset, config, open_paths=open_paths)
        self.sockets: dict[WebSocket, Principal] = {}

    def routes(self) -> list[BaseRoute]:
        return [*login.routes(self.gate), *oidc.routes(self.gate)]

    def wrap(self, app: Any) -> Gate:
        """The gate in front of ``app`` (a Starlette app: its ``state`` is the gate's too)."""
        self.gate.app = app
        self.gate.state = app.state
        return self.gate

    def principal(self, websocket: WebSocket) -> Principal | None:
        who: Principal | None = websocket.scope.get("state", {}).get(SCOPE_KEY)
        return who

    def opened(self, websocket: WebSocket, who: Principal) -> None:
        self.sockets[websocket] = who

    def closed(self, websocket: WebSocket) -> None:
        self.sockets.pop(websocket, None)

    def refused(self, who: Principal | None, websocket: WebSocket, where: str, why: str) -> None:
        if self.gate.audit is not None:
            self.gate.audit.record("refused", who.label if who else "", client_address(websocket.scope), where, why)

    async def run(self, client: Client) -> None:
        """Read the secret and keys (retrying while Redis is away), then watch for revocations."""
        prefix = self.config.redis.prefix
        store = KeyStore(client, prefix)
        ring = KeyRing(store)
        attempt = 0
        while True:
            try:
                secret = await shared_secret(client, prefix, self.config.auth.secret)
                await ring.refresh()
                break
            except (RedisError, OSError) as exc:
                if retry.being_cancelled():
                    raise
                attempt += 1
                log.warning("sign-in waits for Redis (%s)", type(exc).__name__)
                await asyncio.sleep(retry.backoff(attempt))
        self.gate.ready(Signer(secret), ring, Audit(client, prefix, self.config.privacy.audit_maxlen), client)
        while True:
            await asyncio.sleep(WATCH_S)
            try:
                await ring.refresh()
                await ring.flush_seen()
                await self.gate.refresh_signed_out()
            except (RedisError, OSError) as exc:
                log.warning("display keys not refreshed (%s)", type(exc).__name__)
                continue
            await self.close_revoked()

    async def close_revoked(self) -> None:
        """Close every socket whose key, account or session is no longer valid (a key revoked or made
        again, a password changed, an account removed, a session expired or signed out)."""
        for websocket, who in list(self.sockets.items()):
            if self.gate.still_valid(who):
                continue
            self.sockets.pop(websocket, None)
            if self.gate.audit is not None:
                event = "key.revoked" if who.kind == "display" else "session.ended"
                self.gate.audit.record(event, who.label, client_address(websocket.scope), "/ws", "socket closed")
            with contextlib.suppress(Exception):  # (it may be gone already)
                await websocket.close(code=4401, reason="credential revoked")


async def _unset(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("Doors.wrap(app) first")
