"""Asterisk AMI: the translator's rules, then the real collector against a stand-in Asterisk on a real socket.

The collector runs through ``run_collector`` against a real Redis; tests assert
on the events in the stream and on the folded view a screen would show.
Expected numbers are worked out by hand from the transcripts in tests/data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tests.collectors.asterisk_ami.ami_server import AmiServer, load_transcript, parse_block, wire, wire_all
from tests.helpers import collector_running, until
from wallboard.collectors.asterisk_ami import Options
from wallboard.collectors.asterisk_ami.protocol import parse_message
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.config import Config, parse_config
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    AnyEvent,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallLost,
    CallQueued,
    CallTransferred,
    Event,
)
from wallboard.fold import CentreState, FoldSettings, apply_all
from wallboard.snapshot import build_view
from wallboard.streams import Streams
from wallboard.wire import decode

SOURCE = "pbx"
SECTIONS: dict[str, Any] = {
    "queues": [
        {"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5},
        {"id": "soporte", "sl_threshold_s": 30, "short_abandon_s": 10},
    ],
    "agents": [
        {"id": "ana", "aliases": ["PJSIP/201"]},
        {"id": "luis", "aliases": ["PJSIP/202"]},
        {"id": "marta", "aliases": ["SIP/203"]},
        {"id": "pablo", "aliases": ["Pablo Ruiz"]},
    ],
    "pause_reasons": [{"id": "lunch", "aliases": ["Almuerzo", "Comida"]}, {"id": "break", "aliases": ["Descanso"]}],
}
CONFIG: Config = parse_config({**SECTIONS, "timezone": "Europe/Madrid"}, env={})
UID_101, UID_102, UID_103 = "1773129500.101", "1773129530.102", "1773129540.103"


# ------------------------------------------------------------------ helpers


def translator(grace_s: float = 2.0) -> AmiTranslator:
    return AmiTranslator(SOURCE, CONFIG.agent_aliases(), CONFIG.pause_reason_codes(), grace_s=grace_s)


def msg(text: str) -> dict[str, str]:
    return parse_message(text.strip())


def of(events: list[AnyEvent] | list[Event], cls: type[Event]) -> list[Any]:
    return [e for e in events if type(e) is cls]


def states(events: list[AnyEvent] | list[Event], agent: str) -> list[tuple[str, str, str]]:
    return [(e.state, e.reason, e.direction) for e in of(events, AgentStateChanged) if e.agent == agent]


def fold_view(events: list[AnyEvent], now: float | None = None) -> tuple[dict[str, Any], CentreState]:
    settings = FoldSettings.from_config(CONFIG)
    state = CentreState()
    apply_all(state, settings, events)
    return build_view(state, CONFIG, settings, time.time() if now is None else now), state


def make(make_config: Callable[..., Config], port: int, **options: Any) -> Config:
    opts = {
        "port": port,
        "username": "wallboard",
        "secret": "s3cret",
        "ping_s": 5.0,
        "timeout_s": 2.0,
        "connect_timeout_s": 1.0,
        "outcome_grace_s": 0.3,
        **options,
    }
    return make_config(**SECTIONS, collectors=[{"kind": "asterisk_ami", "name": SOURCE, "options": opts}])


async def stream(streams: Streams) -> list[AnyEvent]:
    return [decode(fields) for _, fields in await streams.redis.xrange(streams.events_key)]


async def stream_when(
    streams: Streams, condition: Callable[[list[AnyEvent]], bool], timeout: float = 5.0
) -> list[AnyEvent]:
    """The stream's events once ``condition`` holds for them."""

    async def check() -> tuple[list[AnyEvent]] | None:
        events = await stream(streams)
        return (events,) if condition(events) else None

    (events,) = await until(check, timeout, "the stream's condition")
    return events


