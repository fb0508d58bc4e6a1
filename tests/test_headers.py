"""The security headers of the web process (wallboard.headers) on every page, asset and answer, and the
pages still working under that policy in a real Chromium (Debian's, driven by Playwright).

The web process runs in this process under uvicorn, as ``wallboard web`` serves it, wrapped in
:class:`SecurityHeaders` with the hashes of its own Dash app; the aggregator is a real process folding
a simulated day from a real Redis, so every page shows live numbers.
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dash
import httpx2 as httpx
import pytest
import uvicorn
from websockets.sync.client import connect as ws_connect

from tests.helpers import eventually
from tests.stack import Stack, watched_page
from wallboard.clock import day_start_at
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import CallQueued, Event
from wallboard.headers import HSTS, SecurityHeaders, cache_control, content_security_policy, dash_script_hashes
from wallboard.web import server_config

PAGES = ("/", "/wall/sala", "/wall/ventas", "/tv/ventas", "/team/norte", "/manager")
FIXED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
#: Records every CSP violation of a page (and of its frames) in ``window.__csp``, before any script runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
                     line: e.lineNumber, sample: e.sample});
}, true);
"""


def _config(raw: dict[str, Any]) -> None:
    """No collector (the test writes the events), quick heartbeats, and a day that started three hours
    ago: the screens have numbers to show. (Stack runs it open: no sign-in, the pages are tested here.)"""
    raw["collectors"] = []
    raw["web"].update(heartbeat_s=1, stale_after_s=3)
    local = datetime.now(ZoneInfo(raw["timezone"])) - timedelta(hours=3)
    raw["day_start"] = f"{local.hour:02d}:{local.minute // 15 * 15:02d}"


class Served(Stack):
    """An aggregator process on a real Redis, and the web process in a thread of this one behind
    :class:`SecurityHeaders`."""

    def __init__(self, tmp: Path, redis_url: str, prefix: str) -> None:
        super().__init__(tmp, redis_url=redis_url, prefix=prefix, adjust=_config, log_level="WARNING")
        self.wallboard = load_config(self.config)
        self.n = 0
        settings = server_config(self.wallboard, redis_url)
        # the Dash app server_config has just built (Dash keeps the newest one as its current app)
        self.hashes = dash_script_hashes(dash.get_app())  # type: ignore[no-untyped-call]
        self.app = settings.app  # the web process's own: SecurityHeaders outermost (server_config)
        assert isinstance(self.app, SecurityHeaders)
        self.server = uvicorn.Server(settings)
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def serve(self) -> None:
        self.thread.start()
        eventually(lambda: self.server.started or not self.thread.is_alive(), 30, "the web process started")
        assert self.thread.is_alive(), "the web process did not start"

    def close(self, sig: int = signal.SIGINT, *, timeout: float = 60, forget: bool = False) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        super().close(sig, timeout=timeout, forget=forget)

    def queue_calls(self, queue: str, n: int = 1) -> None:
        now = time.time()
        events: list[Event] = []
        for _ in range(n):
            self.n += 1
            events.append(CallQueued(f"hdr-{os.getpid()}-{self.n}", "test", now, queue, f"hc{self.n}"))
        self.append(events)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    s = Served(tmp_path_factory.mktemp("headers"), redis_url, f"headers{os.getpid()}:")
    now = time.time()
    start = day_start_at(now, s.wallboard.zone, s.wallboard.day_start_time)
    s.append(Simulation(s.wallboard, Options(seed=7), start, "simulador").advance(now))
    s.start("aggregate")
    try:
        s.serve()
        s.wait_healthy()
        yield s
    finally:
        s.close(signal.SIGTERM, forget=True)


