"""The gate in front of every route: who a request comes from, and whether it may pass.

An ASGI middleware. For each request or socket it finds the :class:`Principal`
(open mode; a display key in ``Authorization: Bearer``; a screen's signed cookie
whose key still exists; a person's signed session whose account and password are
unchanged), puts it in the scope, and decides:

- pages (``/wall/…``, ``/team/…``, ``/manager``) by :func:`wallboard.access.may_open`;
  without a principal, a page redirects to ``/login?next=…`` (a local path only);
- Dash's page callback (``POST /_dash-update-component``) by the path it would draw:
  it is the one server callback, and without this check it would draw any page;
- every other route but the open ones (``/healthz``, the ingest API with its own
  tokens, ``/login``, ``/auth/oidc/…``, static assets) needs a principal;
- a ``/ws`` from a page of another origin is refused at the handshake, and so is any
  state-changing request (POST…) of another origin; the subscription itself is checked
  by the socket's endpoint against the principal's grant.

``?key=`` on a page sets up a screen: the key is exchanged for a signed cookie
(never the key itself) and the browser sent back to the same local path without it.
Every refusal and key use goes to the audit log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode

from wallboard.access import OPEN, Grant, Principal, key_grant, may_open, page_of, person_grant
from wallboard.audit import Audit
from wallboard.config import Config
from wallboard.display_keys import KeyRing
from wallboard.doors.http import (
    Receive,
    Scope,
    Send,
    client_address,
    cookie_header,
    cookies,
    header,
    is_secure,
    local_path,
    plain,
    read_body,
    refused_page,
    replay,
)
from wallboard.ratelog import RateLimitedLog
from wallboard.redis_client import Client
from wallboard.tokens import DISPLAY_COOKIE, SESSION_COOKIE, Signer
from wallboard.users import UserStore

log = logging.getLogger("wallboard.web")

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The principal of the request being served (Dash's page layouts read it: the home page lists
#: only what it opens).
current: ContextVar[Principal | None] = ContextVar("wallboard_principal", default=None)
SCOPE_KEY = "wallboard.principal"

_TEN_YEARS_S = 10 * 365 * 86_400
#: A Dash callback request is a few KB; anything larger is not one of ours.
MAX_CALLBACK_BYTES = 64 * 1024
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
_FRAMEWORK_PAGES = frozenset(("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"))
#: Query parameters a Dash page reads as its own arguments: a callback must not set them.
_PAGE_ARGUMENTS = frozenset(("team", "screen"))


class Gate:
    """The middleware, with what it checks against (built in the web process's lifespan)."""

    def __init__(
        self,
        app: ASGIApp,
        config: Config,
        *,
        open_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.config = config
        self.open_paths = frozenset(
            ("/healthz", "/login", "/logout", "/auth/login.css", "/auth/oidc/login", "/auth/oidc/callback", *open_paths)
        )
        self.origins = frozenset(config.web.public_origins)
        self.signer: Signer | None = None
        self.redis: Client | None = None
        self.ring: KeyRing | None = None
        self.audit: Audit | None = None
        self.users = UserStore(config.users_file())
        self.refusals = RateLimitedLog(log)
        self.state: Any = None  # the wrapped app's state (Doors.wrap)
        self._grants: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Grant] = {}
        #: Ids of sessions signed out before their expiry (kept in Redis, refreshed every second).
        self.signed_out: frozenset[str] = frozenset()

    def ready(self, signer: Signer, ring: KeyRing, audit: Audit, client: Client) -> None:
        self.signer, self.ring, self.audit, self.redis = signer, ring, audit, client

    @property
    def signed_out_key(self) -> str:
        return f"{self.config.redis.prefix}auth:signed-out"

    async def sign_out(self, sid: str, expires: float) -> None:
        """End a session before its expiry: every web process refuses it within a second."""
        self.signed_out = self.signed_out | {sid}
        if self.redis is not None:
            await self.redis.zadd(self.signed_out_key, {sid: expires})

    async def refresh_signed_out(self) -> None:
        """The ids of sessions signed out and not yet expired (the expired ones forgotten)."""
        if self.redis is None:
            return
        now = time.time()
        await self.redis.zremrangebyscore(self.signed_out_key, "-inf", now)
        ids = await self.redis.zrangebyscore(self.signed_out_key, now, "+inf")
        self.signed_out = frozenset(i.decode() if isinstance(i, bytes) else str(i) for i in ids)

    # ---------------------------------------------------------------- who

    def principal(self, scope: Scope) -> Principal | None:
        """Whoever the request comes from, or ``None`` (not signed in, or a credential gone)."""
        if self.config.auth.open:
            return OPEN
        if self.signer is None or self.ring is None:
            return None
        bearer = header(scope, b"authorization")
        if bearer and bearer.lower().startswith("bearer "):
            record = self.ring.match(bearer[7:].strip())
            return self._display(record.name) if record else None
        jar = cookies(scope)
        session = self.signer.read_session(jar.get(SESSION_COOKIE))
        if session is not None:
            person = self._person(session)
            if person is not None:
                return person
        token = self.signer.read_display(jar.get(DISPLAY_COOKIE))
        if token is not None and self.ring.valid(*token) is not None:
            return self._display(token[0])
        return None

    def _display(self, name: str) -> Principal | None:
        assert self.ring is not None
        record = self.ring.records.get(name)
        if record is None:
            return None
        self.ring.used(name)
        grant = key_grant(self.config, record.screens, record.teams, record.manager)
        return Principal("display", name, "display", grant, f"key:{name}", record.id)

    def _person(self, session: dict[str, Any]) -> Principal | None:
        name, sid, expires = session.get("u"), session.get("sid"), float(session["exp"])
        if not isinstance(name, str) or not isinstance(sid, str) or sid in self.signed_out:
            return None
        if session.get("k") == "user":
            user = self.users.get(name)
            if user is None or repr(user.changed) != session.get("c"):
                return None  # removed, or the password changed since: the session is over
            grant = self._grant(user.role, user.teams, user.screens)
            return Principal("person", name, user.role, grant, f"user:{name}", repr(user.changed), expires, sid)
        if session.get("k") == "oidc":
            role, teams, screens = session.get("r"), session.get("t") or [], session.get("s") or []
            try:
                grant = self._grant(str(role), tuple(map(str, teams)), tuple(map(str, screens)))
            except ValueError:
                return None
            return Principal("person", name, str(role), grant, f"oidc:{name}", "", expires, sid)
        return None

    def _grant(self, role: str, teams: tuple[str, ...], screens: tuple[str, ...]) -> Grant:
        """:func:`person_grant`, remembered: the config does not change while the process runs."""
        key = (role, teams, screens)
        grant = self._grants.get(key)
        if grant is None:
            grant = person_grant(self.config, role, teams, screens)
            if len(self._grants) < 1000:  # (single sign-on tokens carry their own teams: bounded)
                self._grants[key] = grant
        return grant

    def still_valid(self, principal: Principal) -> bool:
        """Whether a socket opened under ``principal`` may stay open (its key or account still there)."""
        if principal.kind == "open":
            return True
        if principal.expires is not None and principal.expires < time.time():
            return False  # the session is over: its sockets too
        if principal.session and principal.session in self.signed_out:
            return False
        kind, _, name = principal.credential.partition(":")
        if kind == "key":
            return self.ring is not None and self.ring.valid(name, principal.stamp) is not None
        if kind == "user":
            user = self.users.get(name)
            return user is not None and user.role == principal.role and repr(user.changed) == principal.stamp
        return True  # a single sign-on session: it ends at its expiry or sign-out

    def origin_ok(self, scope: Scope) -> bool:
        """The request's Origin (when it has one) is a public origin of this wallboard."""
        origin = header(scope, b"origin")
        if origin is None:
            return True  # not sent by a page (browsers always send it on sockets and POSTs)
        origin = origin.lower()
        if self.origins:
            return origin in self.origins
        host = (header(scope, b"host") or "").lower()
        scheme = "https" if is_secure(scope) else "http"
        return bool(host) and origin == f"{scheme}://{host}"

    # ---------------------------------------------------------------- the middleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        address = client_address(scope)
        if scope["type"] == "websocket":
            if not self.origin_ok(scope):
                self._refuse_log("socket from another origin", None, address, path)
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
                return
        elif scope["method"] not in _SAFE_METHODS and not self._token_api(path) and not self.origin_ok(scope):
            self._refuse_log("request from another origin", None, address, path)
            await plain(send, 403, "cross-origin request refused")
            return

        if path in _FRAMEWORK_PAGES:  # FastAPI's own API pages: nothing of ours, not served
            await plain(send, 404, "not found")
            return
        bearer = header(scope, b"authorization")
        if bearer and bearer.lower().startswith("bearer ") and self.ring is not None:
            await self.ring.match_fresh(bearer[7:].strip())  # a key just made is known at once
        who = self.principal(scope)
        scope.setdefault("state", {})[SCOPE_KEY] = who
        token = current.set(who)
        try:
            await self._route(scope, receive, send, path, who, address)
        finally:
            current.reset(token)

    def _token_api(self, path: str) -> bool:
        return path in self.open_paths and path not in ("/login", "/logout")

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, path: str, who: Principal | None, address: str
    ) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not self.config.auth.open:
            key = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("key")
            if key is not None:
                await self._set_up_screen(scope, send, key, address)
                return
        if path in self.open_paths or path.startswith(_STATIC_PREFIXES) or path in ("/_favicon.ico", "/favicon.ico"):
            await self.app(scope, receive, send)
            return
        if who is None:
            await self._not_signed_in(scope, receive, send, path, address)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)  # the endpoint checks the subscription
            return
        page = page_of(path)
        query = {k.lower() for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)}
        if page is not None and (not may_open(who.grant, path) or query & _PAGE_ARGUMENTS):
            self._refuse(who, address, path, "page not in grant")
            await refused_page(send, self.config.language)
            return
        if path == "/_dash-update-component":
            body = await read_body(receive, MAX_CALLBACK_BYTES)
            drawn = _pages_callback_path(body)
            if drawn is None or not may_open(who.grant, drawn):
                self._refuse(who, address, f"{path} → {drawn}", "callback not in grant")
                await plain(send, 403, "not allowed")
                return
            await self.app(scope, replay(body, receive), send)
            return
        await self.app(scope, receive, send)

    async def _set_up_screen(self, scope: Scope, send: Send, key: str, address: str) -> None:
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")) if k != "key"]
        rest = urlencode(query)
        target = local_path(scope["path"] + (f"?{rest}" if rest else ""))
        record = await self.ring.match_fresh(key) if self.ring is not None else None
        if record is None or self.signer is None:
            self._refuse_log("unknown display key", None, address, scope["path"])
            await refused_page(send, self.config.language, status=401)
            return
        self.ring.used(record.name)  # type: ignore[union-attr]
        if self.audit is not None:
            self.audit.record("key.setup", f"key:{record.name}", address, target)
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", target.encode()),
                    (
                        b"set-cookie",
                        cookie_header(DISPLAY_COOKIE, self.signer.display(record.name, record.id), _TEN_YEARS_S, scope),
                    ),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _not_signed_in(self, scope: Scope, receive: Receive, send: Send, path: str, address: str) -> None:
        self._refuse_log("not signed in", None, address, path)
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                # Accepted, then closed with a code the page understands (it shows why and stops).
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4401, "reason": "sign-in or display key required"})
            return
        if scope["method"] == "GET" and page_of(path) is not None:
            query = scope.get("query_string", b"").decode("latin-1")
            target = local_path(path + (f"?{query}" if query else ""))
            location = "/login?" + urlencode({"next": target})
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode()),
                        (b"cache-control", b"no-store"),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await plain(send, 401, "sign-in or display key required")

    def _refuse(self, who: Principal, address: str, where: str, why: str) -> None:
        if self.audit is not None:
            self.audit.record("refused", who.label, address, where, why)

    def _refuse_log(self, why: str, who: Principal | None, address: str, where: str) -> None:
        """A refusal of someone unknown: counted and kept in the audit stream, logged at most once
        a minute per reason (a flood must not fill the log)."""
        self.refusals.warning(f"refused: {why}")
        if self.audit is not None:
            self.audit.record("refused", who.label if who else "", address, where, why, quiet=True)


def _pages_callback_path(body: bytes) -> str | None:
    """The path Dash's page callback is asked to draw, read as Dash reads it: by position, exactly
    two inputs (``_pages_location``'s pathname, then its search). ``None`` (refused) for any other
    shape, or a search naming a page's own argument (Dash would let ``?team=sur`` draw team sur)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if not isinstance(inputs, list) or len(inputs) != 2 or data.get("state") not in (None, []):
        return None
    expected = (("_pages_location", "pathname"), ("_pages_location", "search"))
    for item, (ident, prop) in zip(inputs, expected, strict=True):
        if not isinstance(item, dict) or item.get("id") != ident or item.get("property") != prop:
            return None
    pathname, search = inputs[0].get("value"), inputs[1].get("value")
    if not isinstance(pathname, str) or not (search is None or isinstance(search, str)):
        return None
    if search and {k.lower() for k, _ in parse_qsl(search.lstrip("?"), keep_blank_values=True)} & _PAGE_ARGUMENTS:
        return None
    return pathname
