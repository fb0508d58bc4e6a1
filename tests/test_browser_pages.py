"""The manager and team pages in a real Chromium: each figure equals the view it was drawn from
(read in the same evaluate as the page), every header says its window, the alert log shows a
crossing the test causes, the CSV download holds today's intervals, no control is white, and the
team grid's number headers sit over their numbers."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import eventually
from tests.stack import LiveDay, watched_page
from wallboard.alerts import level
from wallboard.config import QueueConfig
from wallboard.tiles import MIN_CALLS

#: A queue name a CSV must quote: a comma and double quotes.
QUOTED_NAME = 'Empresas, "VIP"'
FORMULAS = {
    "answered": "respondidas",
    "offered": "ofrecidas",
    "asterisk_sl2": "Asterisk SL2",
    "excl_short_abandons": "sin abandonos cortos",
    "abandons_after_T": "abandonos tras T",
}
ICONS = {"ok": "✓", "warn": "▲", "alert": "✖"}


def _pages_config(raw: dict[str, Any]) -> None:
    """No collector (the test writes the events), and a day that started three hours ago whatever
    the hour: the pages always have intervals to show."""
    raw["collectors"] = []
    raw["web"].update(heartbeat_s=1, stale_after_s=3)
    local = datetime.now(ZoneInfo(raw["timezone"])) - timedelta(hours=3)
    raw["day_start"] = f"{local.hour:02d}:{local.minute // 15 * 15:02d}"
    next(q for q in raw["queues"] if q["id"] == "empresas")["name"] = QUOTED_NAME


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[LiveDay]:
    with LiveDay.running(
        tmp_path_factory.mktemp("pages"), redis_url, f"pages{os.getpid()}:", _pages_config, seed=7
    ) as s:
        yield s


@pytest.fixture
def manager(browser: Any, stack: LiveDay) -> Iterator[Any]:
    with watched_page(browser, 1440, 1000) as pg:
        pg.goto(stack.url("/manager"))
        pg.wait_for_function("() => document.querySelectorAll('#wb-queue-table tbody tr').length === 6")
        yield pg


@pytest.fixture
def team(browser: Any, stack: LiveDay) -> Iterator[Any]:
    with watched_page(browser, 1366, 768) as pg:
        pg.goto(stack.url("/team/norte"))
        pg.wait_for_selector("#wb-agent-grid tbody tr")
        yield pg


def _figure(text: str) -> float | None:
    """A figure as the page shows it ("✖ 85,1 %", "1.234", "0:12") as a number (seconds for a
    duration); None for "—"."""
    for mark in (*ICONS.values(), "%", "\u202f"):
        text = text.replace(mark, "")
    text = text.strip()
    if text in ("—", ""):
        return None
    if ":" in text:
        parts = [int(p) for p in text.split(":")]
        return float(sum(p * 60**i for i, p in enumerate(reversed(parts))))
    return float(text.replace(".", "").replace(",", "."))


def _close(shown: str, value: float | None, tolerance: float = 0.051) -> bool:
    """The page rounds half away from zero, Python half to even; durations are floored."""
    got = _figure(shown)
    return got is None if value is None else got is not None and abs(got - value) <= tolerance


def _rule(q: QueueConfig) -> str:
    """A queue's SL rule as the pages caption it: "SL 80/20 · respondidas"."""
    return f"SL {q.sl_target_pct:g}/{q.sl_threshold_s:g} · {FORMULAS[q.sl_formula]}"


def _level_of(shown: str) -> str:
    """The level a cell's icon says ("none" without one)."""
    return next((lvl for lvl, icon in ICONS.items() if shown.startswith(icon)), "none")


def _staffing(st: dict[str, Any] | None) -> str:
    """The staffing cell as METRICS.md "Staffing" words it: "3 faltan (necesarios 14)"."""
    if not st or st.get("gap") is None:
        return "—"
    gap, needed = st["gap"], ("> " if st.get("capped") else "") + str(st["needed"])
    word = (
        ("falta" if gap == 1 else "faltan")
        if gap > 0
        else ("sobra" if gap == -1 else "sobran")
        if gap < 0
        else "justos"
    )
    return f"{abs(gap)} {word} (necesarios {needed})"


