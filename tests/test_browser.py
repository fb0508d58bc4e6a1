"""The screens in a real Chromium (Debian's, driven by Playwright): live numbers, push latency,
team isolation, reconnect after a web restart, stale data greyed out, no console errors."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.stack import Stack, watched_page
from wallboard.clock import day_start_at
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import CallQueued, Event


def _screens_config(raw: dict[str, Any]) -> None:
    """No collector (the test writes the events), quick staleness, "sala" rotating every 5 s, and a day
    that started three hours ago, whatever the hour: the screens always have a day of data to show."""
    raw["collectors"] = []
    raw["web"].update(heartbeat_s=1, stale_after_s=3)
    raw["screens"][0]["dwell_s"] = raw["screens"][1]["dwell_s"] = 5  # "sala" rotates with "ventas", "soporte"
    local = datetime.now(ZoneInfo(raw["timezone"])) - timedelta(hours=3)
    raw["day_start"] = f"{local.hour:02d}:{local.minute // 15 * 15:02d}"


class Screens(Stack):
    """Aggregator and web process on a real Redis, with today's simulated data on the stream."""

    def __init__(self, tmp: Path, redis_url: str, prefix: str) -> None:
        super().__init__(tmp, redis_url=redis_url, prefix=prefix, adjust=_screens_config, log_level="WARNING")
        self.wallboard = load_config(self.config)
        self.n = 0

    def queue_calls(self, queue: str, n: int = 1) -> float:
        now = time.time()
        events: list[Event] = []
        for _ in range(n):
            self.n += 1
            events.append(CallQueued(f"test-{os.getpid()}-{self.n}", "test", now, queue, f"tc{self.n}"))
        return self.append(events)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Screens]:
    s = Screens(tmp_path_factory.mktemp("stack"), redis_url, f"browser{os.getpid()}:")
    now = time.time()
    start = day_start_at(now, s.wallboard.zone, s.wallboard.day_start_time)
    sim = Simulation(s.wallboard, Options(seed=5), start, "simulador")
    s.append(sim.advance(now))
    s.start("aggregate")
    s.start("web")
    try:
        s.wait_healthy()
        yield s
    finally:
        s.close(signal.SIGTERM, forget=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser) as pg:
        yield pg


def number(pg: Any, selector: str) -> str:
    return str(pg.locator(selector).inner_text(timeout=15_000)).strip()


