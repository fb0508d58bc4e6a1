"""Every door of the web process tried with every kind of visitor, over real sockets.

A real uvicorn serves the real app on a real Redis; people are real entries of a
users file (argon2 hashes), display keys real records in Redis. Each test signs in
through the real login form (CSRF token and all) with httpx, and opens sockets with
a real WebSocket client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wallboard.layouts  # noqa: F401 - Dash sets its context at import: in the main context, not one test's
from tests.helpers import free_port, until, uvicorn_serving
from tests.stack import demo_config
from wallboard.config import ConfigError, parse_config
from wallboard.display_keys import KeyStore
from wallboard.streams import Streams
from wallboard.users import UserStore
from wallboard.web import server_config

PASSWORDS = {
    "lucia": "norte-leader-pw",
    "sergio": "floor-super-pw",
    "marta": "the-manager-pw",
    "root": "admin-password",
}


class Site:
    def __init__(self, port: int, keys: KeyStore, users: UserStore, streams: Streams) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.keys = keys
        self.users = users
        self.streams = streams

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, follow_redirects=False, timeout=10, **kw)

    @contextlib.asynccontextmanager
    async def signed_in(self, name: str, password: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as c:
            await self.sign_in(c, name, password)
            yield c

    async def sign_in(self, c: httpx.AsyncClient, name: str, password: str | None = None) -> None:
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        r = await c.post(
            "/login",
            data={"csrf": csrf.group(1), "username": name, "password": password or PASSWORDS[name], "next": "/"},
        )
        assert r.status_code == 303, (r.status_code, r.text[:300])

    def socket(self, headers: dict[str, str] | None = None, origin: str | None = None) -> Any:
        return websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws",
            additional_headers=headers or {},
            origin=origin,  # type: ignore[arg-type]
            open_timeout=10,
            compression=None,
        )


def cookie_header(c: httpx.AsyncClient) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in c.cookies.items())}


async def subscribe(site: Site, selector: dict[str, Any], headers: dict[str, str]) -> tuple[str, Any]:
    """("open", first message) or ("closed", close code)."""
    async with site.socket(headers) as ws:
        try:
            await ws.send(json.dumps({"subscribe": selector}))
            return "open", json.loads(await asyncio.wait_for(ws.recv(), 10))
        except ConnectionClosed as exc:
            return "closed", exc.rcvd.code if exc.rcvd else None


@pytest.fixture
async def site(tmp_path: Path, redis_url: str, prefix: str, streams: Streams) -> AsyncIterator[Site]:
    async with serving(tmp_path, redis_url, prefix, streams) as s:
        yield s


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams, auth: dict[str, Any] | None = None, **web: Any
) -> AsyncIterator[Site]:
    raw = demo_config()
    raw["redis"].update(url=redis_url, prefix=prefix)
    raw["web"].update(port=free_port(), heartbeat_s=1, health_token="a-token-for-the-monitor", **web)
    raw["auth"] = {"users_file": str(tmp_path / "users.yaml"), "login_limits": {"per_user": 3, "window_s": 60}}
    raw["auth"].update(auth or {})
    raw["collectors"] = []
    config = parse_config(raw, source="test")
    users = UserStore(config.users_file())
    users.add("lucia", "team_leader", PASSWORDS["lucia"], teams=("norte",))
    users.add("sergio", "supervisor", PASSWORDS["sergio"])
    users.add("marta", "manager", PASSWORDS["marta"])
    users.add("root", "admin", PASSWORDS["root"])
    keys = KeyStore(streams.redis, prefix)
    snap = _snapshot()
    await streams.publish_snapshot(snap["seq"], json.dumps(snap))
    async with uvicorn_serving(server_config(config, redis_url)) as server:
        app = server.config.loaded_app
        await until(lambda: _gate(app).signer is not None, 10, "the gate is ready")
        yield Site(config.web.port, keys, users, streams)


def _gate(app: Any) -> Any:
    while not hasattr(app, "signer"):
        app = app.app
    return app


def _snapshot() -> dict[str, Any]:
    import time

    agents = {
        "raul.serrano": {"name": "Raúl Serrano", "team": "norte", "state": "available"},
        "diego.diaz": {"name": "Diego Díaz", "team": "sur", "state": "on_call"},
    }
    return {
        "seq": 1,
        "now": time.time(),
        "generated_at": time.time(),
        "queues": {},
        "teams": {"norte": {"queues": ["ventas", "retencion"]}, "sur": {"queues": ["soporte", "facturacion"]}},
        "agents": agents,
        "screens": {"ventas": {"title": "Ventas"}, "sala": {"title": "Sala"}},
        "centre": {},
        "sources": {},
    }


# ------------------------------------------------------------------- anyone


async def test_anyone_is_sent_to_sign_in_and_learns_nothing(site: Site) -> None:
    async with site.client() as c:
        for page in ("/", "/wall/sala", "/tv/sala", "/team/norte", "/manager"):
            r = await c.get(page)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (page, r.status_code)
        for internal in ("/_dash-layout", "/_dash-dependencies"):
            assert (await c.get(internal)).status_code == 401
        r = await c.post("/_dash-update-component", json=_callback("/manager"))
        assert r.status_code == 401
        health = await c.get("/healthz")
        assert set(health.json()) == {"status"}
        full = await c.get("/healthz", headers={"authorization": "Bearer a-token-for-the-monitor"})
        assert "sources" in full.json() and "connections" in full.json()
        css = await c.get("/auth/login.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        login = await c.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text and "Contraseña" in login.text
        assert "Password" in (await c.get("/login?lang=en")).text
    state, code = await subscribe(site, {"view": "manager"}, {})
    assert (state, code) == ("closed", 4401)


def _callback(pathname: str) -> dict[str, Any]:
    """The body Dash's renderer posts for its page callback."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }


# ------------------------------------------------------------------- people


async def test_a_team_leader_reads_their_team_by_every_route_and_no_other(site: Site) -> None:
    async with site.signed_in("lucia") as c:
        assert (await c.get("/team/norte")).status_code == 200
        assert (await c.get("/wall/ventas")).status_code == 200  # it shows only queues norte serves
        assert (await c.get("/tv/ventas")).status_code == 200  # and its TV-lite page
        for other in ("/team/sur", "/team/noche", "/manager", "/wall/sala", "/wall/all", "/wall/soporte", "/tv/sala"):
            r = await c.get(other)
            assert r.status_code == 403 and "Sin permiso" in r.text, other
        ok = await c.post("/_dash-update-component", json=_callback("/team/norte"), headers={"origin": site.base})
        assert ok.status_code == 200 and "norte" in ok.text, ok.text[:2000]
        for other in ("/team/sur", "/manager", "/wall/sala", "/nonsense"):
            r = await c.post("/_dash-update-component", json=_callback(other), headers={"origin": site.base})
            assert r.status_code == 403, other
        home = await c.get("/")
        assert home.status_code == 200
        state, view = await subscribe(site, {"view": "team", "team": "norte"}, cookie_header(c))
        assert state == "open" and set(view["view"]["agents"]) == {"raul.serrano"}
        for selector in ({"view": "team", "team": "sur"}, {"view": "manager"}, {"view": "wall", "screens": ["sala"]}):
            assert await subscribe(site, selector, cookie_header(c)) == ("closed", 4403), selector
        assert (await c.get("/healthz")).json().keys() == {"status"}


async def test_each_role_opens_what_it_should(site: Site) -> None:
    expect = {
        "sergio": {"/team/sur": 200, "/wall/sala": 200, "/wall/all": 200, "/manager": 403},
        "marta": {"/team/sur": 200, "/wall/sala": 200, "/manager": 200},
        "root": {"/team/sur": 200, "/manager": 200},
    }
    for name, pages in expect.items():
        async with site.signed_in(name) as c:
            for page, status in pages.items():
                assert (await c.get(page)).status_code == status, (name, page)
            health = (await c.get("/healthz")).json()
            assert ("sources" in health) == (name == "root"), name