def _drawn(pg: Any, script: str) -> dict[str, Any]:
    """What ``script`` reads of the view and the page, once the page shows that view (the renderer
    marks what it drew with the view's ``seq``; a new view may come between it and the read)."""

    def read() -> dict[str, Any] | None:
        got: dict[str, Any] = pg.evaluate(script)
        return got if got["drawn"] == str(got["seq"]) else None

    result: dict[str, Any] = eventually(read, 15, "the page drawing the view it has")
    return result


def _read_manager(pg: Any) -> dict[str, Any]:
    """The view and the manager's table, read in one go."""
    return _drawn(
        pg,
        """() => { const v = window.wallboard.view();
        const rows = [...document.querySelectorAll('#wb-queue-table tbody tr')].map((tr) => ({id: tr.id,
          name: tr.querySelector('.wb-queue-name div').innerText, rule: tr.querySelector('.wb-row-rule').innerText,
          cells: [...tr.querySelectorAll('td.wb-n')].map((td) => [td.innerText, td.className])}));
        const head = [...document.querySelectorAll('#wb-queue-table thead tr')]
          .map((tr) => [...tr.querySelectorAll('th')].map((th) => [th.innerText, th.colSpan]));
        return {seq: v.seq, drawn: document.querySelector('#wb-manager [data-seq]').getAttribute('data-seq'),
          queues: v.queues, centre: v.centre, rows: rows, head: head}; }""",
    )


def test_every_header_of_the_manager_table_says_its_window(manager: Any) -> None:
    head = _read_manager(manager)["head"]
    assert head[0] == [
        ["Cola", 1],
        ["En espera", 1],
        ["Espera más larga", 1],
        ["Nivel de servicio", 3],
        ["Abandono", 2],
        ["ASA", 1],
        ["Llamadas · hoy", 2],
        ["Agentes · ahora", 5],
    ]
    assert [text for text, _ in head[1]] == [
        "ahora",
        "ahora",
        "últimos 15 min",
        "hoy",
        "Objetivo",
        "últimos 15 min",
        "hoy",
        "hoy",
        "respondidas",
        "abandonadas",
        "Disponibles",
        "En llamada",
        "Posllamada",
        "No disponibles",
        "para el objetivo",
    ]
    assert manager.console_errors == []


def test_the_manager_table_shows_each_queue_by_its_own_rules(stack: LiveDay, manager: Any) -> None:
    cfg = stack.wallboard
    got = _read_manager(manager)
    assert [r["id"] for r in got["rows"]] == [f"wb-row-{q.id}" for q in cfg.queues] + ["wb-row-centre"]
    centre = got["rows"][-1]
    assert (centre["name"], centre["rule"]) == ("Centro", "SL mixto")  # five formulas, three thresholds
    blocks = [(q.id, q, got["queues"][q.id]) for q in cfg.queues] + [(None, None, got["centre"])]
    for row, (qid, q, block) in zip(got["rows"], blocks, strict=True):
        if q is not None:
            assert row["name"] == (q.name or q.id)
            assert row["rule"] == _rule(q), row
        cells = [text for text, _ in row["cells"]]
        today, recent = block["today"], block["windows"]["15"]
        figures = {  # column: (its value in the view, the threshold that colours it, the calls it stands on)
            0: (block["waiting"], "waiting", None),
            1: (block["longest_wait_s"], "longest_wait_s", None),
            2: (recent["sl"]["pct"], "service_level_pct", recent["sl"]["denominator"]),
            3: (today["sl"]["pct"], "service_level_pct", today["sl"]["denominator"]),
            5: (recent["abandon_rate_pct"], "abandon_rate_pct", recent["offered"]),
            6: (today["abandon_rate_pct"], "abandon_rate_pct", today["offered"]),
            7: (today["asa_s"], "asa_s", today["answered"]),
        }
        for col, (value, metric, calls) in figures.items():
            # a duration is shown floored to the second, and the longest wait ticks on between two views
            tolerance = 3.0 if col == 1 else 1.0 if col == 7 else 0.051
            assert _close(cells[col], value, tolerance), (row["id"], col, cells[col], value)
            # the alert log's rule, the Python oracle: no level for a rate of fewer than MIN_CALLS calls
            few = calls is not None and calls < MIN_CALLS
            expected = None if few else level(value, cfg.threshold(metric, qid))
            assert _level_of(cells[col]) == (expected.value if expected else "none"), (row["id"], col, cells[col])
            assert f"wb-level-{expected.value if expected else 'none'}" in row["cells"][col][1]
        target = block["sl_target_pct"]
        assert cells[4] == ("—" if target is None else f"{round(target)}\u202f%")
        assert [_figure(c) for c in cells[8:10]] == [today["answered"], today["abandoned"]]
        agents = block["agents"]
        on_call = agents["on_call"] + agents["on_hold"] + agents["ringing"]
        assert [_figure(c) for c in cells[10:14]] == [
            agents["available"],
            on_call,
            agents["wrap_up"],
            agents["not_ready"],
        ]
        assert cells[14] == _staffing(block.get("staffing")), row["id"]
    assert any(_staffing(got["queues"][q.id]["staffing"]) != "—" for q in cfg.queues)  # (the day has traffic)
    assert manager.console_errors == []