def test_each_view_renders_live_numbers(stack: Screens, page: Any, tmp_path: Path) -> None:
    page.goto(stack.url("/wall/sala"))
    page.wait_for_function("() => document.querySelector('#wb-waiting') && document.querySelector('#wb-sl')")
    assert number(page, "#wb-title") == "Sala de operaciones"
    # "sala" shows every queue: five formulas and three thresholds, so its SL says it is mixed
    assert number(page, "#wb-sl").endswith("%") and number(page, "#wb-sl-caption").startswith("SL mixto")
    # "now" beside "today": the shortest rolling window under the figures, and today's counts
    recent, answered, now_text, counts = page.evaluate(
        "() => { const s = window.wallboardView().screens.sala; return [s.windows['15'].sl.pct, s.today.answered,"
        " document.querySelector('#wb-sl-now').innerText, document.querySelector('#wb-counts').innerText]; }"
    )
    assert now_text.startswith("últimos 15 min: ")
    shown_now = now_text.removeprefix("últimos 15 min: ").removesuffix("\u202f%")
    if recent is None:
        assert shown_now == "—", now_text
    else:  # (the page rounds half away from zero, Python's format half to even: compare the numbers)
        assert abs(float(shown_now.replace(",", ".")) - recent) <= 0.051, (now_text, recent)
    assert counts.startswith("hoy: ") and f"{answered} respondidas" in counts.replace(".", "")
    assert number(page, "#wb-abandon-now").startswith("últimos 15 min: ")
    # how many agents are missing for the target now: "faltan 3" / "sobran 2", as the snapshot says
    staffing, shown = page.evaluate(
        "() => [window.wallboardView().screens.sala.staffing, document.querySelector('#wb-staffing').innerText]"
    )
    gap = staffing["gap"]
    word = "sin llamadas para estimar" if gap is None else "faltan" if gap > 0 else "sobran" if gap < 0 else "justos"
    expected = ("—" if gap is None else str(abs(gap))) + " " + word
    assert " ".join(shown.split()) == expected
    page.wait_for_function("() => document.querySelector('.wb-gauge svg .wb-gauge-value') !== null")
    # Both read in one go: an update between two reads (the aggregator may still be folding the day)
    # would compare two different snapshots.
    arc, text = page.evaluate(
        "[document.querySelector('.wb-gauge-value').getAttribute('stroke-dasharray'),"
        " document.querySelector('#wb-sl').innerText]"
    )
    shown = float(text.rstrip("%").strip().replace("\u202f", "").replace(",", "."))
    assert abs(float(arc.split()[0]) - shown) <= 0.05  # the gauge's arc is the service level on the page
    page.screenshot(path=str(tmp_path / "wall.png"))

    page.goto(stack.url("/team/norte"))
    page.wait_for_selector("#wb-agent-grid tbody tr")
    assert page.locator("#wb-agent-grid tbody tr").count() == 14
    assert int(number(page, "#wb-team-handled").replace(".", "")) > 0

    page.goto(stack.url("/manager"))
    page.wait_for_selector("#wb-queue-table tbody tr")
    assert page.locator("#wb-queue-table tbody tr").count() == 6  # five queues and the centre
    page.wait_for_function("() => document.querySelectorAll('.wb-trend .bars path, .wb-trend .trace.bars').length > 0")

    page.goto(stack.url("/"))
    page.wait_for_selector("#wb-home-screens a")
    assert page.locator("#wb-home-screens a").count() == len(stack.wallboard.screens) + 1
    assert page.console_errors == []