async def test_sign_in_checks_the_password_the_form_and_the_rate(site: Site) -> None:
    def token(page: httpx.Response) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    async with site.client() as c:
        page = await c.get("/login")
        form = {"csrf": token(page), "username": "lucia", "password": "wrong-password", "next": "/team/norte"}
        other_site = await c.post("/login", data=form, headers={"origin": "http://evil.example"})
        assert other_site.status_code == 403
        no_token = await c.post("/login", data={**form, "csrf": "forged"})
        assert no_token.status_code == 403  # (the page answered carries a new token)
        form["csrf"] = token(no_token)
        for _ in range(3):
            r = await c.post("/login", data=form)
            assert r.status_code == 401 and "incorrectos" in r.text
            form["csrf"] = token(r)
        limited = await c.post("/login", data={**form, "password": PASSWORDS["lucia"]})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        form["csrf"] = token(limited)
        nobody = await c.post("/login", data={**form, "username": "nobody"})
        assert nobody.status_code == 401
    # (another user name is not limited by lucia's failures)
    async with site.signed_in("marta"):
        pass


async def test_a_session_is_signed_and_ends_with_a_password_change_or_removal(site: Site) -> None:
    async with site.signed_in("lucia") as c:
        token = c.cookies["wb_session"]
        assert "norte-leader-pw" not in token
        forged = site.client(cookies={"wb_session": token[:-4] + "AAAA"})
        async with forged:
            assert (await forged.get("/team/norte")).status_code == 303
        async with site.socket(cookie_header(c)) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "team", "team": "norte"}}))
            await ws.recv()
            site.users.set_password("lucia", "a-new-password-1")
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10):  # heartbeats every second until it closes
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert (await c.get("/team/norte")).status_code == 303
    async with site.signed_in("lucia", "a-new-password-1") as c:
        assert (await c.get("/team/norte")).status_code == 200
        site.users.remove("lucia")
        await asyncio.sleep(1.1)  # the users file is looked at once a second
        assert (await c.get("/team/norte")).status_code == 303


# ------------------------------------------------------------------- display keys


async def test_a_display_key_opens_its_screens_only_and_its_cookie_is_not_the_key(site: Site) -> None:
    record, key = await site.keys.add("tv-ventas", screens=("ventas",))
    await asyncio.sleep(1.2)  # the web process refreshes its keys every second
    async with site.client() as c:
        r = await c.get(f"/wall/ventas?key={key}&lang=en")
        assert r.status_code == 303 and r.headers["location"] == "/wall/ventas?lang=en"
        assert key not in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
        assert (await c.get("/wall/ventas")).status_code == 200
        assert (await c.get("/tv/ventas")).status_code == 200
        for other in ("/wall/sala", "/tv/sala", "/tv/all", "/team/norte", "/manager"):
            assert (await c.get(other)).status_code == 403, other
        assert (await c.get("/wall/sala?key=wbk_not-a-key")).status_code == 401
        headers = cookie_header(c)
    assert (await subscribe(site, {"view": "wall", "screens": ["ventas"]}, headers))[0] == "open"
    for selector in ({"view": "team", "team": "norte"}, {"view": "manager"}, {"view": "wall", "screens": ["sala"]}):
        assert await subscribe(site, selector, headers) == ("closed", 4403), selector
    async with websockets.connect(f"ws://127.0.0.1:{site.port}/ws?key={key}", open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as closed:  # a key in a socket's address opens nothing
            await ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["ventas"]}}))
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    bearer = {"authorization": f"Bearer {key}"}
    assert (await subscribe(site, {"view": "wall", "screens": ["ventas"]}, bearer))[0] == "open"
    assert await subscribe(site, {"view": "team", "team": "norte"}, bearer) == ("closed", 4403)
    seen = await until(site.keys.last_seen, 5, "the key's last use written")  # (at most once a minute per key)
    assert abs(seen[record.name] - time.time()) < 10


