"""The plain HTTP of the gate: reading a request's headers, cookies and address, writing cookies
and small answers, and keeping redirects on this site. No policy here: :mod:`wallboard.doors.gate`
decides; this module only speaks ASGI."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (``/team/norte?x=1``), else ``default``: never
    ``//host``, ``/\\host``, a scheme or a control character (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 0x20 or c == "\\" for c in target) or len(target) > 2000:
        return default
    return target


def cookies(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header reads as no cookies
                continue
            out.update({k: m.value for k, m in jar.items()})
    return out


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


def is_secure(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def cookie_header(name: str, value: str, max_age_s: float, scope: Scope, path: str = "/") -> bytes:
    secure = "; Secure" if is_secure(scope) else ""
    return f"{name}={value}; Max-Age={int(max_age_s)}; Path={path}; HttpOnly; SameSite=Lax{secure}".encode()


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b""
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def plain(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def refused_page(send: Send, language: str, status: int = 403) -> None:
    from wallboard.doors.pages import refused_page as page

    body = page(language, status).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