def _alert_rows(pg: Any) -> list[list[str]]:
    rows: list[list[str]] = pg.evaluate(
        "() => [...document.querySelectorAll('#wb-alert-log tbody tr')]"
        ".map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText))"
    )
    return rows


def test_the_alert_log_shows_a_queue_crossing_into_alert(stack: LiveDay, manager: Any) -> None:
    cfg = stack.wallboard
    queues = manager.evaluate("() => window.wallboard.view().queues")
    # a queue whose calls waiting are not in alert now: enough calls to reach its alert threshold
    qid = next(q.id for q in cfg.queues if queues[q.id]["waiting"] < cfg.threshold("waiting", q.id).alert)
    alert = int(cfg.threshold("waiting", qid).alert)
    pushed = stack.queue_calls(qid, alert - queues[qid]["waiting"])
    find = (
        "([q, since]) => (window.wallboard.view().alerts || []).find((e) => e.id === q && e.metric === 'waiting'"
        " && e.level === 'alert' && e.at >= since) || null"
    )
    entry = eventually(lambda: manager.evaluate(find, [qid, pushed - 1]), 30, "the crossing in the view's alert log")
    assert entry["value"] == alert and entry["window"] == "now" and entry["scope"] == "queue"
    at = datetime.fromtimestamp(entry["at"], cfg.zone).strftime("%H:%M:%S")
    expected = [at, cfg.queue(qid).name or qid, "En espera\nahora", str(alert), "✖ ALERTA"]
    eventually(lambda: expected in _alert_rows(manager), 15, f"{expected} in the alert log")
    assert manager.console_errors == []


def _csv_value(text: str) -> float | None:
    return None if text == "" else float(text)


@pytest.mark.parametrize("choice", ["empresas", "centre"])
def test_the_csv_download_holds_todays_intervals(stack: LiveDay, manager: Any, choice: str) -> None:
    cfg = stack.wallboard
    manager.select_option("#wb-trend-queue", choice)
    read = (
        "(q) => { const v = window.wallboard.view(); return [(q === 'centre' ? v.centre : v.queues[q]), v.day_start]; }"
    )
    before, day_start = manager.evaluate(read, choice)
    with manager.expect_download() as done:
        manager.click("#wb-download-csv")
    download = done.value
    raw = Path(download.path()).read_bytes()
    after, _ = manager.evaluate(read, choice)
    assert before["intervals"] == after["intervals"]  # no event came in between: one set of intervals
    intervals = before["intervals"]
    # the day started three hours ago: up to 12 quarter hours, those with calls (at night a quiet
    # queue has empty ones: CI saw 11 for Empresas at 00:05), each on a quarter hour of today
    assert 1 <= len(intervals) <= 13
    assert all(day_start <= r["start"] <= time.time() and r["start"] % 900 == 0 for r in intervals)
    day = datetime.fromtimestamp(day_start, cfg.zone).strftime("%Y-%m-%d")
    assert download.suggested_filename == f"intervalos-{choice}-{day}.csv"
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with its byte-order mark, for spreadsheets
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rule = "SL mixto" if choice == "centre" else "SL 90/15 · abandonos tras T"
    assert rows[0] == [
        "Cola",
        "Inicio",
        "Ofrecidas",
        "Respondidas",
        "Abandonadas",
        "Otras salidas",
        f"Nivel de servicio % ({rule})",
        "ASA (s)",
        "TMO (s)",
    ]
    name = "Centro" if choice == "centre" else QUOTED_NAME
    if choice != "centre":
        assert '"Empresas, ""VIP"""' in text  # quoted, its quotes doubled (RFC 4180)
    assert len(rows) == len(intervals) + 1
    for row, r in zip(rows[1:], intervals, strict=True):
        start = datetime.fromtimestamp(r["start"], cfg.zone).strftime("%Y-%m-%d %H:%M")
        assert row[:2] == [name, start]
        assert [_csv_value(c) for c in row[2:]] == [
            r["offered"],
            r["answered"],
            r["abandoned"],
            r["other_exits"],
            r["sl_pct"],
            r["asa_s"],
            r["aht_s"],
        ]
    assert manager.console_errors == []


