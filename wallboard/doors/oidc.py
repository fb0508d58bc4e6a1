"""Single sign-on over OpenID Connect, with Authlib's Starlette client.

``GET /auth/oidc/login`` sends the browser to the provider (authorization code flow
with PKCE S256, a state and a nonce); ``GET /auth/oidc/callback`` exchanges the code,
has Authlib check the ID token (signature from the provider's JWKS, issuer,
audience, expiry within ``leeway_s``, nonce), reads the person's groups from the
configured claim (the ID token's, else the userinfo endpoint's), and maps them to
a role and teams by ``auth.oidc.roles``: the highest role any group maps to, with the
teams and screens of every mapping at that role. A person in no mapped group is
refused. The session cookie then carries that role and those teams, signed, for
``auth.session_hours``.

Authlib keeps the flow's state in ``request.session``; here that is a signed cookie
of its own (``wb_oidc``, ten minutes, path ``/auth/oidc``), so no server-side session
store is needed and any web process can finish a flow another one started.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from wallboard.config import ROLES, OidcSettings
from wallboard.doors.http import client_address, cookie_header, is_secure, local_path
from wallboard.tokens import SESSION_COOKIE

if TYPE_CHECKING:
    from wallboard.doors.gate import Gate

log = logging.getLogger("wallboard.web")

FLOW_COOKIE = "wb_oidc"
#: Why a single sign-on failed, as the sign-in page is told (a code: the page shows its own words).
SSO_ERRORS = {
    "provider unreachable": "unreachable",
    "sign-in expired, start again": "expired",
    "provider refused": "refused",
    "the provider's answer did not verify": "unverified",
    "no role for this account": "no_role",
}
FLOW_MAX_AGE_S = 600


def map_groups(settings: OidcSettings, groups: list[str]) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """The role, teams and screens the groups give (``None``: no group is mapped)."""
    matched = [m for m in settings.roles if m.group in groups]
    if not matched:
        return None
    role = max((m.role for m in matched), key=ROLES.index)
    at_role = [m for m in matched if m.role == role]
    teams = tuple(sorted({t for m in at_role for t in m.teams}))
    # A supervisor mapping without screens means the whole floor: one such mapping opens all.
    screens: tuple[str, ...] = ()
    if all(m.screens for m in at_role):
        screens = tuple(sorted({s for m in at_role for s in m.screens}))
    if role == "supervisor" and not all(m.teams for m in at_role):
        teams = ()
    return role, teams, screens


def groups_of(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def routes(gate: Gate) -> list[BaseRoute]:
    settings = gate.config.auth.oidc
    if not settings.enabled:
        return []
    oauth = OAuth()
    oauth.register(
        name="sso",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": " ".join(settings.scopes), "code_challenge_method": "S256"},
    )
    client: Any = oauth.create_client("sso")
    session_s = gate.config.auth.session_hours * 3600

    def flow_serializer() -> URLSafeTimedSerializer:
        assert gate.signer is not None
        return gate.signer.flow

    def origin(request: Request) -> str:
        if gate.config.web.public_origins:
            return gate.config.web.public_origins[0]
        scheme = "https" if is_secure(request.scope) else "http"
        return f"{scheme}://{request.headers.get('host', '')}"

    def with_flow(response: Response, request: Request, flow: dict[str, Any]) -> Response:
        value = flow_serializer().dumps(flow) if flow else ""
        response.raw_headers.append(
            (
                b"set-cookie",
                cookie_header(FLOW_COOKIE, value, FLOW_MAX_AGE_S if flow else 0, request.scope, "/auth/oidc"),
            )
        )
        return response

    async def start(request: Request) -> Response:
        request.scope["session"] = {}
        try:
            redirect = await client.authorize_redirect(request, origin(request) + "/auth/oidc/callback")
        except Exception as exc:  # the provider unreachable or its metadata wrong
            log.warning("single sign-on could not start: %s", type(exc).__name__)
            return failed(request, "provider unreachable")
        flow = {"session": request.scope["session"], "next": local_path(request.query_params.get("next"))}
        return with_flow(redirect, request, flow)

    def failed(request: Request, why: str) -> Response:
        if gate.audit is not None:
            gate.audit.record("signin.fail", "", client_address(request.scope), "/auth/oidc/callback", why)
        query = urlencode({"sso_error": SSO_ERRORS.get(why, "failed")})
        return with_flow(RedirectResponse(f"/login?{query}", status_code=303), request, {})

    async def callback(request: Request) -> Response:
        try:
            flow = flow_serializer().loads(request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_MAX_AGE_S)
        except BadSignature:
            return failed(request, "sign-in expired, start again")
        if not isinstance(flow, dict) or not isinstance(flow.get("session"), dict):
            return failed(request, "sign-in expired, start again")
        request.scope["session"] = flow["session"]
        try:
            token = await client.authorize_access_token(request, leeway=settings.leeway_s)
        except OAuthError:
            return failed(request, "provider refused")
        except Exception as exc:  # an ID token that does not verify, the token endpoint down…
            log.warning("single sign-on failed: %s", type(exc).__name__)
            return failed(request, "the provider's answer did not verify")
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if settings.groups_claim not in claims:
            try:
                claims.update(await client.userinfo(token=token))
            except Exception as exc:
                log.warning("single sign-on: userinfo failed: %s", type(exc).__name__)
        name = str(claims.get(settings.username_claim) or claims.get("sub") or "")[:128]
        mapped = map_groups(settings, groups_of(claims, settings.groups_claim))
        if not name or mapped is None:
            return failed(request, "no role for this account")
        role, teams, screens = mapped
        assert gate.signer is not None
        session = gate.signer.session(
            {"k": "oidc", "u": name, "r": role, "t": list(teams), "s": list(screens), "sid": secrets.token_urlsafe(12)},
            session_s,
        )
        if gate.audit is not None:
            gate.audit.record(
                "signin.ok", f"person:{name}", client_address(request.scope), "/auth/oidc", f"role={role}"
            )
        response = RedirectResponse(local_path(flow.get("next")), status_code=303)
        response.raw_headers.append((b"set-cookie", cookie_header(SESSION_COOKIE, session, session_s, request.scope)))
        return with_flow(response, request, {})

    return [
        Route("/auth/oidc/login", start, methods=["GET"]),
        Route("/auth/oidc/callback", callback, methods=["GET"]),
    ]
