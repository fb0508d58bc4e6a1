"""Display keys over real sockets: a `wallboard web` process, urllib, websockets and Chromium."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.helpers import wait_for_port
from tests.stack import CHROMIUM_ARGS, Stack, chromium

ROOT = Path(__file__).resolve().parent.parent
GOOD = "k3y-for-the-sala-tv-0123456789"


class Web:
    """`wallboard web` with display keys on (through the one harness, tests.stack)."""

    def __init__(self, tmp: Path, redis_url: str, keys: list[dict[str, str]]) -> None:
        def adjust(raw: dict[str, Any]) -> None:
            raw["collectors"] = []
            raw["web"].update(heartbeat_s=1, display_keys=keys)

        tmp = tmp / f"web{len(list(tmp.glob('web*')))}"
        self.stack = Stack(
            tmp, redis_url=redis_url, prefix=f"auth{os.getpid()}:", adjust=adjust, env={"WB_TV_KEY": GOOD}
        )
        self.port = self.stack.port
        self.stack.start("web")
        wait_for_port(self.port, 30, "web process")

    def get(self, path: str, cookie: str | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = conn.getresponse()
            response.read()
            return response
        finally:
            conn.close()

    def stop(self) -> None:
        self.stack.stop("web", signal.SIGTERM, 30)


@pytest.fixture
def web(tmp_path: Path, redis_url: str) -> Iterator[Web]:
    w = Web(tmp_path, redis_url, [{"name": "tv-sala", "key": "${WB_TV_KEY}"}])
    try:
        yield w
    finally:
        w.stop()


def test_pages_need_a_display_key(web: Web) -> None:
    for path in ("/wall/sala", "/team/norte", "/manager", "/", "/_dash-layout", "/assets/wallboard.js"):
        r = web.get(path)
        assert r.status == 401, path
    assert web.get("/wall/sala?key=not-the-key-at-all-000").status == 401
    assert web.get("/healthz").status in (200, 503)  # open, for monitoring


def test_a_key_sets_up_a_screen_with_a_cookie_that_does_not_expire(web: Web) -> None:
    r = web.get(f"/wall/sala?lang=es&key={GOOD}")
    assert r.status == 303
    assert r.getheader("location") == "/wall/sala?lang=es"  # the key leaves the address bar
    cookie = r.getheader("set-cookie") or ""
    assert cookie.startswith(f"wb_display={GOOD};") and "HttpOnly" in cookie
    assert int(cookie.split("Max-Age=")[1].split(";")[0]) >= 5 * 365 * 86_400
    jar = f"wb_display={GOOD}"
    for path in ("/wall/sala", "/_dash-layout", "/_dash-dependencies", "/assets/wallboard.js"):
        assert web.get(path, cookie=jar).status == 200, path


def test_the_socket_needs_the_key_too(web: Web) -> None:
    async def attempt(headers: dict[str, str]) -> dict[str, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{web.port}/ws", additional_headers=headers) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))

    with pytest.raises(InvalidStatus) as denied:
        asyncio.run(attempt({}))
    assert denied.value.response.status_code == 403
    assert asyncio.run(attempt({"Cookie": f"wb_display={GOOD}"}))["type"] == "hb"


def test_removing_a_key_revokes_its_screens(tmp_path: Path, redis_url: str) -> None:
    after = Web(tmp_path, redis_url, [{"name": "another", "key": "a-completely-different-key-42"}])
    try:
        assert after.get("/wall/sala", cookie=f"wb_display={GOOD}").status == 401
    finally:
        after.stop()


def test_chromium_keeps_the_key_across_reloads(web: Web) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{web.port}/wall/sala?key={GOOD}")
            assert page.url.endswith("/wall/sala")
            page.wait_for_function("window.wallboardMetrics && window.wallboardMetrics.messages > 0", timeout=20_000)
            page.reload()
            page.wait_for_function("window.wallboardMetrics && window.wallboardMetrics.messages > 0", timeout=20_000)
            assert errors == []
        finally:
            browser.close()


def test_a_bad_subscription_is_refused_with_the_reason(web: Web) -> None:
    async def attempt(subscribe: object) -> tuple[int | None, str]:
        async with websockets.connect(
            f"ws://127.0.0.1:{web.port}/ws", additional_headers={"Cookie": f"wb_display={GOOD}"}
        ) as ws:
            await ws.send(json.dumps({"subscribe": subscribe}))
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None, closed.rcvd.reason if closed.rcvd else ""
            return None, "not closed"

    assert asyncio.run(attempt({"view": "tv"})) == (1008, "view must be wall, team or manager")
    assert asyncio.run(attempt({"view": "team", "team": "nadie"})) == (1008, "unknown team 'nadie'")
    assert asyncio.run(attempt({"view": "wall", "screens": ["nope"]})) == (1008, "unknown screen")