class _Resources(html.parser.HTMLParser):
    """What a page loads (script sources, stylesheets, icons) and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(str(a["src"]))
        elif tag == "script" and a.get("type", "text/javascript") != "application/json":
            self._script = []
        elif tag == "link" and a.get("href"):
            self.urls.append(str(a["href"]))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.inline.append("".join(self._script))
            self._script = None


def _check_headers(response: httpx.Response, host: str, *, https: bool = False) -> str:
    """Every header once, with its value; the policy returned."""
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    for name, value in FIXED.items():
        assert response.headers.get_list(name) == [value], where
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1, where
    policy = policies[0]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    script_src = directives.pop("script-src")
    assert script_src[0] == "'self'" and all(s.startswith("'sha256-") for s in script_src[1:]), where
    assert directives == {
        "default-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", f"ws://{host}", f"wss://{host}"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }, where
    assert response.headers.get_list("strict-transport-security") == ([HSTS] if https else []), where
    return policy


def test_every_page_asset_and_answer_carries_the_headers(served: Served) -> None:
    host = f"127.0.0.1:{served.port}"
    seen: set[str] = set()
    with httpx.Client(base_url=f"http://{host}", timeout=15) as client:
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            policy = _check_headers(page, host)
            resources = _Resources()
            resources.feed(page.text)
            # every inline script the page carries is allowed by its hash, and by nothing else
            # (the TV-lite page has none)
            assert bool(resources.inline) == (not path.startswith("/tv/")), path
            for script in resources.inline:
                digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in policy.split("; ")[1].split(), (path, script[:80])
            seen.update(u for u in resources.urls if u.startswith("/"))
        assert any("/assets/wallboard.js" in u for u in seen) and any("dash_renderer" in u for u in seen)
        assert any("/assets/vendor/" in u for u in seen)
        for url in sorted(seen):  # our scripts and styles, the vendored theme, Dash's scripts, the icon
            response = client.get(url)
            assert response.status_code == 200, url
            _check_headers(response, host)
        others = [
            client.get("/_dash-layout"),
            client.get("/_dash-dependencies"),
            client.get("/healthz"),
            client.get("/assets/no-such-file.js"),
            client.post("/api/v1/events", json={"events": []}),  # no token: refused, with the headers
            client.head("/wall/sala"),
            client.get("/login"),  # the sign-in page and its stylesheet (whatever they answer in open mode)
            client.get("/auth/login.css"),
        ]
        assert others[3].status_code == 404 and others[4].status_code in (401, 403)
        for response in others:
            _check_headers(response, host)


def test_pages_and_bundles_are_compressed_for_browsers_that_take_gzip(served: Served) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=15) as client:
        page = client.get("/wall/sala", headers={"accept-encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip" and "content-security-policy" in page.headers
        scripts = re.findall(r'src="(/_dash-component-suites/[^"]+\.js[^"]*)"', page.text)
        assert scripts
        big = client.get(scripts[0], headers={"accept-encoding": "gzip"})
        assert big.headers["content-encoding"] == "gzip"
        assert int(big.headers.get("content-length", len(big.content))) < len(big.content)  # (the wire is smaller)
        plain = client.get("/wall/sala", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers


def test_the_websocket_handshake_gets_no_headers(served: Served) -> None:
    with ws_connect(f"ws://127.0.0.1:{served.port}/ws", open_timeout=10) as ws:
        assert ws.response is not None
        headers = ws.response.headers
        assert "content-security-policy" not in headers and "x-frame-options" not in headers


async def test_hsts_only_over_https_and_the_policy_follows_the_host(served: Served) -> None:
    transport = httpx.ASGITransport(served.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://wallboard.example:8443") as client:
        for path in ("/wall/sala", "/assets/wallboard.css"):
            _check_headers(await client.get(path), "wallboard.example:8443", https=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://wallboard.example") as client:
        _check_headers(await client.get("/assets/wallboard.css"), "wallboard.example")
        # a Host header that could change the policy is left out of it: connect-src 'self' alone
        odd = await client.get("/assets/wallboard.css", headers={"host": "x; script-src *"})
        policy = odd.headers["content-security-policy"]
        assert "connect-src 'self'; " in policy and "*" not in policy
        assert policy.count("script-src") == 1
        # the hashes read again inside a running event loop (as create_app may be): the same
        assert dash_script_hashes(dash.get_app()) == served.hashes  # type: ignore[no-untyped-call]
        ipv6 = await client.get("/assets/wallboard.css", headers={"host": "[::1]:8050"})
        assert "connect-src 'self' ws://[::1]:8050 wss://[::1]:8050;" in ipv6.headers["content-security-policy"]


async def test_a_header_the_app_set_is_kept_and_not_repeated() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-security-policy", b"default-src 'none'")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped = SecurityHeaders(app, script_hashes=[], extra_form_action=["https://idp.example.com"], hsts=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(wrapped), base_url="https://t") as client:
        response = await client.get("/")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # hsts=False
    assert wrapped.state is None  # a plain ASGI app has none; a Starlette app's is passed through


def test_the_wrapped_apps_state_is_seen_through(served: Served) -> None:
    assert served.app.state.guard is not None  # server_config's users (and the tests) read app.state.guard
    policy = content_security_policy([], ["https://idp.example.com"], "t")
    assert policy.endswith("; form-action 'self' https://idp.example.com")


def test_only_hashes_and_sources_go_into_the_policy() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="script hash"):
        SecurityHeaders(app, script_hashes=["'unsafe-inline'"])
    with pytest.raises(ValueError, match="form-action"):
        SecurityHeaders(app, script_hashes=[], extra_form_action=["https://a.example; script-src *"])
    with pytest.raises(TypeError):
        SecurityHeaders(app, script_hashes="'sha256-AAAA'")


# ------------------------------------------------------------------------------------------ Chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser, init_script=RECORD_VIOLATIONS) as pg:
        yield pg


def _open(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]  # served under the policy


def _number(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text(timeout=15_000)).strip()


def _live_wall(served: Served, page: Any, screen: str) -> None:
    page.wait_for_function(
        "() => document.querySelector('#wb-t-waiting-now-num')"
        " && document.querySelector('#wb-t-service_level-today-num')"
    )
    page.wait_for_function("() => document.querySelector('.wb-gauge svg .wb-gauge-value') !== null")
    page.wait_for_function("() => document.querySelector('#wb-rows tbody tr') !== null")  # a row per queue
    assert _number(page, "#wb-t-service_level-today-num").endswith("%"), screen
    before = _number(page, "#wb-t-waiting-now-num")
    served.queue_calls("ventas", 2)  # through the aggregator and the socket to the pixel
    page.wait_for_function(
        f"() => document.querySelector('#wb-t-waiting-now-num').textContent !== {before!r}", timeout=15_000
    )


def _live_team(served: Served, page: Any) -> None:
    page.wait_for_selector("#wb-agent-grid tbody tr")
    assert page.locator("#wb-agent-grid tbody tr").count() == 14
    assert int(_number(page, "#wb-team-handled").replace(".", "")) > 0
    page.locator("#wb-sort").click()  # the sort dropdown opens, and a filter redraws the grid
    page.keyboard.press("Escape")
    page.fill("#wb-filter", "zzzz-nobody")
    page.wait_for_function("() => document.querySelectorAll('#wb-agent-grid tbody tr').length === 0")


def _live_manager(served: Served, page: Any) -> None:
    page.wait_for_selector("#wb-queue-table tbody tr")
    assert page.locator("#wb-queue-table tbody tr").count() == 6  # five queues and the centre
    page.wait_for_function("() => document.querySelectorAll('.wb-trend .bars path, .wb-trend .trace.bars').length > 0")
    box = page.locator(".wb-trend .trace.bars path").last.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # Plotly draws a hover label
    page.wait_for_selector(".wb-trend .hoverlayer .hovertext")


def test_every_page_works_under_the_policy_in_chromium(served: Served, page: Any) -> None:
    for path in PAGES:
        _open(page, served.url(path))
        try:
            if path == "/":
                page.wait_for_selector("#wb-home-screens a")
                assert page.locator("#wb-home-screens a").count() == len(served.wallboard.screens) + 1
            elif path.startswith(("/wall/", "/tv/")):
                _live_wall(served, page, path)
            elif path.startswith("/team/"):
                _live_team(served, page)
            else:
                _live_manager(served, page)
        except Exception as exc:  # say what the policy refused, if it did
            raise AssertionError(f"{path} not drawn; refused: {page.evaluate('window.__csp')}") from exc
        page.wait_for_timeout(500)  # anything late (a style, a socket) reports by now
        assert page.evaluate("window.__csp") == [], path
        assert page.console_errors == [], path


def test_a_policy_too_strict_is_seen(served: Served, page: Any) -> None:
    """The same server's page with the hashes taken out of its policy: the violation listener sees Dash's
    inline scripts refused and the page does not draw (what the test above would then report)."""

    def without_hashes(route: Any) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        headers["content-security-policy"] = re.sub(r" 'sha256-[^']+'", "", headers["content-security-policy"])
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r".*/team/norte$"), without_hashes)
    page.goto(served.url("/team/norte"))
    page.wait_for_function("() => window.__csp.length >= 2")
    refused = page.evaluate("window.__csp")
    assert {v["directive"] for v in refused} == {"script-src-elem"}
    assert all(v["blocked"] == "inline" for v in refused)
    page.wait_for_timeout(1000)
    assert page.locator("#wb-agent-grid tbody tr").count() == 0
    assert any("Content Security Policy" in e for e in page.console_errors)


def test_every_answer_says_how_long_it_may_be_cached(served: Served) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=15) as client:
        page = client.get("/wall/sala")
        assert page.headers["cache-control"] == "private, no-cache"  # pages depend on who asks
        # every script and style sheet the Dash page names carries its version: kept for a year
        named = re.findall(r'(?:src|href)="(/(?:assets|_dash-component-suites)/[^"]+)"', page.text)
        assert named, page.text[:500]
        for url in named:
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert "max-age=31536000" in answer.headers["cache-control"], (url, answer.headers["cache-control"])
        missing = client.get("/assets/nothing.js?v=0123")  # a versioned URL's error is not kept
        assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
        bare = client.get("/assets/wallboard.css")  # no version in the URL: asked again each time
        assert bare.headers["cache-control"] == "public, no-cache"
        assert client.get("/_dash-layout").headers["cache-control"] == "private, no-cache"


def test_cache_control_by_path() -> None:
    assert cache_control(b"/assets/tiles.js", b"v=0123abcd") == b"public, max-age=31536000, immutable"
    assert cache_control(b"/assets/wallboard.css", b"m=1700000000.0") == b"public, max-age=31536000, immutable"
    suite = b"/_dash-component-suites/dash/deps/react@18.v4_2_0m1764000000.14.0.min.js"
    assert cache_control(suite, b"") == b"public, max-age=31536000, immutable"
    assert cache_control(b"/assets/tiles.js", b"") == b"public, no-cache"
    assert cache_control(b"/assets/tiles.js", b"x=1&v=2") == b"public, max-age=31536000, immutable"
    assert cache_control(b"/tv/ventas", b"v=1") == b"private, no-cache"  # a page, whatever its query