async def health_when(
    streams: Streams, condition: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """The source's health once ``condition`` holds for it."""

    async def check() -> dict[str, Any] | None:
        health: dict[str, Any] = (await streams.source_health()).get(SOURCE, {})
        return health if health and condition(health) else None

    found: dict[str, Any] = await until(check, timeout, "the health's condition")
    return found


@contextlib.asynccontextmanager
async def collector(config: Config, streams: Streams) -> AsyncIterator[asyncio.Task[None]]:
    """The collector running; on the way out it must end cancelled, not crashed or returned."""
    async with collector_running(config, streams) as task:
        yield task
    assert task.cancelled()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect and report health fast, so the tests do not wait on production timings."""
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.05)
    monkeypatch.setattr("wallboard.collectors.runtime.HEARTBEAT_S", 0.1)


@pytest.fixture
async def ami() -> AsyncIterator[AmiServer]:
    server = AmiServer()
    server.status_rows = load_transcript("ami_queue_status.txt")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def ready(events: list[AnyEvent]) -> bool:
    """The first resync has landed (it is emitted in one batch)."""
    return len(of(events, CallQueued)) >= 3


# ------------------------------------------------------------------ options


def test_options() -> None:
    config = parse_config(
        {
            "collectors": [
                {
                    "kind": "asterisk_ami",
                    "options": {"host": "pbx.example", "username": "wallboard", "secret": "${AMI_SECRET}"},
                }
            ]
        },
        env={"AMI_SECRET": "t0p"},
    )
    options = Options.model_validate(config.collectors[0].options)
    assert (options.host, options.port, options.secret, options.ping_s, options.timeout_s) == (
        "pbx.example",
        5038,
        "t0p",
        20.0,
        10.0,
    )
    assert "t0p" not in repr(options)
    for bad in (
        {"secret": "x"},
        {"username": "", "secret": "x"},
        {"username": "u", "secret": "x", "port": 0},
        {"username": "u", "secret": "x", "pasword": "x"},
        {"username": "u", "secret": "x\r\nAction: Logoff"},
    ):
        with pytest.raises(ValidationError):
            Options.model_validate(bad)


# --------------------------------------------------------------- translator


JOIN = """
Event: QueueCallerJoin
Privilege: agent,all
Channel: PJSIP/trunk-00000050
Uniqueid: {uid}
Linkedid: {uid}
CallerIDNum: 600100500
Queue: {queue}
Position: 1
Count: 1
"""


def test_call_life_cycle_translated_with_asterisk_timestamps() -> None:
    tr = translator()
    t = 1_773_129_600.0
    queued = tr.feed(msg(JOIN.format(uid="c1", queue="ventas") + "Timestamp: 1773129600.250000"), t + 9)
    assert [(e.KIND, e.id, e.ts) for e in queued] == [("call.queued", "pbx:ventas:c1:join", t + 0.25)]
    called = tr.feed(msg("Event: AgentCalled\nQueue: ventas\nUniqueid: c1\nMemberName: Ana G.\nInterface: PJSIP/201"))
    assert [(type(e), getattr(e, "queue", "")) for e in called] == [(AgentLogin, "ventas"), (AgentStateChanged, "")]
    assert states(called, "ana") == [("ringing", "", "")]
    assert tr.feed(msg("Event: QueueCallerLeave\nQueue: ventas\nUniqueid: c1\nCount: 0\nPosition: 1")) == []
    answered = tr.feed(
        msg(
            "Event: AgentConnect\nQueue: ventas\nUniqueid: c1\nMemberName: Ana G.\n"
            "Interface: PJSIP/201\nHoldTime: 12\nRingTime: 3"
        )
    )
    assert [(type(e), e.id) for e in answered][0] == (CallAnswered, "pbx:ventas:c1:answer")
    assert answered[0].wait_s == 12.0 and answered[0].agent == "ana"
    assert states(answered, "ana") == [("on_call", "", "inbound")]
    ended = tr.feed(
        msg(
            "Event: AgentComplete\nQueue: ventas\nUniqueid: c1\nMemberName: Ana G.\nInterface: PJSIP/201\n"
            "HoldTime: 12\nTalkTime: 95\nReason: transfer"
        )
    )
    assert isinstance(ended[0], CallTransferred) and (ended[0].id, ended[0].talk_s) == ("pbx:ventas:c1:end", 95.0)
    assert states(ended, "ana") == [("available", "", "")]  # no Wrapuptime known: available at once
    assert tr.expire(time.time() + 3600) == [] and tr.waiting() == []
    # The same channel entering the same queue again is a new call with ids of its own.
    again = tr.feed(msg(JOIN.format(uid="c1", queue="ventas")))
    assert [e.id for e in again] == ["pbx:ventas:c1#2:join"]
    assert tr.stats.malformed == 0 and tr.stats.by_event["AgentConnect"] == 1


def test_unanswered_outcomes_follow_the_documented_rules() -> None:
    tr = translator(grace_s=2.0)
    now = 1_000.0
    for uid in ("hang", "tout", "key", "bare", "answered", "loop"):
        tr.feed(msg(JOIN.format(uid=uid, queue="soporte")), now)
    # Hang-up seen before the abandon: abandoned at once.
    tr.feed(msg("Event: HangupRequest\nChannel: PJSIP/trunk-1\nUniqueid: hang\nCause: 16"), now + 7)
    out = tr.feed(
        msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: hang\nPosition: 1\nOriginalPosition: 1\nHoldTime: 7"),
        now + 7,
    )
    assert [(type(e), e.wait_s) for e in out] == [(CallAbandoned, 7.0)]
    assert tr.feed(msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: hang\nHoldTime: 7"), now + 7) == []
    # Timeout: QueueCallerAbandon, then QUEUESTATUS says why.
    assert tr.feed(msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: tout\nHoldTime: 60"), now + 60) == []
    assert tr.feed(msg("Event: QueueCallerLeave\nQueue: soporte\nUniqueid: tout"), now + 60) == []
    # (the dialplan's Hangup() after a timeout says nothing about who hung up)
    assert tr.feed(msg("Event: SoftHangupRequest\nChannel: PJSIP/trunk-2\nUniqueid: tout\nCause: 16"), now + 60) == []
    out = tr.feed(msg("Event: VarSet\nChannel: PJSIP/trunk-2\nUniqueid: tout\nVariable: QUEUESTATUS\nValue: TIMEOUT"))
    assert [(type(e), e.reason, e.wait_s) for e in out] == [(CallExited, "timeout", 60.0)]
    # Exit with key: a leave with neither abandon nor answer, decided when the grace is over.
    assert tr.feed(msg("Event: QueueCallerLeave\nQueue: soporte\nUniqueid: key"), now + 10) == []
    # A leave answered within the grace is an answer (AgentConnect follows the leave).
    tr.feed(msg("Event: QueueCallerLeave\nQueue: soporte\nUniqueid: answered"), now + 10)
    out = tr.feed(
        msg("Event: AgentConnect\nQueue: soporte\nUniqueid: answered\nInterface: PJSIP/202\nHoldTime: 10"), now + 10.5
    )
    assert of(out, CallAnswered)[0].wait_s == 10.0
    # No evidence at all: abandoned, as Asterisk counts it, once the grace is over.
    tr.feed(msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: bare\nHoldTime: 3"), now + 10)
    # Leaving and joining again without hanging up: exit "other".
    tr.feed(msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: loop\nHoldTime: 30"), now + 30)
    out = tr.feed(msg(JOIN.format(uid="loop", queue="soporte")), now + 31)
    assert [(type(e), getattr(e, "reason", "")) for e in out] == [(CallExited, "other"), (CallQueued, "")]
    assert tr.expire(now + 11) == []
    assert tr.next_due() == now + 12
    out = tr.expire(now + 12)
    assert sorted((type(e).__name__, e.call_id, e.wait_s) for e in out) == [
        ("CallAbandoned", "bare", 3.0),
        ("CallExited", "key", 10.0),
    ]
    assert of(out, CallExited)[0].reason == "exit_key"
    # An answer later than the grace: the call already counted, so no second outcome.
    out = tr.feed(msg("Event: AgentConnect\nQueue: soporte\nUniqueid: key\nInterface: PJSIP/201\nHoldTime: 11"))
    assert of(out, CallAnswered) == [] and states(out, "ana") == [("on_call", "", "inbound")]
    assert tr.stats.late_connects == 1
    assert tr.waiting() == [("soporte", "loop")]


def test_ring_no_answer_and_ring_all() -> None:
    tr = translator()
    tr.feed(msg(JOIN.format(uid="r1", queue="ventas")))
    for iface in ("PJSIP/201", "PJSIP/202"):
        tr.feed(msg(f"Event: AgentCalled\nQueue: ventas\nUniqueid: r1\nInterface: {iface}"))
    out = tr.feed(
        msg("Event: AgentRingNoAnswer\nQueue: ventas\nUniqueid: r1\nInterface: PJSIP/202\nRingTime: 15000")
    )  # milliseconds: nothing is counted from it
    assert states(out, "luis") == [("available", "", "")] and not of(out, CallAnswered)
    tr.feed(msg("Event: AgentCalled\nQueue: ventas\nUniqueid: r1\nInterface: PJSIP/202"))
    out = tr.feed(msg("Event: AgentConnect\nQueue: ventas\nUniqueid: r1\nInterface: PJSIP/201\nHoldTime: 20"))
    # The member still ringing stops when another answers (Asterisk sends nothing for it).
    assert [(type(e).__name__, getattr(e, "agent", "")) for e in out] == [
        ("CallAnswered", "ana"),
        ("AgentStateChanged", "luis"),
        ("AgentStateChanged", "ana"),
    ]
    assert states(out, "luis") == [("available", "", "")]
    out = tr.feed(msg("Event: AgentDump\nQueue: ventas\nUniqueid: r1\nInterface: PJSIP/202"))
    assert out == [] and tr.stats.malformed == 0


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("Status: 0", ("available", "", "")),
        ("Status: 1", ("available", "", "")),
        ("Status: 2", ("on_call", "", "")),
        ("Status: 3", ("on_call", "", "")),
        ("Status: 4", ("not_ready", "unavailable", "")),
        ("Status: 5", ("not_ready", "unavailable", "")),
        ("Status: 6", ("ringing", "", "")),
        ("Status: 7", ("on_call", "", "")),
        ("Status: 8", ("on_hold", "", "")),
        ("Status: 2\nPaused: 1\nPausedReason: descanso", ("not_ready", "break", "")),  # paused overrides the device
        ("Status: 1\nPaused: 1\nPausedReason: Formación", ("not_ready", "Formación", "")),  # unmapped text kept
        ("Status: 2\nInCall: 1\nPaused: 1", ("on_call", "", "inbound")),  # a queue call overrides the pause
        ("Status: 8\nInCall: 1", ("on_hold", "", "inbound")),
    ],
)
def test_member_state_from_queue_member_status(fields: str, expected: tuple[str, str, str]) -> None:
    tr = translator()
    tr.feed(msg("Event: QueueMemberAdded\nQueue: ventas\nMemberName: Luis\nInterface: PJSIP/202\nStatus: 1\nPaused: 0"))
    out = tr.feed(msg(f"Event: QueueMemberStatus\nQueue: ventas\nMemberName: Luis\nInterface: PJSIP/202\n{fields}"))
    assert (states(out, "luis") or [("available", "", "")])[-1] == expected


def test_pause_counts_only_when_paused_in_every_queue_and_wrap_up_ends_when_due() -> None:
    tr = translator()
    member = "Queue: {q}\nMemberName: Ana\nInterface: PJSIP/201\nStateInterface: PJSIP/201\nStatus: 1\nWrapuptime: 2"
    for q in ("ventas", "soporte"):
        tr.feed(msg("Event: QueueMemberAdded\n" + member.format(q=q) + "\nPaused: 0"), 100.0)
    assert tr.members() == {"ana": ["soporte", "ventas"]}
    assert (
        states(
            tr.feed(
                msg("Event: QueueMemberPause\n" + member.format(q="ventas") + "\nPaused: 1\nPausedReason: Almuerzo")
            ),
            "ana",
        )
        == []
    )
    assert states(
        tr.feed(msg("Event: QueueMemberPause\n" + member.format(q="soporte") + "\nPaused: 1\nPausedReason: Almuerzo")),
        "ana",
    ) == [("not_ready", "lunch", "")]
    assert states(tr.feed(msg("Event: QueueMemberPause\n" + member.format(q="soporte") + "\nPaused: 0")), "ana") == [
        ("available", "", "")
    ]
    tr.feed(msg("Event: QueueMemberPause\n" + member.format(q="ventas") + "\nPaused: 0"))
    tr.feed(msg("Event: AgentConnect\nQueue: ventas\nUniqueid: w1\nInterface: PJSIP/201\nHoldTime: 4"), 200.0)
    out = tr.feed(
        msg(
            "Event: AgentComplete\nQueue: ventas\nUniqueid: w1\nInterface: PJSIP/201\nTalkTime: 30\n"
            "Timestamp: 1773129600.000000"
        ),
        300.0,
    )
    assert of(out, CallEnded)[0].talk_s == 30.0 and states(out, "ana") == [("wrap_up", "", "")]
    assert tr.next_due() == 302.0 and tr.expire(301.9) == []
    done = tr.expire(302.0)
    assert [(e.state, e.ts) for e in of(done, AgentStateChanged)] == [("available", 1_773_129_602.0)]
    logout = tr.feed(msg("Event: QueueMemberRemoved\nQueue: ventas\nMemberName: Ana\nInterface: PJSIP/201"))
    assert [type(e) for e in logout] == [AgentLogout]  # still in soporte: state unchanged
    assert (
        tr.feed(msg("Event: QueueMemberRemoved\nQueue: soporte\nMemberName: Ana\nInterface: PJSIP/201"))[0].queue
        == "soporte"
    )
    assert tr.members() == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Event: QueueCallerJoin\nQueue: ventas\nPosition: 1", "QueueCallerJoin: missing Uniqueid"),
        (
            "Event: AgentConnect\nQueue: ventas\nUniqueid: c1\nInterface: PJSIP/201\nHoldTime: x",
            "AgentConnect: HoldTime is not a number: 'x'",
        ),
        (
            "Event: AgentConnect\nQueue: ventas\nUniqueid: c1\nHoldTime: 4",
            "AgentConnect: missing MemberName and Interface",
        ),
        (
            "Event: AgentComplete\nQueue: ventas\nUniqueid: c1\nInterface: PJSIP/201\nTalkTime: -5",
            "AgentComplete: TalkTime out of range: '-5'",
        ),
        ("Event: QueueCallerAbandon\nQueue: ventas\nUniqueid: c1\nHoldTime: nan", "HoldTime out of range: 'nan'"),
        ("Event: QueueMemberPause\nQueue: ventas\nInterface: PJSIP/201\nPaused: yes", "Paused is not 0 or 1: 'yes'"),
        ("Event: QueueMemberPaused\nQueue: ventas\nLocation: SIP/203", "QueueMemberPaused: missing Paused"),
        (
            "Event: QueueMemberStatus\nQueue: ventas\nInterface: PJSIP/201\nStatus: 12",
            "Status is not a device state 0-8: '12'",
        ),
        (
            "Event: QueueMemberStatus\nQueue: ventas\nInterface: PJSIP/201\nStatus: ²",  # isdigit() says yes
            "Status is not a device state 0-8: '²'",
        ),
        ("Event: QueueCallerJoin\nQueue: " + "q" * 300 + "\nUniqueid: c1", "Queue longer than 256 characters"),
        (
            "Event: AgentRingNoAnswer\nQueue: ventas\nUniqueid: c1\nInterface: PJSIP/201\nRingTime: soon",
            "RingTime is not a number: 'soon'",
        ),
        ("Privilege: agent,all\nQueue: ventas", "without an Event name"),
    ],
)
def test_malformed_known_events_are_rejected_without_a_trace(text: str, reason: str) -> None:
    seen: list[str] = []
    tr = AmiTranslator(SOURCE, CONFIG.agent_aliases(), grace_s=1.0, reject=seen.append)
    assert tr.feed(msg(text)) == []
    assert tr.stats.malformed == 1 and len(seen) == 1 and reason in seen[0]
    assert tr.members() == {} and tr.waiting() == []
    assert tr.feed(msg("Event: PeerStatus\nPeer: PJSIP/201\nPeerStatus: Reachable")) == []
    assert tr.stats.ignored == {"PeerStatus": 1} and tr.stats.malformed == 1


def test_resync_diff_and_cursor_round_trip() -> None:
    tr = translator()
    rows = [parse_message("\n".join(f"{k}: {v}" for k, v in row)) for row in load_transcript("ami_queue_status.txt")]
    first = tr.resync(rows, 10_000.0)
    assert sorted((e.queue, e.call_id, e.ts) for e in of(first, CallQueued)) == [
        ("soporte", UID_103, 9_995.0),
        ("ventas", UID_101, 9_958.0),
        ("ventas", UID_102, 9_988.0),
    ]
    assert sorted((e.agent, e.queue) for e in of(first, AgentLogin)) == [
        ("ana", "ventas"),
        ("luis", "soporte"),
        ("luis", "ventas"),
        ("pablo", "soporte"),
    ]
    assert states(first, "luis") == [("not_ready", "lunch", "")] and states(first, "pablo") == [("on_call", "", "")]
    # A restarted collector takes the cursor back: the same calls are known, nothing is emitted twice.
    restarted = translator()
    restarted.restore(tr.snapshot())
    fewer = [r for r in rows if r.get("uniqueid") != UID_101 and r.get("name") != "Pablo Ruiz"]
    second = restarted.resync(fewer, 10_060.0)
    assert [(type(e), e.call_id) for e in second if isinstance(e, (CallQueued, CallLost))] == [(CallLost, UID_101)]
    assert [(e.agent, e.queue) for e in of(second, AgentLogout)] == [("pablo", "soporte")]
    assert of(second, AgentLogin) == []
    assert sorted(states(second, "ana") + states(second, "luis")) == [("available", "", ""), ("not_ready", "lunch", "")]
    # A call whose outcome is among the events kept during the list is not lost.
    third = restarted.resync([r for r in fewer if r.get("uniqueid") != UID_102], 10_070.0, settled={UID_102})
    assert of(third, CallLost) == []
    # A call that overflowed to another queue while the link was down: lost here, waiting there.
    moved = [r if r.get("uniqueid") != UID_102 else {**r, "queue": "soporte", "wait": "80"} for r in fewer]
    fourth = restarted.resync(moved, 10_080.0)
    assert [(type(e).__name__, e.queue, e.ts) for e in fourth if isinstance(e, (CallQueued, CallLost))] == [
        ("CallQueued", "soporte", 10_000.0),
        ("CallLost", "ventas", 10_080.0),
    ]
    assert sorted(restarted.waiting()) == [("soporte", UID_102), ("soporte", UID_103)]


def test_an_outcome_pending_at_a_restart_is_decided_after_it_not_lost() -> None:
    tr = translator(grace_s=2.0)
    tr.feed(msg(JOIN.format(uid="p1", queue="soporte")), 1_000.0)
    tr.feed(msg("Event: QueueCallerAbandon\nQueue: soporte\nUniqueid: p1\nHoldTime: 12"), 1_012.0)
    restarted = translator(grace_s=2.0)
    restarted.restore(tr.snapshot())  # killed within the grace: the abandon was not decided yet
    assert of(restarted.resync([], 1_013.0), CallLost) == []  # not waiting: not lost either
    due = restarted.next_due()
    assert due is not None
    out = restarted.expire(due)
    assert [(type(e), e.call_id, e.wait_s) for e in out] == [(CallAbandoned, "p1", 12.0)]


# ----------------------------------------------------------- the collector


async def test_login_and_resync_from_queue_status(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    config = make(make_config, ami.port)
    async with collector(config, streams):
        events = await stream_when(streams, ready)
        health = await health_when(streams, lambda h: h["connected"])
    login, status = ({k: v for k, v in action} for action in ami.actions[:2])
    assert (login["Action"], login["Username"], login["Secret"], login["Events"]) == (
        "Login",
        "wallboard",
        "s3cret",
        "on",
    )
    assert status["Action"] == "QueueStatus" and status["ActionID"] != login["ActionID"]
    assert (ami.logins, ami.status_lists, health["status"], health["errors_total"]) == (1, 1, "ok", 0)
    now = time.time()
    waits = {e.call_id: now - e.ts for e in of(events, CallQueued)}
    assert waits == {
        UID_101: pytest.approx(42, abs=1),
        UID_102: pytest.approx(12, abs=1),
        UID_103: pytest.approx(5, abs=1),
    }
    assert of(events, CallQueued)[0].id == f"pbx:ventas:{UID_101}:join"
    assert sorted((e.agent, e.queue) for e in of(events, AgentLogin)) == [
        ("ana", "ventas"),
        ("luis", "soporte"),
        ("luis", "ventas"),
        ("pablo", "soporte"),
    ]
    view, _ = fold_view(events, now)
    ventas, soporte, agents = view["queues"]["ventas"], view["queues"]["soporte"], view["agents"]
    assert (ventas["waiting"], soporte["waiting"]) == (2, 1)
    assert ventas["longest_wait_s"] == pytest.approx(42, abs=1)
    assert (ventas["today"]["offered"], soporte["today"]["offered"]) == (0, 0)  # waiting calls have no outcome yet
    assert (agents["ana"]["state"], agents["ana"]["queues"]) == ("available", ["ventas"])
    assert (agents["luis"]["state"], agents["luis"]["reason"]) == ("not_ready", "lunch")
    assert (agents["pablo"]["state"], agents["marta"]["state"]) == ("on_call", "logged_out")
    assert ventas["agents"]["not_ready"] == 1 and soporte["agents"]["on_call"] == 1


async def test_a_peer_that_is_not_asterisk_is_refused(streams: Streams, make_config: Callable[..., Config]) -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(ssh, "127.0.0.1", 0)
    try:
        async with collector(make(make_config, server.sockets[0].getsockname()[1]), streams):
            health = await health_when(streams, lambda h: "not an Asterisk manager" in h["last_error"])
    finally:
        server.close()
        await server.wait_closed()
    assert "banner 'SSH-2.0-OpenSSH_9.6'" in health["last_error"] and health["connected"] is False


async def test_full_call_life_cycle(ami: AmiServer, streams: Streams, make_config: Callable[..., Config]) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(load_transcript("ami_call_cycle.txt"))
        events = await stream_when(
            streams, lambda ev: states(ev, "ana")[-1:] == [("available", "", "")] and len(states(ev, "ana")) == 5
        )
    assert states(events, "ana") == [
        ("available", "", ""),
        ("ringing", "", ""),
        ("on_call", "", "inbound"),
        ("wrap_up", "", ""),
        ("available", "", ""),
    ]
    (answer,), (end,) = of(events, CallAnswered), of(events, CallEnded)
    assert (answer.id, answer.queue, answer.call_id, answer.agent, answer.wait_s) == (
        f"pbx:ventas:{UID_102}:answer",
        "ventas",
        UID_102,
        "ana",
        15.0,
    )
    assert (end.id, end.agent, end.talk_s, end.hold_s) == (f"pbx:ventas:{UID_102}:end", "ana", 95.0, 0.0)
    ana = of(events, AgentStateChanged)
    wrap, back = [e for e in ana if e.agent == "ana"][-2:]
    assert back.ts - wrap.ts == pytest.approx(1.0)  # Wrapuptime: 1
    view, _ = fold_view(events)
    ventas = view["queues"]["ventas"]
    today = ventas["today"]
    assert (ventas["waiting"], today["offered"], today["answered"], today["answered_within_sl"]) == (1, 1, 1, 1)
    assert (today["asa_s"], today["handled"], today["aht_s"]) == (15.0, 1, 96.0)  # talk 95 + wrap-up 1
    assert view["agents"]["ana"]["today"]["handled"] == 1 and view["agents"]["ana"]["state"] == "available"


async def test_abandon_timeout_exit_key_and_bare_abandon(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(load_transcript("ami_outcomes.txt"))
        events = await stream_when(streams, lambda ev: len(of(ev, CallAbandoned)) + len(of(ev, CallExited)) == 4)
    outcomes = [
        (type(e).__name__, e.call_id, e.wait_s, getattr(e, "reason", ""))
        for e in events
        if isinstance(e, (CallAbandoned, CallExited))
    ]
    # Decided by evidence at once, then (after the grace) by the rules.
    assert outcomes[:2] == [
        ("CallAbandoned", "1773129601.201", 7.0, ""),
        ("CallExited", "1773129602.202", 60.0, "timeout"),
    ]
    assert sorted(outcomes[2:]) == [
        ("CallAbandoned", "1773129604.204", 3.0, ""),
        ("CallExited", "1773129603.203", pytest.approx(0, abs=0.5), "exit_key"),
    ]
    view, _ = fold_view(events)
    soporte = view["queues"]["soporte"]
    today = soporte["today"]
    assert soporte["waiting"] == 1  # 1773129540.103 from QueueStatus is still waiting
    assert (today["offered"], today["abandoned"], today["short_abandoned"], today["other_exits"]) == (4, 2, 2, 2)
    assert today["exits"] == {"exit_key": 1, "timeout": 1}
    assert today["avg_abandon_wait_s"] == 5.0 and today["abandon_rate_pct"] == 50.0


async def test_pause_with_reason_and_unpause(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    pause, unpause = load_transcript("ami_pause.txt")
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push([pause])
        paused = await stream_when(streams, lambda ev: len(states(ev, "ana")) == 2)
        assert fold_view(paused)[0]["agents"]["ana"]["reason"] == "break"
        await ami.push([unpause])
        events = await stream_when(streams, lambda ev: len(states(ev, "ana")) == 3)
    assert states(events, "ana") == [("available", "", ""), ("not_ready", "break", ""), ("available", "", "")]


async def test_asterisk_11_field_names(streams: Streams, make_config: Callable[..., Config]) -> None:
    server = AmiServer(version="1.3")
    server.status_rows = load_transcript("ami_asterisk11_status.txt")
    await server.start()
    try:
        async with collector(make(make_config, server.port), streams):
            await stream_when(streams, lambda ev: len(of(ev, CallQueued)) == 1)
            await server.push(load_transcript("ami_asterisk11_events.txt"))
            events = await stream_when(streams, lambda ev: ("not_ready", "lunch", "") in states(ev, "marta"))
    finally:
        await server.stop()
    assert [(e.call_id, round(time.time() - e.ts)) for e in of(events, CallQueued)][0] == ("1773129690.300", 20)
    assert states(events, "marta") == [
        ("available", "", ""),
        ("ringing", "", ""),
        ("on_call", "", "inbound"),
        ("available", "", ""),
        ("not_ready", "lunch", ""),
    ]
    (answer,), (end,) = of(events, CallAnswered), of(events, CallEnded)
    assert (answer.call_id, answer.agent, answer.wait_s, end.talk_s) == ("1773129700.301", "marta", 9.0, 61.0)
    view, _ = fold_view(events)
    assert view["queues"]["ventas"]["waiting"] == 1 and view["agents"]["marta"]["reason"] == "lunch"


async def test_wrong_secret_is_refused_then_recovers(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    ami.secret = "changed-on-the-pbx"
    async with collector(make(make_config, ami.port), streams):
        health = await health_when(streams, lambda h: "login refused" in h["last_error"])
        assert health["connected"] is False and health["status"] == "down"
        assert "Authentication failed" in health["last_error"] and "s3cret" not in health["last_error"]
        await ami.wait_until(lambda: ami.login_attempts >= 3)  # it keeps trying, backing off
        assert await stream(streams) == [] and ami.status_lists == 0
        ami.secret = "s3cret"
        await stream_when(streams, ready)
        await health_when(streams, lambda h: h["connected"])
    assert ami.logins == 1 and ami.login_attempts >= 4
    refused = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING  # logged once, not once per attempt
    assert "Authentication failed" in refused[0].getMessage() and "s3cret" not in refused[0].getMessage()


async def test_drop_mid_message_then_resync(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        # While the link is down 101 is answered and leaves; 103 is answered while the next list is produced.
        ami.status_rows = [
            row for row in ami.status_rows if ("Uniqueid", UID_101) not in row and ("Uniqueid", UID_103) not in row
        ]
        ami.during_status = wire(
            [
                ("Event", "AgentConnect"),
                ("Privilege", "agent,all"),
                ("Channel", "PJSIP/trunk-00000013"),
                ("Uniqueid", UID_103),
                ("Queue", "soporte"),
                ("MemberName", "Pablo Ruiz"),
                ("Interface", "Local/204@from-queue/n"),
                ("HoldTime", "9"),
                ("RingTime", "2"),
            ]
        )
        await ami.drop(partial=b"Event: AgentConnect\r\nPrivilege: agent,all\r\nQueue: ventas\r\nUniq")
        events = await stream_when(streams, lambda ev: bool(of(ev, CallLost)) and bool(of(ev, CallAnswered)))
        health = await health_when(streams, lambda h: h["connected"])
    assert ami.logins == 2 and health["errors_total"] == 0
    assert [(e.queue, e.call_id) for e in of(events, CallLost)] == [("ventas", UID_101)]
    assert [(e.call_id, e.agent, e.wait_s) for e in of(events, CallAnswered)] == [(UID_103, "pablo", 9.0)]
    queued = of(events, CallQueued)
    assert len(queued) == 3 and len({e.id for e in queued}) == 3  # 102 found again: same id, not re-sent
    view, state = fold_view(events)
    ventas, soporte = view["queues"]["ventas"], view["queues"]["soporte"]
    assert (ventas["waiting"], ventas["today"]["offered"], ventas["today"]["answered"]) == (1, 0, 0)
    assert (soporte["waiting"], soporte["today"]["offered"], soporte["today"]["answered"]) == (0, 1, 1)
    assert sum(c.entered for c in state.queues["ventas"].buckets.values()) == 2
    assert view["agents"]["pablo"]["state"] == "on_call"


async def test_malformed_input_is_counted_and_survived(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    join = [
        ("Event", "QueueCallerJoin"),
        ("Privilege", "agent,all"),
        ("Channel", "PJSIP/trunk-00000090"),
        ("Uniqueid", "1773129800.900"),
        ("Linkedid", "1773129800.900"),
        ("Queue", "ventas"),
        ("Position", "3"),
        ("Count", "3"),
    ]
    garbage = [
        b"Event: AgentConnect\r\nPrivilege: agent,all\r\nQueue: ventas\r\n\r\n",  # truncated: fields missing
        b"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nQueue: ventas\r\n",  # cut short: no empty line,
        wire(
            [
                ("Event", "PeerStatus"),
                ("Privilege", "system,all"),
                ("ChannelType", "PJSIP"),  # the next message
                ("Peer", "PJSIP/201"),
                ("PeerStatus", "Reachable"),
            ]
        ),  # begins; unknown: ignored, not an error
        wire(
            [
                ("Event", "QueueCallerAbandon"),
                ("Privilege", "agent,all"),
                ("Uniqueid", UID_101),
                ("Queue", "ventas"),
                ("Position", "1"),
                ("OriginalPosition", "1"),
            ]
        ),  # HoldTime missing
        wire(
            [
                ("Event", "AgentConnect"),
                ("Privilege", "agent,all"),
                ("Uniqueid", UID_101),
                ("Queue", "ventas"),
                ("MemberName", "Ana García"),
                ("Interface", "PJSIP/201"),
                ("HoldTime", "abc"),
            ]
        ),  # wrong type
        b"\x00\xff\xfe\x80 \x1b[2J\xc3\x28 garbage\x07\r\n\r\n",  # binary garbage
        b"Event: UserEvent\r\nPrivilege: user,all\r\nData: " + b"x" * 10_000_000 + b"\r\n\r\n",  # a 10 MB line
        wire(
            [
                ("Event", "QueueMemberStatus"),
                ("Privilege", "agent,all"),
                ("Queue", "ventas"),
                ("MemberName", "Ana García"),
                ("Interface", "PJSIP/201"),
                ("Status", "12"),
                ("Paused", "0"),
            ]
        ),
    ]
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        for chunk in garbage:
            await ami.push(chunk)
        await ami.push([join])
        events = await stream_when(streams, lambda ev: any(e.call_id == "1773129800.900" for e in of(ev, CallQueued)))
        health = await health_when(streams, lambda h: h["errors_total"] == 7)
        assert health["connected"] is True and ami.logins == 1
        # The collector goes on: a later event still arrives and counts.
        await ami.push(
            [
                [
                    ("Event", "QueueCallerAbandon"),
                    ("Privilege", "agent,all"),
                    ("Uniqueid", UID_101),
                    ("Queue", "ventas"),
                    ("HoldTime", "50"),
                ],
                [("Event", "HangupRequest"), ("Uniqueid", UID_101)],
            ]
        )
        events = await stream_when(streams, lambda ev: bool(of(ev, CallAbandoned)))
    assert "Status is not a device state 0-8: '12'" in health["last_error"]
    assert [e.call_id for e in of(events, CallQueued)].count("1773129800.900") == 1
    assert of(events, CallAnswered) == [] and states(events, "ana") == [("available", "", "")]
    assert [(e.call_id, e.wait_s) for e in of(events, CallAbandoned)] == [(UID_101, 50.0)]


async def test_a_pong_behind_a_slow_emit_keeps_the_link_and_its_events(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallboard.collectors.runtime import CollectorContext

    slow = CollectorContext.emit

    async def emit(self: CollectorContext, events: Any) -> None:  # Redis slower than the Ping timeout
        await asyncio.sleep(0.4)
        await slow(self, events)

    async with collector(make(make_config, ami.port, ping_s=0.1, timeout_s=0.3), streams):
        await stream_when(streams, ready)
        monkeypatch.setattr(CollectorContext, "emit", emit)
        for i in range(6):  # events keep arriving while each emit outlasts the Ping deadline
            await ami.push(
                [
                    [
                        ("Event", "QueueCallerJoin"),
                        ("Privilege", "agent,all"),
                        ("Queue", "ventas"),
                        ("Channel", f"PJSIP/trunk-{i:08x}"),
                        ("Uniqueid", f"1773129900.{i}"),
                        ("Position", "1"),
                        ("Count", "1"),
                    ]
                ]
            )
            await asyncio.sleep(0.15)
        events = await stream_when(
            streams, lambda ev: sum(e.call_id.startswith("1773129900.") for e in of(ev, CallQueued)) == 6, timeout=10
        )
        await ami.wait_until(lambda: ami.pings >= 2)  # the keep-alive goes on (how many fell in the burst is timing)
    assert ami.logins == 1, "the link was dropped although the Pong had arrived"
    assert len({e.id for e in of(events, CallQueued)}) == len(of(events, CallQueued))


async def test_ping_keepalive_reconnects_when_unanswered(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port, ping_s=0.2, timeout_s=0.5), streams):
        await stream_when(streams, ready)
        await ami.wait_until(lambda: ami.pings >= 2)
        assert ami.logins == 1
        ami.answer_pings = False
        await ami.wait_until(lambda: ami.logins == 2)
        health = await health_when(streams, lambda h: "no reply to Ping within 0.5 s" in h["last_error"])
        ami.answer_pings = True
        pings = ami.pings
        await ami.wait_until(lambda: ami.pings >= pings + 3)
        health = await health_when(streams, lambda h: h["connected"])
        assert ami.logins == 2 and health["status"] == "ok"


async def test_health_down_while_the_server_is_down(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=f"wallboard.collector.{SOURCE}")
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        up = await health_when(streams, lambda h: h["connected"])
        port = ami.port
        await ami.stop()
        down = await health_when(streams, lambda h: not h["connected"])
        # Several refused reconnects later (backoff is 0.05 s here), still down and logged once.
        await health_when(streams, lambda h: h["heartbeat_at"] > down["heartbeat_at"] + 0.5 and not h["connected"])
        assert "Connect call failed" in down["last_error"] or "closed" in down["last_error"]
        await ami.start(port)
        back = await health_when(streams, lambda h: h["connected"])
    assert up["status"] == "ok" and back["status"] == "ok" and ami.logins == 2
    messages = [r.getMessage() for r in caplog.records if r.name == f"wallboard.collector.{SOURCE}"]
    outage = messages[next(i for i, m in enumerate(messages) if "source failing" in m) :]
    assert sum("source failing" in m for m in outage) == 1 and "connection closed by peer" in outage[0]
    assert sum("source recovered" in m for m in outage) == 1


async def test_restart_keeps_one_waiting_call_and_counts_it_once(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    config = make(make_config, ami.port)
    join = parse_block(JOIN.format(uid="1773129900.500", queue="ventas"))
    async with collector(config, streams):
        await stream_when(streams, ready)
        await ami.push([join])
        await stream_when(streams, lambda ev: len(of(ev, CallQueued)) == 4)
    # Asterisk still has it waiting when the new collector asks.
    ami.status_rows.append(
        [
            ("Event", "QueueEntry"),
            ("Queue", "ventas"),
            ("Position", "3"),
            ("Channel", "PJSIP/trunk-00000050"),
            ("Uniqueid", "1773129900.500"),
            ("CallerIDNum", "600100500"),
            ("Wait", "3"),
        ]
    )
    async with collector(config, streams):
        events = await stream_when(streams, lambda ev: len(states(ev, "ana")) == 2)  # second resync landed
        view, state = fold_view(events)
        assert view["queues"]["ventas"]["waiting"] == 3
        await ami.push(
            [
                [
                    ("Event", "AgentConnect"),
                    ("Privilege", "agent,all"),
                    ("Uniqueid", "1773129900.500"),
                    ("Queue", "ventas"),
                    ("MemberName", "Ana García"),
                    ("Interface", "PJSIP/201"),
                    ("HoldTime", "8"),
                    ("RingTime", "1"),
                ]
            ]
        )
        events = await stream_when(streams, lambda ev: bool(of(ev, CallAnswered)))
    assert ami.logins == 2
    assert len({e.id for e in of(events, CallQueued)}) == 4  # found again after the restart: the same ids
    assert len(of(events, AgentLogin)) == 4  # memberships came back from the cursor: no login re-sent
    view, state = fold_view(events)
    ventas = view["queues"]["ventas"]
    assert (ventas["waiting"], ventas["today"]["offered"], ventas["today"]["answered"]) == (2, 1, 1)
    assert sum(c.entered for c in state.queues["ventas"].buckets.values()) == 3


async def test_live_events_during_the_queue_status_list_are_kept(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    ami.during_status = wire_all(
        [
            parse_block(JOIN.format(uid="1773129950.600", queue="ventas")),
            [
                ("Event", "AgentConnect"),
                ("Privilege", "agent,all"),
                ("Uniqueid", UID_101),
                ("Queue", "ventas"),
                ("MemberName", "Ana García"),
                ("Interface", "PJSIP/201"),
                ("HoldTime", "42"),
                ("RingTime", "2"),
            ],
        ]
    )
    async with collector(make(make_config, ami.port), streams):
        events = await stream_when(streams, lambda ev: bool(of(ev, CallAnswered)))
    assert sorted(e.call_id for e in of(events, CallQueued)) == [UID_101, UID_102, UID_103, "1773129950.600"]
    assert of(events, CallLost) == []
    first_answer = next(i for i, e in enumerate(events) if isinstance(e, CallAnswered))
    assert all(i < first_answer for i, e in enumerate(events) if isinstance(e, CallQueued))  # resync first
    view, _ = fold_view(events)
    ventas = view["queues"]["ventas"]
    assert (ventas["waiting"], ventas["today"]["answered"]) == (2, 1)
    assert view["agents"]["ana"]["state"] == "on_call"
