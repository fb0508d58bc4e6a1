"""Signing in and out with a local account: the form, its checks, and the limit on failures.

``GET /login`` shows the form (Spanish or English, ``?lang=``) with a CSRF token in
a cookie and the form (double submit); ``POST /login`` checks the token, the limits
(failures per user name and per address in a sliding window: 429 with Retry-After
beyond them, checked before the password so a blocked guess costs nothing), then the
argon2 hash, and on success sets the signed session cookie and sends the browser to
``next`` (a local path only). ``POST /logout`` ends the session.

The limits are shared by every web process through Redis (:mod:`wallboard.doors.limits`:
behind N replicas a guesser gets no more tries than behind one); while Redis does not
answer, each process counts in its own memory (:class:`LoginLimiter`) and says so once a
minute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from wallboard.config import Config, LoginLimits
from wallboard.doors.http import client_address, cookie_header, local_path
from wallboard.doors.limits import SharedLoginLimiter
from wallboard.doors.pages import CSS, TEXT, login_page
from wallboard.ratelog import RateLimitedLog
from wallboard.tokens import CSRF_COOKIE, SESSION_COOKIE
from wallboard.users import verify

if TYPE_CHECKING:
    from wallboard.doors.gate import Gate

log = logging.getLogger("wallboard.web")

#: A sign-in form is a few hundred bytes.
MAX_FORM_BYTES = 8192
#: Password checks at once (argon2 takes ~0.15 s of a core each, in a thread), and how many may
#: wait for one; beyond, the form answers 503 at once: a burst of sign-ins cannot starve the screens.
CONCURRENT_CHECKS = 2
MAX_WAITING_CHECKS = 16


class Checks(asyncio.Semaphore):
    """A semaphore that knows how many wait."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.waiting = 0

    async def __aenter__(self) -> None:
        self.waiting += 1
        try:
            await self.acquire()
        finally:
            self.waiting -= 1


