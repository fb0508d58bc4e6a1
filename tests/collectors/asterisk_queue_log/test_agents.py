"""queue_log agent states: static members, per-queue pauses and rings, line by line and on the board."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.collectors.asterisk_queue_log.test_follower import NOW, Collector, make_config, write
from wallboard.collectors import configure
from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
from wallboard.config import ConfigError, parse_config
from wallboard.events import AgentLogin, AgentLogout, AgentStateChanged, CallAnswered, CallEnded, Event, SourceReset
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.state import CentreState
from wallboard.streams import Streams

T = 1773129600
RAW: dict[str, Any] = {
    "queues": [{"id": "ventas"}, {"id": "soporte"}],
    "agents": [
        {"id": "ana", "aliases": ["PJSIP/201"]},
        {"id": "luis", "aliases": ["PJSIP/202"]},
        {"id": "marta", "aliases": ["PJSIP/203"]},
    ],
    "pause_reasons": [{"id": "break", "aliases": ["Descanso"]}, {"id": "lunch", "aliases": ["Lunch"]}],
}
CONFIG = parse_config(RAW, env={})


class Board:
    """A translator and the fold it feeds: what the board shows after each line."""

    def __init__(self, static: dict[str, list[str]] | None = None) -> None:
        self.tr = QueueLogTranslator("pbx", CONFIG.agent_aliases(), CONFIG.pause_reason_codes(), static_members=static)
        self.state = CentreState()
        self.settings = FoldSettings.from_config(CONFIG)

    def apply(self, events: Iterable[Event]) -> list[Event]:
        events = list(events)
        apply_all(self.state, self.settings, events)
        return events

    def feed(self, line: str) -> list[Event]:
        return self.apply(self.tr.feed(line))

    def start(self, ts: float = T) -> list[Event]:
        """The board starts reading at ``ts``: what stands is sent first."""
        return self.apply(self.tr.carry_over(ts))

    def agent(self, agent: str) -> tuple[str, str, set[str]]:
        a = self.state.agents[agent]
        return a.state, a.reason, set(a.queues)

    def seconds(self, agent: str, state: str) -> float:
        return sum(c.state_s.get(state, 0.0) for c in self.state.agents[agent].buckets.values())

    def paused(self, agent: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in self.state.agents[agent].buckets.values():
            for reason, s in c.pause_s.items():
                out[reason] = out.get(reason, 0.0) + s
        return out


def kinds(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "state", "")) for e in events]


# ------------------------------------------------------------ static members


def test_static_members_are_logged_in_from_the_start() -> None:
    board = Board({"ventas": ["PJSIP/201"], "soporte": ["PJSIP/201", "marta"]})
    carried = board.start()
    # by agent id: ana's two queues then her state, marta's queue then hers
    assert [(type(e).__name__, getattr(e, "agent", ""), getattr(e, "queue", "")) for e in carried] == [
        ("AgentLogin", "ana", "soporte"),
        ("AgentLogin", "ana", "ventas"),
        ("AgentStateChanged", "ana", ""),
        ("AgentLogin", "marta", "soporte"),
        ("AgentStateChanged", "marta", ""),
    ]
    assert board.agent("ana") == ("available", "", {"ventas", "soporte"})
    assert board.agent("marta") == ("available", "", {"soporte"})
    assert "luis" not in board.state.agents
    # a call keeps them consistent: no login (already in ventas), on call, then available
    answered = board.feed(f"{T + 60}|c1|ventas|PJSIP/201|CONNECT|12|c1.1|2")
    assert [type(e) for e in answered] == [CallAnswered, AgentStateChanged]
    assert board.agent("ana") == ("on_call", "", {"ventas", "soporte"})
    assert [type(e) for e in board.feed(f"{T + 240}|c1|ventas|PJSIP/201|COMPLETECALLER|12|180|1")] == [
        CallEnded,
        AgentStateChanged,
    ]
    assert board.agent("ana") == ("available", "", {"ventas", "soporte"})
    assert board.seconds("ana", "available") == 60.0 and board.seconds("ana", "on_call") == 180.0


def test_an_asterisk_restart_brings_static_members_back_unpaused() -> None:
    board = Board({"ventas": ["PJSIP/201"]})
    board.start()
    board.feed(f"{T + 10}|NONE|ventas|PJSIP/201|PAUSE|Lunch")
    assert board.agent("ana") == ("not_ready", "lunch", {"ventas"})
    board.feed(f"{T + 20}|NONE|ventas|PJSIP/202|ADDMEMBER|")
    board.feed(f"{T + 30}|c1|ventas|PJSIP/202|CONNECT|5|c1.1|1")
    restart = board.feed(f"{T + 50}|NONE|NONE|NONE|QUEUESTART|")
    # ana (static) is shown at once; luis (dynamic) by his next line, the ADDMEMBER Asterisk logs
    assert kinds(restart) == [("SourceReset", ""), ("AgentStateChanged", "available")]
    assert isinstance(restart[0], SourceReset) and restart[1].agent == "ana"  # type: ignore[attr-defined]
    assert board.agent("ana") == ("available", "", {"ventas"})
    board.feed(f"{T + 51}|NONE|ventas|PJSIP/202|ADDMEMBER|")
    assert board.agent("luis") == ("available", "", {"ventas"})
    assert board.paused("ana") == {"lunch": 40.0}


def test_static_standing_is_only_the_static_members_and_moves_no_board_that_has_them() -> None:
    board = Board({"ventas": ["PJSIP/201"]})
    board.start()
    board.feed(f"{T + 10}|NONE|ventas|PJSIP/202|ADDMEMBER|")
    board.feed(f"{T + 20}|NONE|ventas|PJSIP/201|PAUSE|Descanso")
    standing = board.tr.static_standing(T + 30)
    assert [(type(e), getattr(e, "agent", "")) for e in standing] == [(AgentLogin, "ana"), (AgentStateChanged, "ana")]
    since = board.state.agents["ana"].since
    board.apply(standing)
    assert board.agent("ana") == ("not_ready", "break", {"ventas"}) and board.state.agents["ana"].since == since
    # a board that never had ana (she was added to the option while the collector was stopped)
    fresh = Board()
    fresh.apply(standing)
    assert fresh.agent("ana") == ("not_ready", "break", {"ventas"})


@pytest.mark.parametrize(
    ("static", "message"),
    [
        ({"ventas": ["PJSIP/201", "Ana López", "Ana López"]}, "queue 'ventas', member 3: listed twice"),
        ({"ventas": ["Ana López", ""]}, "queue 'ventas', member 2: must be 1 to 256 characters and not NONE"),
        ({"ventas": ["NONE"]}, "queue 'ventas', member 1: must be 1 to 256 characters and not NONE"),
        ({"ventas": ["x" * 257]}, "queue 'ventas', member 1: must be 1 to 256 characters and not NONE"),
        ({"NONE": ["Ana López"]}, "a queue name must be 1 to 256 characters and not NONE, got 'NONE'"),
    ],
)
def test_a_bad_static_members_option_is_named_never_the_member(static: dict[str, Any], message: str) -> None:
    raw = {**RAW, "collectors": [{"kind": "asterisk_queue_log", "options": {"path": "q", "static_members": static}}]}
    with pytest.raises(ConfigError) as caught:
        configure(parse_config(raw, env={}))
    assert str(caught.value) == f"config: collectors[0].options.static_members: {message}"


# ------------------------------------------------------------ per-queue pause


def test_paused_in_one_of_two_queues_is_available_paused_in_both_not_ready() -> None:
    board = Board({"ventas": ["PJSIP/201"], "soporte": ["PJSIP/201"]})
    board.start()
    assert board.feed(f"{T + 10}|NONE|ventas|PJSIP/201|PAUSE|Lunch") == []  # soporte still offers calls
    assert board.agent("ana") == ("available", "", {"ventas", "soporte"})
    assert kinds(board.feed(f"{T + 20}|NONE|soporte|PJSIP/201|PAUSE|Descanso")) == [("AgentStateChanged", "not_ready")]
    assert board.agent("ana") == ("not_ready", "break", {"ventas", "soporte"})  # the latest pause's reason
    assert kinds(board.feed(f"{T + 30}|NONE|ventas|PJSIP/201|UNPAUSE|")) == [("AgentStateChanged", "available")]
    # PAUSEALL, then the PAUSE Asterisk logs for each queue: one change
    assert kinds(board.feed(f"{T + 40}|NONE|NONE|PJSIP/201|PAUSEALL|Lunch")) == [("AgentStateChanged", "not_ready")]
    assert board.feed(f"{T + 40}|NONE|ventas|PJSIP/201|PAUSE|Lunch") == []
    assert board.feed(f"{T + 40}|NONE|soporte|PJSIP/201|PAUSE|Lunch") == []
    assert board.agent("ana") == ("not_ready", "lunch", {"ventas", "soporte"})
    assert kinds(board.feed(f"{T + 100}|NONE|NONE|PJSIP/201|UNPAUSEALL|")) == [("AgentStateChanged", "available")]
    assert board.feed(f"{T + 100}|NONE|ventas|PJSIP/201|UNPAUSE|") == []
    assert board.feed(f"{T + 100}|NONE|soporte|PJSIP/201|UNPAUSE|") == []
    # not ready 20 → 30 for break, 40 → 100 for lunch; the pause in ventas alone (10 → 30) counts nothing
    assert board.paused("ana") == {"break": 10.0, "lunch": 60.0}
    assert board.seconds("ana", "available") == 20.0 + 10.0  # 0 → 20 and 30 → 40


def test_leaving_the_only_queue_not_paused_makes_not_ready() -> None:
    board = Board()
    assert [type(e) for e in board.feed(f"{T}|NONE|ventas|PJSIP/202|ADDMEMBER|")] == [AgentLogin]
    assert [type(e) for e in board.feed(f"{T + 1}|NONE|soporte|PJSIP/202|ADDMEMBER|PAUSED")] == [AgentLogin]
    assert board.agent("luis") == ("available", "", {"ventas", "soporte"})
    removed = board.feed(f"{T + 5}|NONE|ventas|PJSIP/202|REMOVEMEMBER|")
    assert kinds(removed) == [("AgentLogout", ""), ("AgentStateChanged", "not_ready")]
    assert board.agent("luis") == ("not_ready", "", {"soporte"})
    assert kinds(board.feed(f"{T + 9}|NONE|ventas|PJSIP/202|ADDMEMBER|")) == [
        ("AgentLogin", ""),
        ("AgentStateChanged", "available"),
    ]
    assert board.paused("luis") == {"unspecified": 4.0}
    assert [type(e) for e in board.feed(f"{T + 20}|NONE|NONE|PJSIP/202|AGENTLOGOFF|PJSIP/202|600")] == [AgentLogout]
    assert board.agent("luis") == ("logged_out", "", set())


def test_pauseall_of_a_member_whose_queues_are_not_known_and_a_queue_it_joins_after() -> None:
    board = Board()  # the file starts mid-day: luis's ADDMEMBERs are in yesterday's file
    assert kinds(board.feed(f"{T}|NONE|NONE|PJSIP/202|PAUSEALL|Lunch")) == [
        ("AgentLogin", ""),
        ("AgentStateChanged", "not_ready"),
    ]
    assert board.agent("luis") == ("not_ready", "lunch", set())
    # the PAUSE that follows names a queue: he is in it
    assert [type(e) for e in board.feed(f"{T}|NONE|ventas|PJSIP/202|PAUSE|Lunch")] == [AgentLogin]
    assert board.agent("luis") == ("not_ready", "lunch", {"ventas"})
    # added unpaused to another queue: it offers him calls
    assert kinds(board.feed(f"{T + 30}|NONE|soporte|PJSIP/202|ADDMEMBER|")) == [
        ("AgentLogin", ""),
        ("AgentStateChanged", "available"),
    ]


# ------------------------------------------------------------ rings


def test_an_unanswered_ring_is_shown_after_the_fact_from_when_it_began() -> None:
    board = Board({"ventas": ["PJSIP/201"]})
    board.start()
    rang = board.feed(f"{T + 100}|c1|ventas|PJSIP/201|RINGNOANSWER|15000")
    assert [(type(e), e.ts, getattr(e, "state", "")) for e in rang] == [
        (AgentStateChanged, T + 85.0, "ringing"),
        (AgentStateChanged, T + 100.0, "available"),
    ]
    canceled = board.feed(f"{T + 130}|c2|ventas|PJSIP/201|RINGCANCELED|2500")
    assert [(e.ts, getattr(e, "state", "")) for e in canceled] == [(T + 127.5, "ringing"), (T + 130.0, "available")]
    assert board.agent("ana") == ("available", "", {"ventas"})
    assert board.seconds("ana", "ringing") == 15.0 + 2.5
    assert board.seconds("ana", "available") == 85.0 + 27.5  # T → T+85, T+100 → T+127.5
    assert board.state.agents["ana"].since == T + 130


def test_rings_the_board_cannot_take_are_not_shown() -> None:
    board = Board({"ventas": ["PJSIP/201"], "soporte": ["PJSIP/201"]})
    board.start()
    assert board.feed(f"{T + 10}|c1|ventas|PJSIP/201|RINGNOANSWER|0") == []  # 0: busy or unavailable
    board.feed(f"{T + 20}|c2|ventas|PJSIP/201|CONNECT|5|c2.1|1")
    assert board.feed(f"{T + 40}|c3|soporte|PJSIP/201|RINGNOANSWER|5000") == []  # rung in a call (ringinuse)
    board.feed(f"{T + 100}|c2|ventas|PJSIP/201|COMPLETECALLER|5|80|1")
    # began (T + 90) before the call ended: it would overwrite what the board holds
    assert board.feed(f"{T + 105}|c4|ventas|PJSIP/201|RINGNOANSWER|15000") == []
    board.feed(f"{T + 110}|NONE|NONE|PJSIP/201|PAUSEALL|Lunch")
    assert board.feed(f"{T + 200}|c5|ventas|PJSIP/201|RINGNOANSWER|2000") == []  # paused everywhere
    assert board.seconds("ana", "ringing") == 0.0
    # a member first seen by its ring is in that queue, from the ring's end
    assert [type(e) for e in board.feed(f"{T + 300}|c6|ventas|PJSIP/202|RINGNOANSWER|15000")] == [AgentLogin]
    assert board.agent("luis") == ("available", "", {"ventas"})


def test_a_ring_time_that_is_not_milliseconds_is_counted_never_fatal() -> None:
    tr = QueueLogTranslator("pbx", CONFIG.agent_aliases())
    assert tr.feed(f"{T}|c1|ventas|PJSIP/201|RINGNOANSWER|soon", 7) == []
    assert tr.stats.last_error == "line 7: RINGNOANSWER: ringtime (data field 1) is not a number of milliseconds"
    assert tr.feed(f"{T}|c1|ventas|PJSIP/201|RINGCANCELED", 8) == []
    assert tr.stats.last_error == "line 8: RINGCANCELED: missing data field 1 (ringtime)"
    # a report counts calls only: rings are neither read nor refused there
    report = QueueLogTranslator("pbx", agent_events=False)
    assert report.feed(f"{T}|c1|ventas|PJSIP/201|RINGNOANSWER|soon") == [] and report.stats.malformed == 0


def test_agentlogoff_and_agentlogin_without_queues_keep_the_old_rules() -> None:
    board = Board()
    assert [type(e) for e in board.feed(f"{T}|NONE|NONE|PJSIP/202|AGENTLOGIN|PJSIP/202")] == [AgentLogin]
    assert board.agent("luis") == ("available", "", set())
    assert [type(e) for e in board.feed(f"{T + 5}|NONE|NONE|PJSIP/202|AGENTLOGOFF|PJSIP/202|5")] == [AgentLogout]
    assert board.agent("luis") == ("logged_out", "", set())


# ------------------------------------------------------------ the live collector


async def test_the_collector_shows_static_members_from_the_day_start_and_after_a_restart(
    streams: Streams, tmp_path: Path
) -> None:
    log = tmp_path / "queue_log"
    write(log, [f"{NOW - 600}|NONE|ventas|PJSIP/201|PAUSE|Comida"], mode="x")
    first = Collector(make_config(log, static_members={"ventas": ["PJSIP/201"]}), streams)
    first.start()
    sent = await first.wait_for(lambda ev: any(e.KIND == "agent.state" and e.ts == NOW - 600 for e in ev))
    await first.stop()
    # ana is in ventas from the day start (three hours ago), available, then paused
    assert [(e.KIND, getattr(e, "agent", ""), getattr(e, "state", "")) for e in sent] == [
        ("agent.login", "ana", ""),
        ("agent.state", "ana", "available"),
        ("agent.state", "ana", "not_ready"),
    ]
    day_start = sent[0].ts
    assert NOW - 3 * 3600 - 900 < day_start <= NOW - 3 * 3600 and sent[1].ts == day_start
    # luis is added to the option while the collector is stopped: the restart sends him, as of the
    # newest line, and ana again (which moves nothing)
    second = Collector(make_config(log, static_members={"ventas": ["PJSIP/201", "PJSIP/202"]}), streams)
    second.start()
    events = await second.wait_for(lambda ev: any(getattr(e, "agent", "") == "luis" for e in ev))
    await second.stop()
    again = events[len(sent) :]
    assert [(e.KIND, getattr(e, "agent", ""), getattr(e, "state", ""), e.ts) for e in again] == [
        ("agent.login", "ana", "", NOW - 600),
        ("agent.state", "ana", "not_ready", NOW - 600),
        ("agent.login", "luis", "", NOW - 600),
        ("agent.state", "luis", "available", NOW - 600),
    ]
    board = CentreState()
    apply_all(board, FoldSettings.from_config(CONFIG), events)
    ana, luis = board.agents["ana"], board.agents["luis"]
    assert (ana.state, ana.reason, ana.queues, ana.since) == ("not_ready", "lunch", {"ventas"}, NOW - 600)
    assert (luis.state, luis.queues) == ("available", {"ventas"})