async def test_revoking_a_key_closes_its_screens_at_once(site: Site) -> None:
    _, key = await site.keys.add("tv-sala", screens=("sala",))
    await asyncio.sleep(1.2)
    async with site.client() as c:
        await c.get(f"/wall/sala?key={key}")
        async with site.socket(cookie_header(c)) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["sala", "ventas", "soporte"]}}))
            await ws.recv()
            await site.keys.revoke("tv-sala")
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10):  # heartbeats every second until it closes
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            assert loop.time() - start < 3
        assert (await c.get("/wall/sala")).status_code == 303
    # a new key under the same name does not revive the old one's screens
    await site.keys.add("tv-sala", screens=("sala",))
    await asyncio.sleep(1.2)
    async with site.client(cookies=c.cookies) as again:
        assert (await again.get("/wall/sala")).status_code == 303


# ------------------------------------------------------------------- the doors themselves


async def test_cookies_are_secure_when_a_trusted_proxy_says_https(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams
) -> None:
    async with serving(tmp_path, redis_url, prefix, streams, trusted_proxies=["127.0.0.1"]) as proxied:
        c = proxied.client()
        async with c:
            plain = await c.get("/login")
            assert "Secure" not in plain.headers["set-cookie"]
            tls = await c.get("/login", headers={"x-forwarded-proto": "https"})
            assert tls.headers["set-cookie"].endswith("; Secure")
    async with serving(tmp_path / "direct", redis_url, prefix + "x:", streams) as direct:  # no proxy trusted
        c = direct.client()
        async with c:
            spoofed = await c.get("/login", headers={"x-forwarded-proto": "https"})
            assert "Secure" not in spoofed.headers["set-cookie"]


