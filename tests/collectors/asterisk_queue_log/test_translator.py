"""queue_log lines → events, and `wallboard report` against hand-computed numbers."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
from wallboard.config import Config, parse_config
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallLost,
    CallQueued,
    CallTransferred,
    SourceReset,
)
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.report import build_report
from wallboard.state import CentreState

DATA = Path(__file__).resolve().parents[2] / "data"
EVERY_EVENT = DATA / "queue_log_every_event.txt"
RAW_CONFIG: dict[str, Any] = {
    "timezone": "Europe/Madrid",
    "queue_defaults": {"sl_threshold_s": 30, "short_abandon_s": 10},
    "queues": [{"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5}],
    "agents": [
        {"id": "ana", "aliases": ["PJSIP/201"]},
        {"id": "luis", "aliases": ["PJSIP/202"]},
        {"id": "marta", "aliases": ["PJSIP/203"]},
        {"id": "pablo", "aliases": ["Agent/1004"]},
    ],
    "pause_reasons": [{"id": "break", "aliases": ["Descanso"]}, {"id": "lunch", "aliases": ["Lunch"]}],
}
CONFIG: Config = parse_config(RAW_CONFIG, env={})


def lines() -> list[str]:
    return EVERY_EVENT.read_text().splitlines(keepends=True)


def report() -> tuple[dict[str, Any], Any]:
    return build_report(iter(lines()), CONFIG)


# ---------------------------------------------------------- line by line

T = 1773129600
CASES = [
    (f"{T}|c1|ventas|NONE|ENTERQUEUE||600100001|1", [CallQueued]),
    (f"{T}|c1|ventas|NONE|ENTERQUEUE||600100001", [CallQueued]),  # Asterisk ≤ 1.8: url, callerid
    (f"{T}|c1|ventas|PJSIP/201|CONNECT|12|c1-agent|3", [AgentLogin, CallAnswered, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|180|1", [CallEnded, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|COMPLETECALLER|12|180|1", [CallEnded, AgentStateChanged]),
    (f"{T}|c1|ventas|NONE|ABANDON|1|1|4", [CallAbandoned]),
    (f"{T}|c1|ventas|NONE|EXITWITHTIMEOUT|1|1|300", [CallExited]),
    (f"{T}|c1|ventas|NONE|EXITEMPTY|1|1|0", [CallExited]),
    (f"{T}|c1|ventas|NONE|EXITWITHKEY|5|1|1|12", [CallExited]),
    (f"{T}|c1|ventas|NONE|WITHDRAW|1|1|30|info", [CallExited]),
    (f"{T}|c1|ventas|PJSIP/201|RINGNOANSWER|15000", [AgentLogin]),  # rung by ventas: a member of it
    (f"{T}|c1|ventas|PJSIP/201|RINGCANCELED|2500", [AgentLogin]),
    (f"{T}|c1|ventas|PJSIP/201|BLINDTRANSFER|2000|from-internal|10|60|1", [CallTransferred, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|ATTENDEDTRANSFER|BRIDGE|SIP/x-1|10|60|1", [CallTransferred, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|ATTENDEDTRANSFER|LINK|SIP/x-1|SIP/y-2|10|60|1", [CallTransferred, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|TRANSFER|2000|from-internal|10|60|1", [CallTransferred, AgentStateChanged]),
    (f"{T}|c1|ventas|PJSIP/201|AGENTDUMP|", []),
    (f"{T}|c1|ventas|PJSIP/201|SYSCOMPAT|", [CallAbandoned]),
    (f"{T}|NONE|ventas|PJSIP/201|ADDMEMBER|", [AgentLogin]),
    (f"{T}|NONE|ventas|PJSIP/201|ADDMEMBER|PAUSED", [AgentLogin, AgentStateChanged]),
    (f"{T}|NONE|ventas|PJSIP/201|REMOVEMEMBER|", [AgentLogout]),
    (f"{T}|NONE|ventas|PJSIP/201|PAUSE|Lunch", [AgentLogin, AgentStateChanged]),
    (f"{T}|NONE|NONE|PJSIP/201|PAUSEALL|Lunch", [AgentLogin, AgentStateChanged]),
    (f"{T}|NONE|ventas|PJSIP/201|UNPAUSE|", [AgentLogin]),
    (f"{T}|NONE|NONE|PJSIP/201|UNPAUSEALL|", [AgentLogin]),
    (f"{T}|NONE|NONE|Agent/1004|AGENTLOGIN|PJSIP/204", [AgentLogin]),
    (f"{T}|NONE|NONE|Agent/1004|AGENTLOGOFF|PJSIP/204|600", [AgentLogout]),
    (f"{T}|NONE|NONE|Agent/1004|AGENTCALLBACKLOGIN|204@from-internal", [AgentLogin]),
    (f"{T}|NONE|NONE|Agent/1004|AGENTCALLBACKLOGOFF|204@from-internal|600|CommandLogoff", [AgentLogout]),
    (f"{T}|NONE|NONE|NONE|QUEUESTART|", [SourceReset]),
    (f"{T}|NONE|NONE|NONE|CONFIGRELOAD|", []),
    (f"{T}|c1|ventas|NONE|DID|912345678", []),
    (f"{T}|c1|ventas|NONE|INFO|anything|at|all", []),
]


@pytest.mark.parametrize(("line", "kinds"), CASES, ids=[c[0].split("|")[4] + str(i) for i, c in enumerate(CASES)])
def test_each_event_kind(line: str, kinds: list[type]) -> None:
    translator = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes())
    events = translator.feed(line + "\n", 1)
    assert [type(e) for e in events] == kinds
    assert translator.stats.malformed == 0
    assert len({e.id for e in events}) == len(events)


def test_units_and_fields() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes())
    exit_key = tr.feed(f"{T}|c1|ventas|NONE|EXITWITHKEY|5|1|1|12")[0]
    assert isinstance(exit_key, CallExited) and (exit_key.wait_s, exit_key.reason) == (12.0, "exit_key")
    link = tr.feed(f"{T}|c1|ventas|PJSIP/201|ATTENDEDTRANSFER|LINK|SIP/x-1|SIP/y-2|10|75|1")[0]
    assert isinstance(link, CallTransferred) and (link.talk_s, link.agent) == (75.0, "ana")
    pause = tr.feed(f"{T}|NONE|ventas|PJSIP/202|PAUSE|Lunch")[-1]
    assert isinstance(pause, AgentStateChanged) and (pause.state, pause.reason) == ("not_ready", "lunch")
    tr.feed(f"{T}|c9|ventas|NONE|ENTERQUEUE||600|1")
    syscompat = tr.feed(f"{T + 7}|c9|ventas|PJSIP/201|SYSCOMPAT|")[0]
    assert isinstance(syscompat, CallAbandoned) and syscompat.wait_s == 7.0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("garbage", "expected at least 5"),
        ("17731296xx|c1|ventas|NONE|ENTERQUEUE||1|1", "time (field 1) is not whole epoch seconds"),
        ("177312960²|c1|ventas|NONE|ENTERQUEUE||1|1", "time (field 1) is not whole epoch seconds"),  # '²' isdigit
        ("1773129600.5|c1|ventas|NONE|ENTERQUEUE||1|1", "time (field 1) is not whole epoch seconds"),
        ("12|c1|ventas|NONE|ENTERQUEUE||1|1", "time is in 1970, before 2000-01-01: the PBX clock was wrong"),
        ("946684799|c1|ventas|NONE|ENTERQUEUE||1|1", "time is in 1999, before 2000-01-01"),  # 23:59:59Z
        ("4102444800|c1|ventas|NONE|ENTERQUEUE||1|1", "time is after 2100-01-01"),
        (f"{T}|c1|ventas|PJSIP/201|CONNECT|soon|x|1", "CONNECT: holdtime (data field 1) is not a number of seconds"),
        (f"{T}|c1|ventas|PJSIP/201|CONNECT|1e3|x|1", "CONNECT: holdtime (data field 1) is not a number of seconds"),
        (f"{T}|c1|ventas|PJSIP/201|CONNECT|nan|x|1", "CONNECT: holdtime (data field 1) is not a number of seconds"),
        (f"{T}|c1|ventas|PJSIP/201|CONNECT|45.|x|1", "CONNECT: holdtime (data field 1) is not a number of seconds"),
        (f"{T}|c1|ventas|PJSIP/201|CONNECT", "CONNECT: missing data field 1 (holdtime)"),
        (f"{T}|c1|ventas|NONE|ABANDON|1|1|-4", "ABANDON: waittime (data field 3) is negative"),
        (f"{T}|c1|ventas|NONE|ABANDON|1|1|-4.5", "ABANDON: waittime (data field 3) is negative"),
        (f"{T}|c1|NONE|NONE|ENTERQUEUE||1|1", "ENTERQUEUE without a queue"),
        (f"{T}|c1|ventas|NONE|CONNECT|5|x|1", "CONNECT without a member"),
        (f"{T}|c1|ventas|PJSIP/201|BLINDTRANSFER|2000", "needs holdtime, talktime and position"),
        (f"{T}||||", "event name is empty"),
        ("\x00\xff\xfe|\x01|binary", "expected at least 5"),
        (f"{T}|c1|ventas|NONE|ENTERQUEUE||" + "9" * 10_000_000, None),  # a 10 MB line is just a long caller id
    ],
)
def test_malformed_lines_are_counted_never_fatal(line: str, reason: str | None) -> None:
    tr = QueueLogTranslator("pbx")
    events = tr.feed(line + "\n", 42)
    if reason is None:
        assert tr.stats.malformed == 0 and len(events) == 1
        return
    assert events == []
    assert tr.stats.malformed == 1
    (bad,) = tr.stats.errors
    assert bad.lineno == 42 and reason in bad.reason
    assert tr.stats.last_error == f"line 42: {bad.reason}"


# Every field a line can carry that may be personal data: caller numbers and names, members.
PERSONAL = ("600123456", "Cliente Uno", "PJSIP/201", "Ana López")


@pytest.mark.parametrize(
    "line",
    [
        "600123456|c1|ventas|NONE|ENTERQUEUE||600123456|1",  # a cut line: a caller number where the time is
        "0600123456|c1|ventas|NONE|ENTERQUEUE||1|1",
        "600123456x|c1|ventas|NONE|ENTERQUEUE||1|1",
        f"{T}|c1|ventas|PJSIP/201|CONNECT|600123456x|Cliente Uno|1",  # shifted: the caller in holdtime
        f"{T}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|Ana López|1",
        f"{T}|c1|ventas|NONE|ABANDON|1|1|-600123456",
        f"{T}|c1|ventas|NONE|CONNECT|PJSIP/201|x|1",  # no member
        f"{T}|c1|ventas|PJSIP/201|BLINDTRANSFER|Cliente Uno",
        "Cliente Uno|600123456|PJSIP/201",
    ],
)
def test_errors_carry_line_number_and_reason_never_the_line(line: str) -> None:
    tr = QueueLogTranslator("pbx")
    assert tr.feed(line, 7) == []
    (bad,) = tr.stats.errors
    assert bad.lineno == 7 and tr.stats.last_error.startswith("line 7: ")
    for text in (bad.reason, tr.stats.last_error, str(bad)):
        assert not any(p in text for p in PERSONAL), text


def test_opaque_event_names_that_are_not_words_are_not_kept() -> None:
    tr = QueueLogTranslator("pbx")
    for line in (
        f"{T}|c1|ventas|NONE|600123456|x",
        f"{T}|c1|ventas|NONE|Ana López|x",
        f"{T}|c1|ventas|NONE|PJSIP/201|x",
        f"{T}|c1|ventas|NONE|DID|600123456",
    ):
        assert tr.feed(line) == []
    assert dict(tr.stats.ignored) == {"(not an upper-case word)": 3, "DID": 1}
    assert tr.stats.malformed == 0


def test_decimal_waits_are_seconds() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())
    answered = tr.feed(f"{T}|c1|ventas|PJSIP/201|CONNECT|45.0|c1-agent|1")[1]
    assert isinstance(answered, CallAnswered) and answered.wait_s == 45.0
    ended = tr.feed(f"{T + 180}|c1|ventas|PJSIP/201|COMPLETEAGENT|45.0|180.5|1")[0]
    assert isinstance(ended, CallEnded) and ended.talk_s == 180.5
    abandoned = tr.feed(f"{T}|c2|ventas|NONE|ABANDON|1|1|12.25")[0]
    assert isinstance(abandoned, CallAbandoned) and abandoned.wait_s == 12.25
    exited = tr.feed(f"{T}|c3|ventas|NONE|EXITWITHKEY|5|1|1|0.5")[0]
    assert isinstance(exited, CallExited) and exited.wait_s == 0.5
    moved = tr.feed(f"{T}|c4|ventas|PJSIP/201|BLINDTRANSFER|2000|from-internal|10.0|60.0|1")[0]
    assert isinstance(moved, CallTransferred) and moved.talk_s == 60.0
    assert tr.stats.malformed == 0


def test_the_first_year_2000_second_is_accepted() -> None:
    tr = QueueLogTranslator("pbx")
    (queued,) = tr.feed("946684800|c1|ventas|NONE|ENTERQUEUE||1|1")
    assert queued.ts == 946_684_800.0 and tr.stats.malformed == 0


# ------------------------------------------------- lines logged again

RELOGGED = DATA / "queue_log_relogged.txt"


def test_an_outcome_logged_again_gives_no_event() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())
    assert [type(e) for e in tr.feed(f"{T}|c1|ventas|PJSIP/201|CONNECT|12|c1-agent|3")] == [
        AgentLogin,
        CallAnswered,
        AgentStateChanged,
    ]
    assert tr.feed(f"{T}|c1|ventas|PJSIP/201|CONNECT|12|c1-agent|3|0") == []
    first = tr.feed(f"{T + 180}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|180")
    assert [type(e) for e in first] == [CallEnded, AgentStateChanged]
    # the same handling again: a trailing field more, the other verb, other values a second later
    assert tr.feed(f"{T + 180}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|180|1") == []
    assert tr.feed(f"{T + 181}|c1|ventas|PJSIP/201|COMPLETECALLER|12|181|1") == []
    assert tr.feed(f"{T + 181}|c1|ventas|PJSIP/201|BLINDTRANSFER|2000|from-internal|12|181|1") == []
    assert dict(tr.stats.repeated) == {"CONNECT": 1, "COMPLETEAGENT": 1, "COMPLETECALLER": 1, "BLINDTRANSFER": 1}
    ended = first[0]
    assert isinstance(ended, CallEnded) and ended.talk_s == 180.0  # the first line's values


def test_a_call_in_the_same_queue_again_counts_again() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())
    kinds = []
    for line in (
        f"{T}|c1|ventas|NONE|ENTERQUEUE||600|1",
        f"{T + 60}|c1|ventas|NONE|EXITWITHTIMEOUT|1|1|60",
        f"{T + 60}|c1|ventas|NONE|EXITWITHTIMEOUT|1|1|60|1",  # logged again
        f"{T + 60}|c1|ventas|NONE|ENTERQUEUE||600|1",  # the dialplan puts it back: a new entry
        f"{T + 60}|c1|ventas|NONE|ENTERQUEUE||600|1|Cliente Uno",  # … logged again
        f"{T + 120}|c1|ventas|NONE|EXITWITHTIMEOUT|1|1|60",
        f"{T + 120}|c1|ventas|NONE|ENTERQUEUE||600|1",
        f"{T + 130}|c1|ventas|PJSIP/201|CONNECT|10|c1-agent|1",
        f"{T + 130}|c1|ventas|PJSIP/201|BLINDTRANSFER|2000|from-internal|10|0|1",
        f"{T + 131}|c1|ventas|NONE|ENTERQUEUE||600|1",  # transferred back into the queue
        f"{T + 140}|c1|ventas|PJSIP/202|CONNECT|9|c1-agent|1",
        f"{T + 200}|c1|ventas|PJSIP/202|COMPLETECALLER|9|60|1",
    ):
        kinds.append([type(e).__name__ for e in tr.feed(line) if not type(e).__name__.startswith("Agent")])
    assert kinds == [
        ["CallQueued"],
        ["CallExited"],
        [],
        ["CallQueued"],
        [],
        ["CallExited"],
        ["CallQueued"],
        ["CallAnswered"],
        ["CallTransferred"],
        ["CallQueued"],
        ["CallAnswered"],
        ["CallEnded"],
    ]


def test_an_outcome_before_the_file_and_its_relog() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())  # the file starts after c1 was answered
    assert [type(e) for e in tr.feed(f"{T}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|180")][:1] == [CallEnded]
    assert tr.feed(f"{T}|c1|ventas|PJSIP/201|COMPLETEAGENT|12|180|1") == []


def test_an_asterisk_restart_forgets_the_calls() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())
    tr.feed(f"{T}|c1|ventas|NONE|ENTERQUEUE||600|1")
    restart = tr.feed(f"{T + 5}|NONE|NONE|NONE|QUEUESTART|")
    # the call waiting when Asterisk restarted is said lost (no outcome invented), then the reset
    assert [(type(e), getattr(e, "call_id", "")) for e in restart] == [(CallLost, "c1"), (SourceReset, "")]
    assert restart[0].ts == T + 5 and len({e.id for e in restart}) == 2
    # the same callid after the restart is another call (uniqueids restart too)
    assert [type(e) for e in tr.feed(f"{T + 9}|c1|ventas|NONE|ENTERQUEUE||600|1")] == [CallQueued]


def test_a_late_relog_does_not_free_the_member_on_the_next_call() -> None:
    settings = FoldSettings.from_config(CONFIG)
    state = CentreState()
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes())
    apply_all(state, settings, tr.translate(RELOGGED.read_text().splitlines()))
    # ana (PJSIP/201) is on r6 when r1's COMPLETEAGENT is logged once more
    assert state.agents["ana"].state == "on_call"
    assert state.agents["luis"].state == "available" and state.agents["marta"].state == "available"
    handled = {a: sum(c.handled for c in state.agents[a].buckets.values()) for a in ("ana", "luis", "marta")}
    assert handled == {"ana": 1, "luis": 1, "marta": 1}


def test_a_login_while_logged_in_keeps_the_state_the_board_shows() -> None:
    """An AGENTLOGIN for a paused agent changes nothing on the board (a login makes only a logged-out
    agent available), so the UNPAUSE after it must still say so."""
    settings = FoldSettings.from_config(CONFIG)
    state = CentreState()
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes())
    apply_all(state, settings, tr.feed(f"{T}|NONE|ventas|PJSIP/201|PAUSE|Lunch"))
    apply_all(state, settings, tr.feed(f"{T + 5}|NONE|NONE|PJSIP/201|AGENTLOGIN|PJSIP/201"))
    assert (state.agents["ana"].state, state.agents["ana"].reason) == ("not_ready", "lunch")
    unpause = tr.feed(f"{T + 9}|NONE|ventas|PJSIP/201|UNPAUSE|")
    assert [(type(e), getattr(e, "state", "")) for e in unpause] == [(AgentStateChanged, "available")]
    apply_all(state, settings, unpause)
    assert state.agents["ana"].state == "available"


# ------------------------------------------------------ the whole file


def test_report_totals_by_hand() -> None:
    rep, _ = report()
    v = rep["queues"]["ventas"]["total"]
    # answered c1 12, c2 20, c7 25, c8 15, c14 10, c15 5 (T = 20, inclusive)
    assert (v["answered"], v["answered_within_sl"], v["asa_s"]) == (6, 5, 14.5)
    # abandoned c3 4 (duplicated line counts once), c4 30, c11 SYSCOMPAT 3, c12 8 (agent set) — Ts = 5
    assert (v["abandoned"], v["abandoned_within_sl"], v["short_abandoned"]) == (4, 3, 2)
    assert v["avg_abandon_wait_s"] == 11.25
    # c5 timeout 300, c6 key 10, c9 empty 0, c10 withdraw 30, c13 timeout 60 (then re-entered soporte)
    assert v["other_exits"] == 5
    assert v["exits"] == {"timeout": 2, "exit_key": 1, "empty": 1, "withdraw": 1, "other": 0}
    assert v["offered"] == 15
    assert v["max_wait_s"] == 300.0
    # handled: c1 180, c2 240, c7 120 (blind), c8 120 (attended), c14 60, c15 60 (old TRANSFER)
    assert (v["handled"], v["transferred"], v["aht_s"]) == (6, 3, 130.0)
    assert v["abandon_rate_pct"] == pytest.approx(26.67)
    assert v["service_level_pct"] == {
        "answered": pytest.approx(83.33),  # 5 / 6
        # Asterisk's abandons U: 4 hang-ups (3 within), timeouts c5 300 s and c13 60 s, empty c9 0 s
        # (within), withdraw c10 30 s; not the exit key: (5 + 3 + 1) / (6 + 4 + 2 + 1 + 1)
        "asterisk_sl2": pytest.approx(64.29),
        "sl2_hangups": 80.0,  # (5 + 3) / (6 + 4)
        "offered": 50.0,  # 5 / 10
        "excl_short_abandons": 62.5,  # 5 / (10 − 2)
        "abandons_after_T": pytest.approx(71.43),  # 5 / (6 + 1)
    }
    # soporte is not in the config: defaults T = 30, Ts = 10
    s = rep["queues"]["soporte"]["total"]
    assert (s["offered"], s["answered"], s["answered_within_sl"], s["abandoned"], s["short_abandoned"]) == (
        2,
        1,
        0,
        1,
        1,
    )
    assert s["service_level_pct"]["answered"] == 0.0
    assert s["service_level_pct"]["asterisk_sl2"] == 50.0
    assert (s["asa_s"], s["aht_s"], s["max_wait_s"]) == (40.0, 180.0, 40.0)


def test_report_intervals_by_hand() -> None:
    rep, _ = report()
    rows = {i["start"]: i for i in rep["queues"]["ventas"]["intervals"]}
    assert list(rows) == ["2026-03-10T09:00:00+01:00", "2026-03-10T09:15:00+01:00"]
    first, second = rows["2026-03-10T09:00:00+01:00"], rows["2026-03-10T09:15:00+01:00"]
    assert (first["offered"], first["answered"], first["abandoned"], first["other_exits"]) == (7, 3, 2, 2)
    assert (first["answered_within_sl"], first["short_abandoned"], first["aht_s"]) == (2, 1, 180.0)
    assert (second["offered"], second["answered"], second["abandoned"], second["other_exits"]) == (8, 3, 2, 3)
    assert (second["answered_within_sl"], second["abandoned_within_sl"], second["aht_s"]) == (3, 2, 80.0)
    assert second["service_level_pct"]["answered"] == 100.0
    hourly, _ = build_report(iter(lines()), CONFIG, interval_minutes=60)
    (only,) = hourly["queues"]["ventas"]["intervals"]
    assert only["start"] == "2026-03-10T09:00:00+01:00" and only["offered"] == 15


def test_report_counts_what_it_skipped() -> None:
    _, stats = report()
    assert stats.blank == 1
    assert stats.malformed == 2
    assert [tuple(bad) for bad in stats.errors] == [
        (49, "expected at least 5 '|'-separated fields, found 1"),
        (50, "CONNECT: holdtime (data field 1) is not a number of seconds"),
    ]
    assert dict(stats.repeated) == {"ABANDON": 1}  # c3's duplicated line
    # opaque: dialplan events, a custom one, and the half-written last line
    assert dict(stats.ignored) == {"DID": 1, "INFO": 1, "MYCUSTOMEVENT": 1, "ENTERQ": 1}


def test_agent_states_from_the_file() -> None:
    settings = FoldSettings.from_config(CONFIG)
    state = CentreState()
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes())
    apply_all(state, settings, tr.translate(lines()))
    agents = state.agents
    assert agents["ana"].state == "available" and agents["ana"].queues == {"ventas"}
    assert agents["luis"].state == "logged_out"  # REMOVEMEMBER from its only queue
    assert agents["marta"].state == "available"
    assert agents["pablo"].state == "logged_out"  # AGENTLOGOFF
    paused = {}
    for a_id in ("ana", "luis"):
        for c in agents[a_id].buckets.values():
            for reason, s in c.pause_s.items():
                paused[(a_id, reason)] = paused.get((a_id, reason), 0) + s
    # ana: PAUSE Descanso 09:06:00 → UNPAUSE 09:09:30; luis: ADDMEMBER PAUSED 08:59:01 → UNPAUSE 08:59:30,
    # PAUSEALL Lunch 09:19:00 → UNPAUSEALL 09:29:00 (the per-queue PAUSE repeats it)
    assert paused == {("ana", "break"): 210.0, ("luis", "unspecified"): 29.0, ("luis", "lunch"): 600.0}


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(RAW_CONFIG))
    return path


def test_report_command_json_and_csv(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    base = [sys.executable, "-m", "wallboard", "report", "--queue-log", str(EVERY_EVENT), "--config", str(cfg)]
    out = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"queues"}
    total = data["queues"]["ventas"]["total"]
    for key in (
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "other_exits",
        "answered_within_sl",
        "abandoned_within_sl",
        "asa_s",
        "avg_abandon_wait_s",
        "max_wait_s",
        "aht_s",
        "abandon_rate_pct",
        "service_level_pct",
    ):
        assert key in total
    assert data["queues"]["ventas"]["intervals"][0]["start"] == "2026-03-10T09:00:00+01:00"
    assert "2 malformed" in out.stderr and "line 50:" in out.stderr
    out = subprocess.run(base + ["--format", "csv", "--interval", "30"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["queue"], r["interval_start"]) for r in rows] == [
        ("soporte", "total"),
        ("soporte", "2026-03-10T09:00:00+01:00"),
        ("soporte", "2026-03-10T09:30:00+01:00"),
        ("ventas", "total"),
        ("ventas", "2026-03-10T09:00:00+01:00"),
    ]
    assert rows[3]["service_level_pct.asterisk_sl2"] == "64.29"
    assert rows[3]["service_level_pct.sl2_hangups"] == "80.0"
    assert rows[1]["service_level_pct.answered"] == "0.0" and rows[2]["asa_s"] == ""  # empty → blank, not 0


def test_report_rejects_an_interval_that_does_not_tile_the_day(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallboard",
            "report",
            "--queue-log",
            str(EVERY_EVENT),
            "--interval",
            "7",
            "--config",
            str(write_config(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "got 7" in out.stderr and out.stdout == ""


def test_report_on_a_missing_file(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallboard",
            "report",
            "--queue-log",
            str(tmp_path / "nope"),
            "--config",
            str(write_config(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "no such file" in out.stderr