#: Every control and what Bootstrap or Dash draws around one, with its background.
_KINDS = ("select", "option", "input", "button", "textarea", ".form-control", ".form-select", ".btn")
_CONTROLS = ", ".join(f".wb-root {kind}" for kind in _KINDS)
_BACKGROUNDS = (
    "(selector) => [...document.querySelectorAll(selector)].map((e) => { const s = getComputedStyle(e);"
    " return [e.tagName + '#' + e.id, s.backgroundColor, s.backgroundImage]; })"
)


def _light(colour: str) -> bool:
    """Whether an ``rgb()``/``rgba()`` background is a light one (a white box on the dark theme)."""
    parts = [float(p) for p in colour[colour.index("(") + 1 : -1].split(",")]
    alpha = parts[3] if len(parts) == 4 else 1.0
    return alpha > 0.2 and 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2] > 160


def test_no_control_is_white_on_the_dark_theme(manager: Any, team: Any) -> None:
    for pg, least in ((manager, 2), (team, 2)):  # the queue chooser and the button; sort and filter
        controls = pg.evaluate(_BACKGROUNDS, _CONTROLS)
        assert len(controls) >= least, controls
        assert [c for c in controls if _light(c[1])] == []
        assert [c for c in controls if "data:" in c[2]] == []  # no data: image (the pages' CSP refuses them)
        assert pg.console_errors == []


def test_the_team_page_aligns_its_number_columns_and_shows_its_queues(stack: LiveDay, team: Any) -> None:
    got = _drawn(
        team,
        """() => { const v = window.wallboard.view(), align = (e) => getComputedStyle(e).textAlign;
        const grid = document.getElementById('wb-agent-grid');
        return {seq: v.seq, drawn: document.querySelector('.wb-team-kpis').getAttribute('data-seq'), view: v,
          heads: [...grid.querySelectorAll('thead th')].map((th) => [th.innerText, align(th)]),
          cells: [...grid.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map(align)),
          queues: [...document.querySelectorAll('.wb-queue-card')].map((c) => ({id: c.id,
            rule: c.querySelector('.wb-row-rule').innerText, waiting: c.querySelector('.wb-q-waiting').innerText,
            sl: c.querySelector('.wb-q-sl').innerText, staffing: c.querySelector('.wb-q-staffing').innerText}))}; }""",
    )
    assert got["heads"] == [
        ["Agente", "left"],
        ["Estado", "left"],
        ["Motivo", "left"],
        ["Tiempo", "right"],
        ["Llamadas", "right"],
        ["TMO", "right"],
        ["Pausa hoy", "right"],
    ]
    assert len(got["cells"]) == 14 and all(row == [a for _, a in got["heads"]] for row in got["cells"])
    cfg = stack.wallboard
    served = next(t for t in cfg.teams if t.id == "norte").queues
    assert [c["id"] for c in got["queues"]] == [f"wb-row-{q}" for q in served]
    for card, qid in zip(got["queues"], served, strict=True):
        q, block = cfg.queue(qid), got["view"]["queues"][qid]
        assert card["rule"] == _rule(q)
        assert _figure(card["waiting"]) == block["waiting"]
        sl = block["today"]["sl"]["pct"]
        assert _close(card["sl"], sl)
        few = block["today"]["sl"]["denominator"] < MIN_CALLS
        expected = None if few else level(sl, cfg.threshold("service_level_pct", qid))
        assert _level_of(card["sl"]) == (expected.value if expected else "none")
        assert card["staffing"] == _staffing(block["staffing"])
    # sorting by calls: the most calls first
    team.select_option("#wb-sort", "calls")
    calls = "() => [...document.querySelectorAll('#wb-agent-grid tbody tr')].map((tr) => tr.children[4].innerText)"
    eventually(lambda: (c := [_figure(x) for x in team.evaluate(calls)]) == sorted(c, reverse=True), 10, "by calls")
    assert team.console_errors == []
