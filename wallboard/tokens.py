"""Signed cookies: a person's session, a screen's display token, and the login form's CSRF token.

The browser never holds a key or a password: a session cookie carries the user
name and when their password last changed (or, for single sign-on, the role and
teams the provider's groups mapped to) with an expiry; a screen's cookie carries
its key's name and record id. Both are signed with itsdangerous (HMAC-SHA512 over
the payload and a timestamp) under the wallboard's secret: ``auth.secret``, or a
random secret kept in Redis that every web process of this wallboard shares.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from wallboard.redis_client import Client

SESSION_COOKIE = "wb_session"
DISPLAY_COOKIE = "wb_display"
CSRF_COOKIE = "wb_csrf"


async def shared_secret(client: Client, prefix: str, configured: str) -> str:
    """``configured`` if set, else the random secret under ``{prefix}auth:secret`` (made once)."""
    if configured:
        return configured
    key = f"{prefix}auth:secret"
    await client.set(key, secrets.token_urlsafe(48), nx=True)
    value = await client.get(key)
    assert value is not None
    return value.decode() if isinstance(value, bytes) else str(value)


class Signer:
    """Makes and checks the signed cookies; a bad or expired one reads as ``None``."""

    def __init__(self, secret: str) -> None:
        self._session = URLSafeTimedSerializer(
            secret, salt="wallboard.session", signer_kwargs={"digest_method": hashlib.sha512}
        )
        self._display = URLSafeTimedSerializer(
            secret, salt="wallboard.display", signer_kwargs={"digest_method": hashlib.sha512}
        )
        self._csrf = URLSafeTimedSerializer(
            secret, salt="wallboard.csrf", signer_kwargs={"digest_method": hashlib.sha512}
        )
        #: The state of a single sign-on in progress (read back with a max age).
        self.flow = URLSafeTimedSerializer(
            secret, salt="wallboard.oidc-flow", signer_kwargs={"digest_method": hashlib.sha512}
        )

    def session(self, payload: dict[str, Any], max_age_s: float) -> str:
        return self._session.dumps({**payload, "exp": time.time() + max_age_s})

    def read_session(self, token: str | None) -> dict[str, Any] | None:
        data = _loads(self._session, token)
        if data is None or not isinstance(data.get("exp"), int | float) or data["exp"] < time.time():
            return None
        return data

    def display(self, name: str, key_id: str) -> str:
        return self._display.dumps({"n": name, "i": key_id})

    def read_display(self, token: str | None) -> tuple[str, str] | None:
        data = _loads(self._display, token)
        if data is None or not isinstance(data.get("n"), str) or not isinstance(data.get("i"), str):
            return None
        return data["n"], data["i"]

    def csrf(self) -> str:
        return self._csrf.dumps(secrets.token_urlsafe(16))

    def csrf_ok(self, cookie: str | None, form: str | None, max_age_s: int = 3600) -> bool:
        """The double-submit check: the form's token equals the cookie's, and is ours and recent."""
        if not cookie or not form or not secrets.compare_digest(cookie, form):
            return False
        try:
            self._csrf.loads(cookie, max_age=max_age_s)
        except BadSignature:
            return False
        return True


def _loads(serializer: URLSafeTimedSerializer, token: str | None) -> dict[str, Any] | None:
    if not token or len(token) > 4096:
        return None
    try:
        data = serializer.loads(token)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None