async def test_a_page_of_another_origin_cannot_open_the_socket(site: Site) -> None:
    async with site.signed_in("marta") as c:
        headers = cookie_header(c)
        with pytest.raises(InvalidStatus) as refused:
            async with site.socket(headers, origin="http://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        async with site.socket(headers, origin=site.base) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            assert json.loads(await ws.recv())["type"] == "full"
        r = await c.post(
            "/_dash-update-component", json=_callback("/manager"), headers={"origin": "http://evil.example"}
        )
        assert r.status_code == 403


async def test_no_redirect_leaves_the_site(site: Site) -> None:
    _, key = await site.keys.add("tv-x", screens=("ventas",))
    await asyncio.sleep(1.2)
    async with site.client() as c:
        for path in (f"//evil.example/x?key={key}", f"/\\evil.example?key={key}"):
            r = await c.get(path)
            location = r.headers.get("location", "")
            assert not location.startswith(("//", "/\\", "http")), (path, location)
        r = await c.get("/login?next=//evil.example/")
        assert 'name="next" value="/"' in r.text
        async with site.signed_in("marta") as c2:
            for target in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
                page = await c2.get("/login")
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                r = await c2.post(
                    "/login", data={"csrf": csrf, "username": "marta", "password": PASSWORDS["marta"], "next": target}
                )
                assert r.headers["location"] == "/", target


async def test_audit_log_records_sign_ins_refusals_and_keys(site: Site) -> None:
    async with site.signed_in("lucia") as c:
        await c.get("/team/sur")
    async with site.client() as anon:
        await anon.post("/login", data={"csrf": "x", "username": "x", "password": "y"})
    await asyncio.sleep(0.3)
    entries = await site.streams.redis.xrange(f"{site.keys.keys.removesuffix('auth:keys')}audit")
    text = [{_s(k): _s(v) for k, v in f.items()} for _id, f in entries]
    events = [(f["event"], f["who"], f["at"]) for f in text]
    assert ("signin.ok", "person:lucia", "/") in events
    assert ("refused", "person:lucia", "/team/sur") in events
    assert all("password" not in k and "norte-leader-pw" not in v for f in text for k, v in f.items())


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


Fixture = Callable[..., contextlib.AbstractAsyncContextManager[Any]]


def test_display_keys_in_the_config_are_refused_with_the_way_forward() -> None:
    raw = demo_config()
    raw["web"]["display_keys"] = [{"name": "tv", "key": "a-display-key-0123456789"}]
    with pytest.raises(ConfigError, match="wallboard display-key add"):
        parse_config(raw, source="old-config")


# ------------------------------------------------------------------- what a review tried


async def test_dash_callback_is_read_as_dash_reads_it(site: Site) -> None:
    async with site.signed_in("lucia") as c:
        h = {"origin": site.base}
        body = _callback("/team/norte")
        swapped = {**body, "inputs": [body["inputs"][1] | {"value": "/team/sur"}, body["inputs"][0]]}
        assert (await c.post("/_dash-update-component", json=swapped, headers=h)).status_code == 403
        three = {**body, "inputs": [*body["inputs"], {"id": "x", "property": "pathname", "value": "/manager"}]}
        assert (await c.post("/_dash-update-component", json=three, headers=h)).status_code == 403
        for search in ("?team=sur", "?TEAM=sur", "?screen=sala", "?x=1&team=sur"):
            crafted = {**body, "inputs": [body["inputs"][0], body["inputs"][1] | {"value": search}]}
            assert (await c.post("/_dash-update-component", json=crafted, headers=h)).status_code == 403, search
            assert (await c.get(f"/team/norte{search}")).status_code == 403, search
        assert (await c.post("/_dash-update-component", json=body, headers=h)).status_code == 200
        for framework in ("/docs", "/redoc", "/openapi.json"):
            assert (await c.get(framework)).status_code == 404


async def test_signing_out_ends_the_session_even_for_a_kept_cookie(site: Site) -> None:
    async with site.signed_in("marta") as c:
        kept = dict(c.cookies)
        async with site.socket(cookie_header(c)) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            await ws.recv()
            r = await c.post("/logout", headers={"origin": site.base})
            assert r.status_code == 303
            with pytest.raises(ConnectionClosed):
                for _ in range(10):
                    await asyncio.wait_for(ws.recv(), 5)
    async with site.client(cookies=kept) as replay:
        assert (await replay.get("/manager")).status_code == 303


async def test_a_socket_closes_when_its_session_expires(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams
) -> None:
    async with (
        serving(tmp_path, redis_url, prefix, streams, auth={"session_hours": 0.001}) as short,  # 3.6 s
        short.signed_in("marta") as c,
        short.socket(cookie_header(c)) as ws,
    ):
        await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
        await ws.recv()
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(20):
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert time.monotonic() - t0 < 6
        assert (await c.get("/manager")).status_code == 303


async def test_a_key_made_again_under_its_name_within_a_second_closes_the_old_sockets(site: Site) -> None:
    _, key = await site.keys.add("tv-norte", teams=("norte",))
    headers = {"authorization": f"Bearer {key}"}  # (a key just made is known at once)
    async with site.socket(headers) as ws:
        await ws.send(json.dumps({"subscribe": {"view": "team", "team": "norte"}}))
        await ws.recv()
        await site.keys.revoke("tv-norte")
        await site.keys.add("tv-norte", teams=("norte",))  # a rotation script, between two looks
        with pytest.raises(ConnectionClosed):
            for _ in range(10):
                await asyncio.wait_for(ws.recv(), 5)


async def test_a_flood_of_unknown_visitors_keeps_the_audit_log_small_and_honest(site: Site) -> None:
    t0 = time.monotonic()
    async with site.client() as c:
        await asyncio.gather(*(c.get("/" + "A" * 5000 + str(i)) for i in range(400)))
        await c.get("/team/x%0A2026-12-01 16:30:00,000 INFO wallboard.audit[1]: audit key.setup")
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        forged = "x\n2026-12-01 INFO wallboard.audit: audit signin.ok who=person:admin"
        await c.post("/login", data={"csrf": csrf, "username": forged, "password": "my-secret-pw!"})
        await asyncio.sleep(0.3)
    entries = await site.streams.redis.xrange(f"{site.keys.keys.removesuffix('auth:keys')}audit")
    text = [{_s(k): _s(v) for k, v in f.items()} for _id, f in entries]
    allowed = 200 + 20 * (time.monotonic() - t0) + 2  # 20 a second, bursts of 200: not 400 + 2
    assert len(text) <= allowed, (len(text), allowed)
    bad = [v for f in text for v in f.values() if len(v) > 200 or not v.isprintable()]
    assert not bad, bad[:3]
    assert not any("my-secret-pw" in v or "signin.ok" in f.get("at", "") for f in text for v in f.values())


async def test_the_sign_in_page_shows_no_text_from_its_address(site: Site) -> None:
    async with site.client() as c:
        r = await c.get("/login?sso_error=Su cuenta está bloqueada. Llame al 900 000 000")
        assert "900 000 000" not in r.text


# ------------------------------------------------------------------- the whole table of docs/SECURITY.md

PAGES = ("/", "/wall/ventas", "/wall/sala", "/wall/all", "/wall/soporte", "/team/norte", "/team/sur", "/manager")
SOCKETS = {
    "wall ventas": {"view": "wall", "screens": ["ventas"]},
    "wall sala": {"view": "wall", "screens": ["sala", "ventas", "soporte"]},
    "team norte": {"view": "team", "team": "norte"},
    "team sur": {"view": "team", "team": "sur"},
    "manager": {"view": "manager"},
}
#: Who → (pages opened, sockets opened, /healthz in full). Anything not listed is refused.
EXPECTED: dict[str, tuple[set[str], set[str], bool]] = {
    "anyone": (set(), set(), False),
    "lucia": ({"/", "/wall/ventas", "/team/norte"}, {"wall ventas", "team norte"}, False),
    "sergio": (set(PAGES) - {"/manager"}, set(SOCKETS) - {"manager"}, False),
    "marta": (set(PAGES), set(SOCKETS), False),
    "root": (set(PAGES), set(SOCKETS), True),
    "key ventas": ({"/", "/wall/ventas"}, {"wall ventas"}, False),
}


async def test_every_door_with_every_role(site: Site) -> None:
    _, key = await site.keys.add("tv-table", screens=("ventas",))
    results: dict[str, tuple[set[str], set[str], bool]] = {}
    for who in EXPECTED:
        async with contextlib.AsyncExitStack() as stack:
            c = await stack.enter_async_context(site.client())
            if who == "key ventas":
                assert (await c.get(f"/wall/ventas?key={key}")).status_code == 303
            elif who != "anyone":
                await site.sign_in(c, who)
            pages = {p for p in PAGES if (await c.get(p)).status_code == 200}
            refused = {(await c.get(p)).status_code for p in PAGES if p not in pages}
            assert refused <= ({303} if who == "anyone" else {403}), (who, refused)
            sockets = set()
            for name, selector in SOCKETS.items():
                state, code = await subscribe(site, selector, cookie_header(c))
                if state == "open":
                    sockets.add(name)
                else:
                    assert code == (4401 if who == "anyone" else 4403), (who, name, code)
            full = "sources" in (await c.get("/healthz")).json()
            # /metrics opens as /healthz in full does (an admin; the health token: its own test)
            assert ((await c.get("/metrics")).status_code == 200) == full, (who, "/metrics")
            for path in PAGES:  # Dash's page callback answers as the page does
                r = await c.post("/_dash-update-component", json=_callback(path), headers={"origin": site.base})
                assert (r.status_code == 200) == (path in pages), (who, path, r.status_code)
        results[who] = (pages, sockets, full)
    for who, row in results.items():
        print(f"{who:11} pages {sorted(row[0])} sockets {sorted(row[1])} health {'full' if row[2] else 'status'}")
    assert results == EXPECTED
