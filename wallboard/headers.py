"""Security headers on every HTTP response of the web process, written to fit the Dash pages.

:class:`SecurityHeaders` is a pure ASGI middleware. To each ``http`` response it adds (unless the
app set that header itself):

- ``Content-Security-Policy``: everything from the web process itself and nothing else. Scripts:
  ours and Dash's from ``/assets`` and ``/_dash-component-suites``, plus Dash's inline scripts by
  their hashes (:func:`dash_script_hashes`); no ``'unsafe-inline'`` and no ``'unsafe-eval'`` for
  scripts: the pages need neither (Dash 4's renderer, its components and Plotly's bar charts run
  without ``eval``, checked in Chromium). Styles: ``'self'`` and ``'unsafe-inline'``, which the
  pages do need: Dash's renderer, its core components (the dropdown's chunk too) and Plotly
  insert ``<style>`` elements of their own; ``'unsafe-inline'`` for styles lets no script run.
  Images and fonts: ``'self'`` (nothing the pages draw is a ``data:`` image: Plotly's mode bar is
  off, and no Bootstrap control with a ``data:`` icon is used). Connections: ``'self'`` and the
  WebSocket of the host the page was asked for (``ws://HOST``, ``wss://HOST``, from the request's
  own ``Host`` header: browsers before CSP level 3 do not count ``ws:`` as ``'self'``). No plugins
  (``object-src 'none'``), no ``<base>``, never in a frame (``frame-ancestors 'none'``), forms only
  to this origin and ``extra_form_action``.
- ``X-Frame-Options: DENY`` (for old TV browsers that do not know ``frame-ancestors``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``Cross-Origin-Opener-Policy: same-origin``, a ``Permissions-Policy`` denying camera,
  microphone and geolocation;
- ``Strict-Transport-Security`` only on a request that came over https (the ASGI scope's scheme:
  behind a proxy, uvicorn sets it from ``X-Forwarded-Proto`` of a trusted proxy);
- ``Cache-Control`` (:func:`cache_control`): an asset whose URL names its content (Dash's
  ``?m=<mtime>`` and fingerprinted bundles, the TV-lite page's ``?v=<digest>``) is kept for a year
  and never asked again (``immutable``); anything else — pages, Dash's layout, other assets — is
  kept but asked again each time (``no-cache``: a 304 when unchanged), and ``private`` unless it is
  a static file (pages and views depend on who asks).

``Referrer-Policy`` is ``same-origin`` rather than ``no-referrer``: both send no address to
another site (the identity provider, a link), but under ``no-referrer`` a browser sends
``Origin: null`` on a same-origin form POST (Fetch, "append a request Origin header"), which
would defeat an Origin check of the sign-in form.

The WebSocket handshake gets nothing (a browser ignores those headers there). Everything is built
once; per request only the ``connect-src`` host changes, cached per ``Host`` value.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    import dash

#: A CSP hash source as ``dash.Dash.csp_hashes()`` gives them: ``'sha256-<base64>'``.
_HASH = re.compile(r"'sha(256|384|512)-[A-Za-z0-9+/]+={0,2}'")
#: A source expression of ``form-action``: a scheme and host (with port, path), no quoting tricks.
_SOURCE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9.\-\[\]:*]+(/[A-Za-z0-9._~/\-%]*)?")
#: A Host header that may go into the policy: a name, an IPv4 or a bracketed IPv6, and a port.
_HOST = re.compile(rb"(?:[a-z0-9](?:[a-z0-9\-.]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")

#: How long a browser that saw the header over https keeps to https for this host (a year).
HSTS = "max-age=31536000"
#: Host values whose policy is kept; past this the cache starts again (a client inventing hosts).
_MAX_CACHED_HOSTS = 64

_CACHE_CONTROL = b"cache-control"
_STATIC = (b"/assets/", b"/_dash-component-suites/")
#: Dash's fingerprinted bundles: ``dash_renderer.v4_2_0m1700000000.min.js``.
_FINGERPRINT = re.compile(rb"\.v[0-9a-z_]+m[0-9]+\.")
_FOREVER = b"public, max-age=31536000, immutable"


def cache_control(path: bytes, query: bytes) -> bytes:
    """The ``Cache-Control`` of an answer to ``path``?``query`` that did not set one."""
    if path.startswith(_STATIC):
        named = _FINGERPRINT.search(path) is not None or any(
            part.startswith((b"m=", b"v=")) for part in query.split(b"&")
        )
        return _FOREVER if named else b"public, no-cache"
    return b"private, no-cache"


_CSP = b"content-security-policy"
_HSTS = b"strict-transport-security"


def content_security_policy(
    script_hashes: Sequence[str], extra_form_action: Sequence[str] = (), host: str | None = None
) -> str:
    """The ``Content-Security-Policy`` value for a request whose ``Host`` header is ``host``
    (None or an unusable value: ``connect-src 'self'`` alone)."""
    before, after = _policy_parts(_checked(script_hashes, _HASH, "script hash"), _checked(extra_form_action, _SOURCE))
    return (before + _connect_src(host.encode("latin-1") if host is not None else None) + after).decode("latin-1")


def dash_script_hashes(dash_app: dash.Dash) -> list[str]:
    """The CSP hashes of every inline script of ``dash_app``'s pages, for :class:`SecurityHeaders`.

    ``dash_app.csp_hashes()`` right after the app is built misses one: with ``use_pages`` Dash adds
    the inline clientside callback that sets ``document.title`` on its first request. So Dash
    serves its index page once, in-process (its own ASGI app, in a thread of its own: the caller may
    be inside an event loop), before its hashes are read.
    """
    answers: list[int | BaseException] = []

    def serve_index() -> None:
        try:
            answers.append(asyncio.run(_get(dash_app.server, "/")))
        except BaseException as exc:  # handed to the caller's thread
            answers.append(exc)

    thread = threading.Thread(target=serve_index, name="dash index")
    thread.start()
    thread.join()
    if isinstance(answers[0], BaseException):
        raise answers[0]
    if answers[0] != 200:
        raise RuntimeError(f"Dash answered its index page with {answers[0]}")
    return list(dash_app.csp_hashes())


async def _get(app: ASGIApp, path: str) -> int:
    """The status of a GET of ``path`` straight through ``app`` (the body dropped)."""
    status: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return status[0] if status else 0


class SecurityHeaders:
    """ASGI middleware adding the security headers (module docstring) to every http response of ``app``.

    ``script_hashes``: the hashes of the inline scripts the pages carry, :func:`dash_script_hashes`
    (each ``'sha256-…'``, quoted as CSP writes it; anything else is refused with ``ValueError``);
    ``extra_form_action``: origins besides this one a form may submit to (or be redirected to after
    a submission), e.g. ``https://idp.example.com``; ``hsts``: send ``Strict-Transport-Security``
    on https requests. ``state`` is the wrapped app's (a Starlette app's ``app.state``), so what
    reads ``app.state`` of the web process still finds it.
    """

    def __init__(
        self, app: ASGIApp, *, script_hashes: Sequence[str], extra_form_action: Sequence[str] = (), hsts: bool = True
    ) -> None:
        self.app = app
        self.state: Any = getattr(app, "state", None)
        self._before, self._after = _policy_parts(
            _checked(script_hashes, _HASH, "script hash"), _checked(extra_form_action, _SOURCE)
        )
        self._fixed: tuple[tuple[bytes, bytes], ...] = (
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        )
        self._hsts = hsts
        self._by_host: dict[bytes | None, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policy(_host(scope))
        https = self._hsts and scope.get("scheme") == "https"
        path = scope.get("raw_path") or scope["path"].encode("latin-1", "replace")
        caching = cache_control(path, scope.get("query_string", b""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # (a versioned URL's error is not kept: a 404 during a deploy must not stay a year)
                kept = caching if caching != _FOREVER or message.get("status") == 200 else b"no-store"
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                if _CSP not in present:
                    headers.append((_CSP, policy))
                headers += [(name, value) for name, value in self._fixed if name not in present]
                if https and _HSTS not in present:
                    headers.append((_HSTS, HSTS.encode()))
                if _CACHE_CONTROL not in present:
                    headers.append((_CACHE_CONTROL, kept))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy(self, host: bytes | None) -> bytes:
        policy = self._by_host.get(host)
        if policy is None:
            policy = self._before + _connect_src(host) + self._after
            if len(self._by_host) >= _MAX_CACHED_HOSTS:
                self._by_host.clear()
            self._by_host[host] = policy
        return policy


def _host(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return bytes(value)
    return None


def _connect_src(host: bytes | None) -> bytes:
    if host is None:
        return b"connect-src 'self'"
    host = host.strip().lower()
    if not _HOST.fullmatch(host):
        return b"connect-src 'self'"
    return b"connect-src 'self' ws://" + host + b" wss://" + host


def _policy_parts(script_hashes: Iterable[str], form_action: Iterable[str]) -> tuple[bytes, bytes]:
    """The policy before and after its ``connect-src`` directive."""
    before = [
        "default-src 'self'",
        " ".join(["script-src 'self'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self'",
        "font-src 'self'",
    ]
    after = [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        " ".join(["form-action 'self'", *form_action]),
    ]
    return ("; ".join(before) + "; ").encode(), ("; " + "; ".join(after)).encode()


def _checked(values: Sequence[str], pattern: re.Pattern[str], what: str = "form-action source") -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"a sequence of {what}s, not one string: {values!r}")
    for value in values:
        if not pattern.fullmatch(value):
            raise ValueError(f"not a {what}: {value!r}")
    return list(values)
