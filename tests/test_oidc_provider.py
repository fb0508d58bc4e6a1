"""The test OpenID Connect provider (tests/oidc, panva's oidc-provider on Node.js) against a real client:
Authlib's OAuth2Client for the authorization-code flow, Debian's Chromium signing in on the provider's
page, a real socket as the redirect_uri, and the ID token checked with the provider's JWKS as Authlib's
OpenID client checks it."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.request
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate  # noqa: F401  (its "always" filter first, so the one below is on top of it)
import pytest
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from tests.oidc_provider import OidcProvider, password

with warnings.catch_warnings():
    # Authlib 1.9 without httpx2 installed warns at import that it falls back to httpx: not our concern here.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

CLIENT_ID = "wallboard"
CLIENT_SECRET = "s3cret-of-the-wallboard"
ANA = {
    "sub": "0b7e-ana",
    "preferred_username": "ana",
    "name": "Ana Pérez",
    "email": "ana@example.test",
    "groups": ["wallboard-supervisors", "floor-norte"],
}
LUIS = {
    "sub": "9f21-luis",
    "preferred_username": "luis",
    "name": "Luis Gil",
    "email": "luis@example.test",
    "groups": ["wallboard-managers"],
}


class Callback:
    """The client's redirect_uri: a real HTTP listener on loopback that keeps every query it is sent."""

    def __init__(self) -> None:
        received = self.received = list[str]()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/auth/callback"):  # the browser's /favicon.ico
                    self.send_error(404)
                    return
                received.append(self.path)
                body = b"<!DOCTYPE html><title>back at the client</title><p id=back>back</p>"
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/auth/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def last(self) -> dict[str, str]:
        assert self.received, "the provider never redirected to the client"
        return {k: v[0] for k, v in parse_qs(urlsplit(self.received[-1]).query).items()}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def callback() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.close()


@pytest.fixture(scope="module")
def provider(callback: Callback) -> Iterator[OidcProvider]:
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [callback.uri], [ANA, LUIS]) as op:
        yield op


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()  # its own cookies: no session at the provider yet
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        data: dict[str, Any] = json.load(resp)
        return data


def metadata(provider: OidcProvider) -> dict[str, Any]:
    return get_json(provider.discovery_url)


def authorize(
    provider: OidcProvider, callback: Callback, page: Any, client: OAuth2Client, account: dict[str, Any], **params: Any
) -> tuple[str, dict[str, str]]:
    """Send the browser to the authorization endpoint, sign in, and return the state sent and the
    callback's query."""
    meta = metadata(provider)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], **params)
    assert ("code_challenge_method=S256" in url) == ("code_verifier" in params), url
    before = len(callback.received)
    page.goto(url)
    landed = provider.login(page, account["preferred_username"], password(account["preferred_username"]))
    assert landed.startswith(callback.uri + "?"), landed
    assert len(callback.received) == before + 1
    return state, callback.last()


