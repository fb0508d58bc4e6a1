"""People, keys and origins in real Chromium against the real processes, sign-in on (the default).

A team leader signs in through the form and sees only their team, and their tries at
another team by page, by Dash's callback and by socket are refused; a TV key opens its
screen and nothing else, and goes dark within seconds of ``wallboard display-key revoke``;
a page of another origin cannot open the socket, even with the visitor's cookie; single
sign-on against a real OpenID provider (tests/oidc) maps a group to a role.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port
from tests.oidc_provider import OidcProvider
from tests.stack import Stack
from tests.test_browser import _screens_config
from wallboard.clock import day_start_at
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.users import UserStore

LUCIA = ("lucia", "norte-leader-pw")
CLIENT_ID, CLIENT_SECRET = "wallboard-test", "a-client-secret-for-the-tests"


class Doors(Stack):
    def __init__(self, tmp: Path, redis_url: str, prefix: str, oidc_port: int) -> None:
        self.oidc_issuer = f"http://127.0.0.1:{oidc_port}"

        def adjust(raw: dict[str, Any]) -> None:
            _screens_config(raw)
            raw["auth"]["oidc"] = {
                "enabled": True,
                "name": "Test SSO",
                "issuer": self.oidc_issuer,
                "client_id": CLIENT_ID,
                "client_secret": "${OIDC_SECRET}",
                "roles": [
                    {"group": "wb-supervisores", "role": "supervisor"},
                    {"group": "wb-norte", "role": "team_leader", "teams": ["norte"]},
                ],
            }

        super().__init__(
            tmp,
            redis_url=redis_url,
            prefix=prefix,
            adjust=adjust,
            env={"OIDC_SECRET": CLIENT_SECRET},
            open_access=False,
            log_level="INFO",
        )
        os.environ.setdefault("OIDC_SECRET", CLIENT_SECRET)  # (for reading the config here too)
        self.wallboard = load_config(self.config)
        UserStore(self.wallboard.users_file()).add(LUCIA[0], "team_leader", LUCIA[1], teams=("norte",))

    def key(self, name: str, *scope: str) -> str:
        out = self.cli("display-key", "add", name, *scope)
        assert out.returncode == 0, out.stderr
        found = re.search(r"key \(shown once, keep it secret\): (\S+)", out.stdout)
        assert found, out.stdout
        return found.group(1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[Doors, OidcProvider]]:
    oidc_port = free_port()
    s = Doors(tmp_path_factory.mktemp("doors"), redis_url, f"doors{os.getpid()}:", oidc_port)
    accounts = [
        {"sub": "u-sofia", "preferred_username": "sofia", "name": "Sofía Ruiz", "groups": ["wb-supervisores"]},
        {"sub": "u-nadie", "preferred_username": "nadie", "groups": ["marketing"]},
    ]
    redirect = f"http://127.0.0.1:{s.port}/auth/oidc/callback"
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [redirect], accounts, port=oidc_port) as provider:
        now = time.time()
        start = day_start_at(now, s.wallboard.zone, s.wallboard.day_start_time)
        s.append(Simulation(s.wallboard, Options(seed=5), start, "simulador").advance(now))
        s.start("aggregate")
        s.start("web")
        try:
            s.wait_healthy()
            yield s, provider
        finally:
            s.close(signal.SIGTERM, forget=True)


@pytest.fixture(scope="module")
def doors(pair: tuple[Doors, OidcProvider]) -> Doors:
    return pair[0]


@pytest.fixture(scope="module")
def provider(pair: tuple[Doors, OidcProvider]) -> OidcProvider:
    return pair[1]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


def sign_in(page: Any, doors: Doors, next_path: str, user: tuple[str, str]) -> None:
    page.goto(doors.url(next_path))
    assert "/login?next=" in page.url  # sent to sign in first
    background = page.evaluate("() => getComputedStyle(document.querySelector('main')).backgroundColor")
    assert background == "rgb(20, 24, 29)"  # its stylesheet loaded (under the CSP)
    page.fill("#wb-user", user[0])
    page.fill("#wb-password", user[1])
    page.click("#wb-login button[type=submit]")
    page.wait_for_url(doors.url(next_path))


SOCKET = """(selector) => new Promise((resolve) => {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  let first = null;
  ws.onopen = () => ws.send(JSON.stringify({subscribe: selector}));
  ws.onmessage = (m) => { first = JSON.parse(m.data); ws.close(); };
  ws.onclose = (e) => resolve({code: e.code, type: first && first.type,
    agents: first && first.view && first.view.agents ? Object.keys(first.view.agents) : []});
})"""

CALLBACK = """(path) => fetch('/_dash-update-component', {method: 'POST', headers: {'content-type': 'application/json'},
  body: JSON.stringify({output: '.._pages_content.children..._pages_store.data..',
    outputs: [{id: '_pages_content', property: 'children'}, {id: '_pages_store', property: 'data'}],
    inputs: [{id: '_pages_location', property: 'pathname', value: path},
             {id: '_pages_location', property: 'search', value: ''}],
    changedPropIds: ['_pages_location.pathname'], state: []})}).then((r) => r.status)"""


def test_a_team_leader_sees_only_their_team_by_every_route(doors: Doors, page: Any) -> None:
    sign_in(page, doors, "/team/norte", LUCIA)
    page.wait_for_selector("#wb-agent-grid tbody tr")
    shown = set(page.locator("#wb-agent-grid .wb-agent-name").all_inner_texts())
    assert shown == {a.name for a in doors.wallboard.agents if a.team == "norte"}
    own = page.evaluate(SOCKET, {"view": "team", "team": "norte"})
    assert own["type"] == "full" and set(own["agents"]) == {a.id for a in doors.wallboard.agents if a.team == "norte"}
    # another team by socket, by Dash's page callback, by the page itself
    assert page.evaluate(SOCKET, {"view": "team", "team": "sur"})["code"] == 4403
    assert page.evaluate(SOCKET, {"view": "manager"})["code"] == 4403
    assert page.evaluate(CALLBACK, "/team/sur") == 403
    assert page.evaluate(CALLBACK, "/manager") == 403
    assert page.evaluate(CALLBACK, "/team/norte") == 200
    page.goto(doors.url("/team/sur"))
    assert page.locator("#wb-refused").inner_text() == "Sin permiso"
    page.goto(doors.url("/"))
    page.wait_for_selector("#wb-whoami")
    assert "lucia" in page.locator("#wb-whoami").inner_text()
    assert page.locator("#wb-home-teams a").all_inner_texts() == ["Equipo Norte"]
    assert page.locator("#wb-home-views").count() == 0  # no manager view for a team leader


def test_a_tv_key_opens_its_screen_only_and_goes_dark_when_revoked(doors: Doors, page: Any) -> None:
    key = doors.key("tv-ventas", "--screen", "ventas")
    page.goto(doors.url(f"/wall/ventas?key={key}"))
    assert page.url == doors.url("/wall/ventas")  # the key left the address bar
    page.wait_for_selector("#wb-t-waiting-now-num")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert key not in "".join(cookies.values()) and "wb_display" in cookies
    assert page.evaluate(SOCKET, {"view": "team", "team": "norte"})["code"] == 4403
    for other in ("/wall/sala", "/team/norte", "/manager"):
        page.goto(doors.url(other))
        assert page.locator("#wb-refused").count() == 1, other
    page.goto(doors.url("/wall/ventas"))
    page.wait_for_selector("#wb-t-waiting-now-num")
    revoked = doors.cli("display-key", "revoke", "tv-ventas")
    assert revoked.returncode == 0, revoked.stderr
    t0 = time.monotonic()
    page.wait_for_selector(".wb-root.wb-denied", timeout=10_000)
    dark_after = time.monotonic() - t0
    print(f"revoked key's screen dark after {dark_after:.2f} s")
    assert "revocada" in page.locator("#wb-stale-banner").inner_text()
    assert page.locator("#wb-t-waiting-now-num").is_hidden()
    listing = doors.cli("display-key", "list")
    assert "tv-ventas" not in listing.stdout


def test_a_page_of_another_origin_cannot_open_the_socket(doors: Doors, page: Any, tmp_path: Path) -> None:
    # The visitor is signed in (their cookie would go with any request to 127.0.0.1)...
    sign_in(page, doors, "/team/norte", LUCIA)
    (tmp_path / "evil.html").write_text(
        "<!doctype html><script>window.result = new Promise((resolve) => {"
        f"const ws = new WebSocket('ws://127.0.0.1:{doors.port}/ws');"
        "ws.onopen = () => resolve('open'); ws.onclose = (e) => resolve('closed ' + e.code); });</script>"
    )
    evil_port = free_port()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", evil_port), lambda *a: Quiet(*a, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # ...and a page of another origin (another port is another origin) tries the socket.
        page.goto(f"http://127.0.0.1:{evil_port}/evil.html")
        assert page.evaluate("window.result") == "closed 1006"  # refused at the handshake (HTTP 403)
    finally:
        server.shutdown()
        server.server_close()
    page.goto(doors.url("/team/norte"))
    assert page.evaluate(SOCKET, {"view": "team", "team": "norte"})["type"] == "full"  # the same, from its origin


def test_single_sign_on_maps_a_group_to_a_role(doors: Doors, provider: OidcProvider, page: Any) -> None:
    page.goto(doors.url("/team/sur"))
    page.click("#wb-sso")
    landed = provider.login(page, "sofia", "secret-sofia")
    assert landed.startswith(doors.url("/"))  # back at the wallboard (its callback, then the page)
    page.wait_for_url(doors.url("/team/sur"))
    page.wait_for_selector("#wb-agent-grid tbody tr")  # a supervisor reads every team
    page.goto(doors.url("/"))
    assert page.locator("#wb-whoami").inner_text().startswith("sofia · supervisor")
    page.goto(doors.url("/manager"))
    assert page.locator("#wb-refused").count() == 1  # a supervisor has no manager view


def test_single_sign_on_refuses_an_account_with_no_mapped_group(
    doors: Doors, provider: OidcProvider, page: Any
) -> None:
    page.goto(doors.url("/login"))
    page.click("#wb-sso")
    provider.login(page, "nadie", "secret-nadie")
    page.wait_for_url(re.compile(r".*/login\?sso_error=.*"))
    assert "no role" in page.locator("#wb-login-error").inner_text()
    page.goto(doors.url("/team/sur"))
    assert "/login?next=" in page.url