class FailureLimit:
    """Failures per key (a user name, an address) in a sliding window, for a bounded number of keys."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: it may now)."""
        times = self._recent(key, now)
        if len(times) < self.limit:
            return 0.0
        return self.window_s - (now - times[-self.limit])

    def fail(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        times.append(now)
        self._fails[key] = times
        self._fails.move_to_end(key)
        while len(self._fails) > self.max_keys:  # the oldest forgotten first: memory stays bounded
            self._fails.popitem(last=False)

    def clear(self, key: str) -> None:
        self._fails.pop(key, None)


class LoginLimiter:
    """``per_user`` failures for one user name from one address, ``per_address`` from one address,
    and 20 × ``per_user`` for one user name from everywhere: guessing is slowed down, and locking
    someone out from afar takes many addresses."""

    def __init__(self, limits: LoginLimits) -> None:
        self.pairs = FailureLimit(limits.per_user, limits.window_s)
        self.addresses = FailureLimit(limits.per_address, limits.window_s)
        self.users = FailureLimit(limits.per_user * 20, limits.window_s)

    def retry_after(self, user: str, address: str, now: float) -> float:
        return max(
            self.pairs.retry_after(f"{user}|{address}", now),
            self.addresses.retry_after(address, now),
            self.users.retry_after(user, now),
        )

    def failed(self, user: str, address: str, now: float) -> None:
        self.pairs.fail(f"{user}|{address}", now)
        self.addresses.fail(address, now)
        self.users.fail(user, now)

    def succeeded(self, user: str, address: str) -> None:
        self.pairs.clear(f"{user}|{address}")


class Limits:
    """The shared limiter once Redis is known (the gate's client), this process's own while it fails."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.local = LoginLimiter(gate.config.auth.login_limits)
        self.shared: SharedLoginLimiter | None = None
        self.warnings = RateLimitedLog(log)

    def _shared(self) -> SharedLoginLimiter | None:
        if self.shared is None and self.gate.redis is not None:
            config = self.gate.config
            self.shared = SharedLoginLimiter(self.gate.redis, config.redis.prefix, config.auth.login_limits)
        return self.shared

    def _unshared(self, exc: Exception) -> None:
        self.warnings.warning("sign-in limits counted in this process only: Redis did not answer", type(exc).__name__)

    async def retry_after(self, user: str, address: str, now: float) -> float:
        local = self.local.retry_after(user, address, now)
        shared = self._shared()
        if shared is None:
            return local
        try:
            return max(local, await shared.retry_after(user, address))
        except (RedisError, OSError) as exc:
            self._unshared(exc)
            return local

    async def failed(self, user: str, address: str, now: float) -> None:
        shared = self._shared()
        if shared is not None:
            try:
                await shared.failed(user, address)
                return
            except (RedisError, OSError) as exc:
                self._unshared(exc)
        self.local.failed(user, address, now)

    async def succeeded(self, user: str, address: str) -> None:
        self.local.succeeded(user, address)
        shared = self._shared()
        if shared is not None:
            try:
                await shared.succeeded(user, address)
            except (RedisError, OSError) as exc:
                self._unshared(exc)


def _language(config: Config, value: str | None) -> str:
    return value if value in TEXT else config.language


def routes(gate: Gate) -> list[BaseRoute]:
    config = gate.config
    limiter = Limits(gate)
    checking = Checks(CONCURRENT_CHECKS)
    session_s = config.auth.session_hours * 3600

    def form_page(request: Request, lang: str, next_path: str, error: str = "", status: int = 200) -> Response:
        assert gate.signer is not None
        csrf = gate.signer.csrf()
        sso = config.auth.oidc
        href = "/auth/oidc/login?" + urlencode({"next": next_path}) if sso.enabled else ""
        html = login_page(lang, csrf, next_path, error, sso.name, href)
        response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
        response.raw_headers.append((b"set-cookie", cookie_header(CSRF_COOKIE, csrf, 3600, request.scope)))
        return response

    async def login_get(request: Request) -> Response:
        lang = _language(config, request.query_params.get("lang"))
        next_path = local_path(request.query_params.get("next"))
        if config.auth.open:
            return RedirectResponse(next_path, status_code=303)
        error = ""
        why = TEXT[lang].get(f"sso.{request.query_params.get('sso_error')}")  # a known code, never its text
        if why and config.auth.oidc.enabled:
            error = TEXT[lang]["sso_failed"].format(name=config.auth.oidc.name, why=why)
        return form_page(request, lang, next_path, error)

    async def login_post(request: Request) -> Response:
        assert gate.signer is not None and gate.audit is not None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return PlainTextResponse("form too large", status_code=413)
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        lang = _language(config, form.get("lang"))
        next_path = local_path(form.get("next"))
        t = TEXT[lang]
        if not gate.signer.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
            return form_page(request, lang, next_path, t["csrf"], status=403)
        name = form.get("username", "").strip().lower()[:64]
        address = client_address(request.scope)
        now = time.monotonic()
        user = gate.users.get(name)
        # The audit log names only accounts that exist: a password typed in the name box stays out.
        who = name if user is not None else "(unknown user)"
        wait = await limiter.retry_after(name, address, now)
        if wait > 0:
            gate.audit.record("signin.limited", who, address, "/login", quiet=True)
            response = form_page(request, lang, next_path, t["limited"].format(s=math.ceil(wait)), status=429)
            response.headers["retry-after"] = str(math.ceil(wait))
            return response
        if checking.locked() and checking.waiting >= MAX_WAITING_CHECKS:
            return form_page(request, lang, next_path, t["busy"], status=503)
        async with checking:
            ok = await asyncio.to_thread(verify, user, form.get("password", ""))  # (not on the event loop)
        if not ok:
            await limiter.failed(name, address, now)
            gate.audit.record("signin.fail", who, address, "/login", quiet=user is None)
            return form_page(request, lang, next_path, t["bad"], status=401)
        assert user is not None
        await limiter.succeeded(name, address)
        gate.audit.record("signin.ok", f"person:{name}", address, next_path, f"role={user.role}")
        sid = secrets.token_urlsafe(12)
        token = gate.signer.session({"k": "user", "u": name, "c": repr(user.changed), "sid": sid}, session_s)
        response = RedirectResponse(next_path, status_code=303)
        response.raw_headers.append((b"set-cookie", cookie_header(SESSION_COOKIE, token, session_s, request.scope)))
        response.raw_headers.append((b"set-cookie", cookie_header(CSRF_COOKIE, "", 0, request.scope)))
        return response

    async def logout(request: Request) -> Response:
        who = request.scope.get("state", {}).get("wallboard.principal")
        if who is not None and who.session and who.expires is not None:
            await gate.sign_out(who.session, who.expires)  # the cookie, even if kept, opens nothing now
        if gate.audit is not None and who is not None:
            gate.audit.record("signout", who.label, client_address(request.scope), "/logout")
        response = RedirectResponse("/login", status_code=303)
        response.raw_headers.append((b"set-cookie", cookie_header(SESSION_COOKIE, "", 0, request.scope)))
        return response

    async def css(_: Request) -> Response:
        return Response(CSS, media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    return [
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/auth/login.css", css, methods=["GET"]),
    ]