def verified_id_token(provider: OidcProvider, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """The ID token's claims, checked as Authlib's OpenID client does (signature with the JWKS, then
    iss, aud, exp, iat, nonce and at_hash)."""
    meta = metadata(provider)
    keys = KeySet.import_key_set(get_json(meta["jwks_uri"]))  # type: ignore[arg-type]
    decoded = jwt.decode(
        token["id_token"],
        keys,
        registry=JWSRegistry(algorithms=meta["id_token_signing_alg_values_supported"], strict_check_header=False),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [provider.issuer]}},
        {"nonce": nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    return dict(claims)


def test_discovery_names_the_endpoints(provider: OidcProvider) -> None:
    meta = metadata(provider)
    assert provider.issuer == f"http://127.0.0.1:{provider.port}"
    assert meta["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert meta[endpoint].startswith(provider.issuer + "/"), endpoint
    assert get_json(meta["jwks_uri"])["keys"][0]["kty"] == "RSA"
    assert "code" in meta["response_types_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "groups"} <= set(meta["scopes_supported"])
    assert "groups" in meta["claims_supported"]


def test_code_flow_with_pkce_and_client_secret_basic(provider: OidcProvider, callback: Callback, page: Any) -> None:
    meta = metadata(provider)
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile email",
        redirect_uri=callback.uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as client:
        state, query = authorize(provider, callback, page, client, ANA, code_verifier=verifier, nonce=nonce)
        assert query["state"] == state and query["iss"] == provider.issuer and query["code"]
        token = client.fetch_token(
            meta["token_endpoint"],
            authorization_response=callback.uri + "?" + urlsplit(callback.received[-1]).query,
            code_verifier=verifier,
        )
        assert token["token_type"].lower() == "bearer"
        claims = verified_id_token(provider, token, nonce)
        assert claims["sub"] == ANA["sub"]
        assert claims["preferred_username"] == "ana"
        assert claims["groups"] == ANA["groups"]
        assert claims["name"] == ANA["name"] and claims["email"] == ANA["email"]
        assert claims["aud"] == CLIENT_ID

        userinfo = client.get(meta["userinfo_endpoint"]).json()
        assert userinfo["sub"] == ANA["sub"] and userinfo["groups"] == ANA["groups"]
    assert "login ana" in provider.output()


def test_code_flow_without_pkce_and_client_secret_post(provider: OidcProvider, callback: Callback, page: Any) -> None:
    meta = metadata(provider)
    nonce = secrets.token_urlsafe(16)
    with OAuth2Client(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid groups",  # groups alone: the claim without the profile
        redirect_uri=callback.uri,
        token_endpoint_auth_method="client_secret_post",
    ) as client:
        state, query = authorize(provider, callback, page, client, LUIS, nonce=nonce)
        assert query["state"] == state
        token = client.fetch_token(meta["token_endpoint"], code=query["code"])
        claims = verified_id_token(provider, token, nonce)
    assert claims["sub"] == LUIS["sub"]
    assert claims["groups"] == ["wallboard-managers"]
    assert "preferred_username" not in claims and "email" not in claims  # not asked for


def test_a_code_needs_the_secret_and_the_verifier_and_is_good_once(
    provider: OidcProvider, callback: Callback, page: Any
) -> None:
    meta = metadata(provider)
    verifier = secrets.token_urlsafe(48)
    kwargs: dict[str, Any] = {"redirect_uri": callback.uri, "scope": "openid"}
    with OAuth2Client(CLIENT_ID, CLIENT_SECRET, code_challenge_method="S256", **kwargs) as client:
        _, query = authorize(provider, callback, page, client, ANA, code_verifier=verifier)
        code = query["code"]
        with OAuth2Client(CLIENT_ID, "not-the-secret", **kwargs) as impostor:
            with pytest.raises(OAuthError) as refused:
                impostor.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
            assert refused.value.error == "invalid_client"
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(meta["token_endpoint"], code=code, code_verifier=secrets.token_urlsafe(48))
        assert refused.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as refused:  # a challenge was sent: the verifier is not optional
            client.fetch_token(meta["token_endpoint"], code=code)
        assert refused.value.error == "invalid_grant"
        # Refused attempts do not use the code up (oidc-provider checks PKCE before consuming it) ...
        assert client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)["id_token"]
        with pytest.raises(OAuthError) as refused:  # ... but a code exchanged once is never good again
            client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
        assert refused.value.error == "invalid_grant"


def test_a_wrong_password_is_refused_on_the_page(provider: OidcProvider, callback: Callback, page: Any) -> None:
    meta = metadata(provider)
    with OAuth2Client(CLIENT_ID, CLIENT_SECRET, scope="openid", redirect_uri=callback.uri) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"])
    before = len(callback.received)
    page.goto(url)
    with pytest.raises(AssertionError, match="Invalid username or password"):
        provider.login(page, "ana", "secret-luis")
    with pytest.raises(AssertionError, match="Invalid username or password"):
        provider.login(page, "nobody", password("nobody"))
    assert len(callback.received) == before
    landed = provider.login(page, "ana", password("ana"))  # the same page still signs in
    assert landed.startswith(callback.uri) and "code=" in landed