def test_a_tv_number_changes_within_a_second_of_an_event(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/wall/ventas"))
    page.wait_for_selector("#wb-waiting")
    page.wait_for_timeout(1500)  # let the view settle
    delays = []
    for _ in range(5):
        page.evaluate("""() => { const el = document.querySelector('#wb-waiting');
            window.__before = el.textContent; window.__changedAt = null;
            const obs = new MutationObserver(() => {
              const now = document.querySelector('#wb-waiting');
              if (now && now.textContent !== window.__before && window.__changedAt === null) {
                window.__changedAt = Date.now(); obs.disconnect(); } });
            obs.observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
        appended = stack.queue_calls("ventas")
        page.wait_for_function("() => window.__changedAt !== null", timeout=10_000)
        delays.append(page.evaluate("window.__changedAt") / 1000.0 - appended)
    print(f"event → pixel delays (s): {[round(d, 3) for d in delays]}")
    assert max(delays) < 1.0, delays
    assert page.console_errors == []


def test_team_view_shows_only_its_team(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/team/sur"))
    page.wait_for_selector("#wb-agent-grid tbody tr")
    shown = set(page.locator("#wb-agent-grid .wb-agent-name").all_inner_texts())
    white = "() => [...document.querySelectorAll('.wb-controls, .wb-controls *')].filter((e) =>"
    white += " getComputedStyle(e).backgroundColor === 'rgb(255, 255, 255)').length"
    assert page.evaluate(white) == 0  # no white controls on the dark theme
    header = "(i) => getComputedStyle(document.querySelectorAll('#wb-agent-grid th')[i]).textAlign"
    assert [page.evaluate(header, i) for i in (0, 4, 5, 6)] == ["left", "right", "right", "right"]
    team = {a.name for a in stack.wallboard.agents if a.team == "sur"}
    others = {a.name for a in stack.wallboard.agents if a.team != "sur"} - team
    assert shown == team
    one = sorted(team)[0]
    page.fill("#wb-filter", one.lower())
    page.wait_for_function("() => document.querySelectorAll('#wb-agent-grid tbody tr').length === 1")
    assert page.locator("#wb-agent-grid .wb-agent-name").all_inner_texts() == [one]
    assert not (set(page.locator("body").inner_text().split("\n")) & others)


def test_pages_reconnect_after_the_web_process_restarts(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/wall/ventas"))
    page.wait_for_selector("#wb-waiting")
    stack.kill("web")
    page.wait_for_function("() => document.querySelector('.wb-root').classList.contains('wb-stale')", timeout=15_000)
    stack.start("web")
    stack.wait_healthy()
    # connects counts attempts (those made while the web process was down fail); opens counts sockets
    # that opened. The backoff between attempts is capped at 30 s, jittered.
    page.wait_for_function("() => window.wallboardMetrics.opens >= 2", timeout=45_000)
    before = number(page, "#wb-waiting")
    stack.queue_calls("ventas", 2)
    page.wait_for_function(f"() => document.querySelector('#wb-waiting').textContent !== {before!r}", timeout=10_000)
    page.wait_for_function("() => !document.querySelector('.wb-root').classList.contains('wb-stale')", timeout=10_000)
    unexpected = [e for e in page.console_errors if "WebSocket" not in e and "ERR_CONNECTION_REFUSED" not in e]
    assert unexpected == []


def test_a_stopped_aggregator_makes_the_numbers_go_stale(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/wall/sala"))
    page.wait_for_selector("#wb-waiting")
    assert not page.evaluate("document.querySelector('.wb-root').classList.contains('wb-stale')")
    stack.stop("aggregate", signal.SIGTERM)
    try:
        page.wait_for_function(
            "() => document.querySelector('.wb-root').classList.contains('wb-stale')", timeout=15_000
        )
        banner = number(page, "#wb-stale-banner")
        assert banner.startswith("Sin datos desde ")
        colour = page.evaluate("getComputedStyle(document.querySelector('#wb-waiting')).color")
        assert colour == "rgb(91, 97, 104)"  # --wb-stale: the number itself is greyed
    finally:
        stack.start("aggregate")
    page.wait_for_function("() => !document.querySelector('.wb-root').classList.contains('wb-stale')", timeout=30_000)
    assert page.console_errors == []


def test_a_tv_rotates_between_its_screens_and_speaks_its_language(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/wall/sala"))
    page.wait_for_function(
        "() => document.querySelector('#wb-title') && "
        "document.querySelector('#wb-title').textContent === 'Sala de operaciones'"
    )
    page.wait_for_function(
        "() => document.querySelector('#wb-title').textContent === 'Ventas y Retención'", timeout=15_000
    )
    page.wait_for_function(
        "() => document.querySelector('#wb-title').textContent === 'Soporte y Facturación'", timeout=15_000
    )
    assert page.evaluate("window.wallboardMetrics.connects") == 1  # rotation needs no new connection
    page.goto(stack.url("/wall/floor-en"))
    page.wait_for_selector("#wb-sl-caption")
    assert number(page, "#wb-sl-caption").startswith("SL mixed")  # (every queue: their formulas differ)
    assert "WAITING" in page.locator(".wb-tile .wb-label").first.inner_text().upper()
    assert page.console_errors == []


def test_a_tile_that_crosses_into_alert_flashes_and_says_since_when(stack: Screens, page: Any) -> None:
    page.goto(stack.url("/wall/ventas"))
    page.wait_for_selector("#wb-waiting")
    already = int(number(page, "#wb-waiting") or 0)
    stack.queue_calls("ventas", max(0, 9 - already))  # over the alert threshold of calls waiting (8)
    tile = "() => document.querySelector('#wb-waiting').closest('.wb-tile')"
    page.wait_for_function(f"() => ({tile})().getAttribute('data-flash') === '1'", timeout=10_000)
    cue = page.evaluate(f"() => ({tile})().querySelector('.wb-cue').innerText")
    assert cue.startswith("✖ ALERTA · desde ") and cue[-5:-2].endswith(":"), cue  # "✖ ALERTA · desde 10:42"
    assert page.evaluate("() => window.wallboardMetrics.alerts") >= 1
    page.wait_for_function(f"() => ({tile})().getAttribute('data-flash') === '0'", timeout=15_000)  # a few seconds
    assert "desde" in page.evaluate(f"() => ({tile})().querySelector('.wb-cue').innerText")  # still in alert
    assert page.console_errors == []
