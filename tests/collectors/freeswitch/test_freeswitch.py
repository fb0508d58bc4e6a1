"""FreeSWITCH mod_callcenter collector: the translator alone, then the real collector against a
stand-in Event Socket over TCP (tests/collectors/freeswitch/esl_server.py) and a real Redis.

Expected numbers are worked out by hand from the CC-*-Time headers the scripts send.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import pytest

from tests.collectors.freeswitch.esl_server import (
    AGENT_COLUMNS,
    AUTH_REQUEST,
    RUDE_REJECTION,
    EslServer,
    agent,
    event,
    member,
    plain,
)
from tests.helpers import collector_running, until
from wallboard.collectors.common.lines import ProtocolError
from wallboard.collectors.freeswitch import Options
from wallboard.collectors.freeswitch.fields import CallcenterError
from wallboard.collectors.freeswitch.protocol import parse_event, parse_table
from wallboard.collectors.freeswitch.translator import CallcenterTranslator
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
    Event,
)
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import CentreState
from wallboard.streams import Streams
from wallboard.wire import decode

T = TypeVar("T")
Q = "ventas@default"
RAW: dict[str, Any] = {
    "timezone": "Europe/Madrid",
    "windows": [15, 60],
    "queues": [{"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5}, {"id": "soporte"}],
    "agents": [{"id": "ana", "aliases": ["1001@default"]}, {"id": "luis", "aliases": ["1002"]}, {"id": "marta"}],
    "pause_reasons": [{"id": "descanso", "aliases": ["On Break"]}],
}


@pytest.fixture(autouse=True)
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.02)


def fs_config(port: int, **options: Any) -> Config:
    opts = {"port": port, "password": "ClueCon", "keepalive_s": 5, "timeout_s": 2, "connect_timeout_s": 2} | options
    return parse_config(RAW | {"collectors": [{"kind": "freeswitch", "name": "fs", "options": opts}]}, env={})


async def stream(streams: Streams) -> list[AnyEvent]:
    entries = await streams.redis.xrange(streams.events_key)
    return [decode(cast(dict[str, str], fields)) for _, fields in entries or [] if fields]  # decoded replies


async def health(streams: Streams) -> dict[str, Any]:
    found: dict[str, Any] = (await streams.source_health()).get("fs", {})
    return found


async def connected(streams: Streams) -> dict[str, Any]:
    h = await health(streams)
    return h if h.get("connected") else {}


def waiting_for(streams: Streams, predicate: Callable[[list[AnyEvent]], bool]) -> Callable[[], Awaitable[Any]]:
    async def check() -> list[AnyEvent] | None:
        events = await stream(streams)
        return events if predicate(events) else None

    return check


def of(events: Sequence[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def states(events: Sequence[Event], agent_id: str) -> list[tuple[str, str]]:
    return [(e.state, e.reason) for e in of(events, AgentStateChanged) if e.agent == agent_id]


def view(config: Config, events: list[AnyEvent]) -> dict[str, Any]:
    state = CentreState()
    settings = FoldSettings.from_config(config)
    apply_all(state, settings, events)
    return build_view(state, config, settings, time.time() + 1)


def translator() -> CallcenterTranslator:
    config = parse_config(RAW, env={})
    return CallcenterTranslator("fs", config.agent_aliases(), config.pause_reason_codes())


# ------------------------------------------------------------ the translator alone

T0 = 1_773_129_600  # 2026-03-10 09:00 Europe/Madrid


def call_script(
    call: str = "c1", joined: int = T0, answered: int = T0 + 12, ended: int = T0 + 107
) -> list[dict[str, str]]:
    """One served call as mod_callcenter reports it: 12 s waiting, 95 s talking."""
    a = {"Queue": Q, "Member_UUID": call, "Member_Session_UUID": f"s-{call}", "Agent": "1001@default"}
    return [
        event("member-queue-start", joined, Queue=Q, Member_UUID=call, Member_CID_Number="600100200"),
        event("agent-state-change", answered - 4, Agent="1001@default", Agent_State="Receiving"),
        event("agent-offering", answered - 4, **a),
        event(
            "bridge-agent-start",
            answered,
            **a,
            Agent_Called_Time=answered - 4,
            Agent_Answered_Time=answered,
            Member_Joined_Time=joined,
        ),
        event("agent-state-change", answered, Agent="1001@default", Agent_State="In a queue call"),
        event(
            "bridge-agent-end",
            ended,
            **a,
            Agent_Answered_Time=answered,
            Member_Joined_Time=joined,
            Bridge_Terminated_Time=ended,
            Hangup_Cause="NORMAL_CLEARING",
        ),
        event("agent-state-change", ended, Agent="1001@default", Agent_State="Waiting"),
        event(
            "member-queue-end",
            ended,
            Queue=Q,
            Member_UUID=call,
            Cause="Terminated",
            Agent="1001@default",
            Agent_Answered_Time=answered,
            Member_Joined_Time=joined,
            Member_Leaving_Time=ended,
        ),
    ]


def feed_all(tr: CallcenterTranslator, script: list[dict[str, str]]) -> list[Event]:
    out: list[Event] = []
    for headers in script:
        out += tr.feed(headers)
    return out


def test_a_served_call_by_hand() -> None:
    tr = translator()
    out = feed_all(
        tr, [event("agent-status-change", T0 - 60, Agent="1001@default", Agent_Status="Available")] + call_script()
    )
    assert [type(e).__name__ for e in out] == [
        "AgentLogin",
        "CallQueued",
        "AgentStateChanged",
        "CallAnswered",
        "AgentStateChanged",
        "CallEnded",
        "AgentStateChanged",
    ]
    queued, answered, ended = out[1], out[3], out[5]
    assert isinstance(queued, CallQueued) and (queued.queue, queued.call_id, queued.ts) == ("ventas", "c1", T0)
    assert isinstance(answered, CallAnswered) and (answered.agent, answered.wait_s, answered.ts) == (
        "ana",
        12.0,
        T0 + 12,
    )
    assert isinstance(ended, CallEnded) and (ended.agent, ended.talk_s, ended.hold_s) == ("ana", 95.0, 0.0)
    assert [(e.state, e.direction) for e in out if isinstance(e, AgentStateChanged)] == [
        ("ringing", ""),
        ("on_call", "inbound"),
        ("available", ""),
    ]


def test_call_ids_are_the_same_in_every_run_agent_ids_are_not() -> None:
    first, second = feed_all(translator(), call_script()), feed_all(translator(), call_script())
    calls = [e.id for e in first if e.KIND.startswith("call.")]
    assert calls == [e.id for e in second if e.KIND.startswith("call.")]
    assert len(set(calls)) == 3
    agent_ids = {e.id for e in first + second if e.KIND.startswith("agent.")}
    assert len(agent_ids) == 8  # login + 3 states, in each run


def test_terminated_without_a_bridge_records_the_answer_and_end_from_its_own_headers() -> None:
    full = feed_all(translator(), call_script())
    tr = translator()
    script = call_script()
    out = tr.feed(script[0]) + tr.feed(script[-1])  # the bridge events were lost
    answered, ended = of(out, CallAnswered)[0], of(out, CallEnded)[0]
    assert (answered.wait_s, answered.ts, ended.talk_s) == (12.0, T0 + 12, 95.0)
    # the same ids as the bridge events would have had: a copy the fold already has counts once
    assert answered.id == of(full, CallAnswered)[0].id
    assert ended.id == of(full, CallEnded)[0].id
    # without an answer time nothing is invented: a call believed waiting is lost
    tr = translator()
    tr.feed(script[0])
    out = tr.feed(event("member-queue-end", T0 + 50, Queue=Q, Member_UUID="c1", Cause="Terminated"))
    assert [type(e) for e in out] == [CallLost]
    assert tr.waiting() == []


def test_exit_reasons_and_waits() -> None:
    tr = translator()
    out: list[Event] = []
    for call, reason, joined in (
        ("a", "BREAK_OUT", T0),
        ("b", "TIMEOUT", T0 + 1),
        ("c", "NO_AGENT_TIMEOUT", T0 + 2),
        ("d", "EXIT_WITH_KEY", T0 + 3),
        ("e", "NONE", T0 + 4),
    ):
        tr.feed(event("member-queue-start", joined, Queue=Q, Member_UUID=call))
        out += tr.feed(
            event(
                "member-queue-end",
                T0 + 60,
                Queue=Q,
                Member_UUID=call,
                Cause="Cancel",
                Cancel_Reason=reason,
                Member_Joined_Time=joined,
                Member_Leaving_Time=T0 + 60,
            )
        )
    assert [
        (type(e).__name__, getattr(e, "reason", ""), e.wait_s)
        for e in out  # type: ignore[attr-defined]
    ] == [
        ("CallAbandoned", "", 60.0),
        ("CallExited", "timeout", 59.0),
        ("CallExited", "timeout", 58.0),
        ("CallExited", "exit_key", 57.0),
        ("CallExited", "other", 56.0),
    ]


def test_agent_status_state_wrap_up_and_idle() -> None:
    tr = translator()
    a = {"Agent": "1002@default"}  # alias by the part before @: luis
    out = feed_all(tr, [event("agent-status-change", T0, **a, Agent_Status="Available (On Demand)")])
    out += tr.resync([], [agent("1002@default", "Available (On Demand)", wrap_up_time=30)], T0 + 1)[0]
    out += feed_all(
        tr,
        [
            event("agent-state-change", T0 + 10, **a, Agent_State="Idle"),  # not after a call: not ready
            event("agent-state-change", T0 + 20, **a, Agent_State="Waiting"),
            event(
                "bridge-agent-start",
                T0 + 30,
                Queue=Q,
                Member_UUID="x",
                **a,
                Agent_Answered_Time=T0 + 30,
                Member_Joined_Time=T0 + 25,
            ),
            event(
                "bridge-agent-end",
                T0 + 90,
                Queue=Q,
                Member_UUID="x",
                **a,
                Agent_Answered_Time=T0 + 30,
                Bridge_Terminated_Time=T0 + 90,
            ),
            event("agent-state-change", T0 + 90, **a, Agent_State="Idle"),  # On Demand after a call: wrap-up
        ],
    )
    assert tr.next_due() == T0 + 120
    out += tr.expire(T0 + 119) + tr.expire(T0 + 125)  # the 30 s wrap_up_time is over, but still Idle
    out += feed_all(
        tr,
        [
            event("agent-state-change", T0 + 200, **a, Agent_State="Waiting"),
            event("agent-status-change", T0 + 300, **a, Agent_Status="On Break"),
            event("agent-status-change", T0 + 400, **a, Agent_Status="Logged Out"),
        ],
    )
    assert isinstance(out[0], AgentLogin) and out[0].agent == "luis"
    assert [(e.ts - T0, e.state, e.reason) for e in out if isinstance(e, AgentStateChanged)] == [
        (10, "not_ready", "idle"),
        (20, "available", ""),
        (30, "on_call", ""),
        (90, "wrap_up", ""),
        (200, "available", ""),
        (300, "not_ready", "descanso"),
    ]
    assert isinstance(out[-1], AgentLogout) and out[-1].ts == T0 + 400


def test_wrap_up_time_then_available_when_due() -> None:
    tr = translator()
    tr.resync([], [agent("1001@default", wrap_up_time=20)], T0)
    out = feed_all(tr, call_script(joined=T0 + 10, answered=T0 + 22, ended=T0 + 117))
    assert states(out, "ana")[-1] == ("wrap_up", "")  # the Waiting that follows a bridge does not end it
    assert tr.next_due() == T0 + 137 and tr.expire(T0 + 136) == []
    done = tr.expire(T0 + 140)
    assert [(e.ts, e.state) for e in done if isinstance(e, AgentStateChanged)] == [(T0 + 137, "available")]


def test_resumed_call_is_a_new_offer() -> None:
    tr = translator()
    first = tr.feed(event("member-queue-start", T0, Queue=Q, Member_UUID="r"))
    tr.feed(
        event(
            "member-queue-end",
            T0 + 9,
            Queue=Q,
            Member_UUID="r",
            Cause="Cancel",
            Cancel_Reason="BREAK_OUT",
            Member_Joined_Time=T0,
            Member_Leaving_Time=T0 + 9,
        )
    )
    again = tr.feed(event("member-queue-resume", T0 + 40, Queue=Q, Member_UUID="r"))
    assert first[0].id != again[0].id
    answer = tr.feed(
        event(
            "bridge-agent-start",
            T0 + 50,
            Queue=Q,
            Member_UUID="r",
            Agent="marta@default",
            Agent_Answered_Time=T0 + 50,
            Member_Joined_Time=T0,
        )
    )  # joined: the first entry
    assert of(answer, CallAnswered)[0].wait_s == 10.0  # from the rejoin
    assert of(answer, CallAnswered)[0].agent == "marta"
    tr.feed(event("member-queue-resume", T0 + 100, Queue=Q, Member_UUID="r2"))
    gone = tr.feed(
        event(
            "member-queue-end",
            T0 + 110,
            Queue=Q,
            Member_UUID="r2",
            Cause="Cancel",
            Cancel_Reason="BREAK_OUT",
            Member_Joined_Time=T0,
            Member_Leaving_Time=T0 + 110,
        )
    )
    assert of(gone, CallAbandoned)[0].wait_s == 10.0  # an abandon of a resumed call too: from the rejoin


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"CC-Action": "member-queue-start", "CC-Member-UUID": "x"}, "CC-Queue is missing"),
        (
            {
                "CC-Action": "bridge-agent-start",
                "CC-Queue": Q,
                "CC-Member-UUID": "x",
                "CC-Agent": "1001@default",
                "CC-Agent-Answered-Time": "soon",
                "CC-Member-Joined-Time": str(T0),
            },
            "CC-Agent-Answered-Time is not epoch",
        ),
        ({"CC-Action": "agent-teleported"}, "unknown CC-Action 'agent-teleported'"),
        (
            {"CC-Action": "agent-status-change", "CC-Agent": "1001", "CC-Agent-Status": "Asleep"},
            "unknown CC-Agent-Status",
        ),
        (
            {"CC-Action": "member-queue-end", "CC-Queue": Q, "CC-Member-UUID": "x", "CC-Cause": "Cancel"},
            "CC-Member-Joined-Time is missing",
        ),
        (
            {"CC-Action": "member-queue-start", "CC-Queue": Q, "CC-Member-UUID": "x", "Event-Date-Timestamp": "12e9"},
            "Event-Date-Timestamp is not epoch microseconds",
        ),
        (
            {"CC-Action": "member-queue-start", "CC-Queue": Q, "CC-Member-UUID": "x", "Event-Date-Timestamp": "²"},
            "Event-Date-Timestamp is not epoch microseconds",
        ),
    ],
)
def test_malformed_events_say_why_and_change_nothing(headers: dict[str, str], reason: str) -> None:
    tr = translator()
    with pytest.raises(CallcenterError, match=reason):
        tr.feed({"Event-Name": "CUSTOM", "Event-Subclass": "callcenter::info"} | headers)
    assert tr.waiting() == [] and tr.expire(time.time()) == []
    assert (
        tr.feed(
            {
                "Event-Name": "CUSTOM",
                "Event-Subclass": "callcenter::info",
                "CC-Action": "members-count",
                "CC-Count": "3",
            }
        )
        == []
    )  # known but carries nothing for the board: ignored
    assert tr.feed({"Event-Name": "HEARTBEAT"}) == []
    assert tr.ignored == {"members-count": 1, "HEARTBEAT": 1}


def test_event_bodies_and_tables() -> None:
    body = plain(event("agent-offering", T0, Queue=Q, Member_CID_Name="Peña: 50% off"))
    headers = parse_event(body.split(b"\n\n", 1)[1])
    assert headers["CC-Queue"] == Q and headers["Event-Subclass"] == "callcenter::info"
    assert headers["CC-Member-CID-Name"] == "Peña: 50% off"
    with pytest.raises(CallcenterError, match="truncated event body"):
        parse_event(b"Event-Name: CUSTOM\nCC-Action: member-qu")
    rows, errors = parse_table(
        "name|contact|status\n1001|user/1001|user/1002|Available\n1002|On Break\n+OK\n",
        "agent list",
        ["name", "status"],
        "contact",
    )
    assert rows == [{"name": "1001", "contact": "user/1001|user/1002", "status": "Available"}]
    assert errors and "2 fields under 3 columns" in errors[0]
    assert parse_table("+OK\n", "agent list", ["name"]) == ([], [])
    with pytest.raises(ProtocolError, match="Command not found"):
        parse_table("-ERR callcenter_config Command not found!\n", "queue list", ["name"])
    with pytest.raises(ProtocolError, match="no column status"):
        parse_table("name|state\na|Waiting\n+OK\n", "agent list", ["name", "status"])
    assert "contact" in AGENT_COLUMNS and Options(password="x").port == 8021


# ------------------------------------------------------------ the collector over a socket


async def test_auth_resync_aliases_and_events_during_resync(streams: Streams) -> None:
    now = int(time.time())
    async with EslServer() as fs:
        fs.queues = {Q: [member(Q, "m1", now - 40)], "soporte@default": []}
        fs.agents = [
            agent("1001@default"),
            agent("1002@default", "On Break"),
            agent("marta@default", state="In a queue call"),
            agent("9999@default", "Logged Out"),
        ]
        # pushed while the collector waits for the agent table: applied after the snapshot
        fs.before_reply["callcenter_config agent list"] = [
            plain(event("member-queue-start", Queue="soporte@default", Member_UUID="m2")),
            plain(event("agent-status-change", Agent="1001@default", Agent_Status="On Break")),  # older than it
        ]
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            h = await until(lambda: connected(streams), what="the source to be up")
            events = await until(waiting_for(streams, lambda ev: len(of(ev, CallQueued)) == 2), what="two queued calls")
        assert fs.commands[:6] == [
            "auth ClueCon",
            "event plain CUSTOM callcenter::info",
            "api callcenter_config queue list",
            "api callcenter_config queue list members ventas@default",
            "api callcenter_config queue list members soporte@default",
            "api callcenter_config agent list",
        ]
        assert [(e.queue, e.call_id, e.ts) for e in of(events, CallQueued)][0] == ("ventas", "m1", now - 40)
        assert of(events, CallQueued)[1].queue == "soporte"
        assert sorted(e.agent for e in of(events, AgentLogin)) == ["ana", "luis", "marta"]
        assert [e.agent for e in of(events, AgentLogout)] == ["9999@default"]
        v = view(config, events)
        assert (v["queues"]["ventas"]["waiting"], v["queues"]["soporte"]["waiting"]) == (1, 1)
        assert v["queues"]["ventas"]["longest_wait_s"] >= 40
        agents = v["agents"]
        assert (agents["ana"]["state"], agents["luis"]["state"], agents["luis"]["reason"]) == (
            "available",
            "not_ready",
            "descanso",
        )
        assert (agents["marta"]["state"], agents["marta"]["direction"]) == ("on_call", "inbound")
        assert (h["kind"], h["errors_total"]) == ("freeswitch", 0)


async def test_a_full_call_is_answered_ended_and_the_agent_follows(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.queues = {Q: []}
        fs.agents = [agent("1001@default", wrap_up_time=1)]
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            t = int(time.time())
            script = call_script("c1", joined=t - 12, answered=t, ended=t + 95)
            await fs.push(*[h | {"Event-Date-Timestamp": str(int(time.time() * 1e6))} for h in script])
            events = await until(
                waiting_for(streams, lambda ev: ("available", "") in states(ev, "ana")[1:]),
                what="ana available after her 1 s wrap-up",
            )
    answered, ended = of(events, CallAnswered), of(events, CallEnded)
    assert [(e.call_id, e.agent, e.wait_s) for e in answered] == [("c1", "ana", 12.0)]
    assert [(e.call_id, e.agent, e.talk_s) for e in ended] == [("c1", "ana", 95.0)]
    assert states(events, "ana") == [("ringing", ""), ("on_call", ""), ("wrap_up", ""), ("available", "")]
    wrap, done = [e for e in of(events, AgentStateChanged) if e.state in ("wrap_up", "available")][-2:]
    assert done.ts - wrap.ts == pytest.approx(1.0)
    w = view(config, events)["queues"]["ventas"]["windows"]["15"]
    assert (w["offered"], w["answered"], w["handled"], w["asa_s"], w["answered_within_sl"]) == (1, 1, 1, 12.0, 1)
    assert w["aht_s"] == pytest.approx(96.0, abs=0.5)  # 95 s talk + the 1 s wrap-up


async def test_abandon_and_exits_with_their_waits(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.queues = {Q: [], "soporte@default": []}
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            t = int(time.time())
            calls = [
                ("a1", Q, "BREAK_OUT", 27),
                ("t1", Q, "TIMEOUT", 300),
                ("k1", "soporte@default", "EXIT_WITH_KEY", 8),
            ]
            for call, queue, _, _ in calls:
                await fs.push(event("member-queue-start", Queue=queue, Member_UUID=call))
            for call, queue, reason, wait in calls:
                await fs.push(
                    event(
                        "member-queue-end",
                        Queue=queue,
                        Member_UUID=call,
                        Cause="Cancel",
                        Cancel_Reason=reason,
                        Member_Joined_Time=t - wait,
                        Member_Leaving_Time=t,
                    )
                )
            events = await until(waiting_for(streams, lambda ev: len(ev) == 6), what="three calls and their outcomes")
    assert [(e.call_id, e.wait_s) for e in of(events, CallAbandoned)] == [("a1", 27.0)]
    assert [(e.call_id, e.reason, e.wait_s) for e in of(events, CallExited)] == [
        ("t1", "timeout", 300.0),
        ("k1", "exit_key", 8.0),
    ]
    v = view(config, events)
    ventas, soporte = v["queues"]["ventas"]["windows"]["15"], v["queues"]["soporte"]["windows"]["15"]
    assert (ventas["abandoned"], ventas["avg_abandon_wait_s"], ventas["exits"], ventas["max_wait_s"]) == (
        1,
        27.0,
        {"timeout": 1},
        300.0,
    )
    assert ventas["abandon_rate_pct"] == 50.0  # 1 abandoned of 2 offered
    assert soporte["exits"] == {"exit_key": 1}
    assert v["centre"]["waiting"] == 0


async def test_agent_on_break_with_its_reason_and_back(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.agents = [agent("1001@default")]
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            a = {"Agent": "1001@default"}
            await fs.push(event("agent-status-change", **a, Agent_Status="On Break"))
            await until(waiting_for(streams, lambda ev: states(ev, "ana") == [("not_ready", "descanso")]), what="break")
            on_break = view(config, await stream(streams))["agents"]["ana"]
            await fs.push(
                event("agent-status-change", **a, Agent_Status="Available"),
                event("agent-status-change", **a, Agent_Status="Logged Out"),
                event("agent-status-change", **a, Agent_Status="Available"),
            )
            events = await until(waiting_for(streams, lambda ev: len(of(ev, AgentLogin)) == 2), what="login again")
    assert (on_break["state"], on_break["reason"]) == ("not_ready", "descanso")
    assert states(events, "ana") == [("not_ready", "descanso"), ("available", "")]
    assert [type(e).__name__ for e in events] == [
        "AgentLogin",
        "AgentStateChanged",
        "AgentStateChanged",
        "AgentLogout",
        "AgentLogin",
    ]
    ana = view(config, events)["agents"]["ana"]
    assert (ana["state"], ana["reason"]) == ("available", "")


async def test_wrong_password_is_refused_retried_and_then_recovers(streams: Streams) -> None:
    async with EslServer(password="secret") as fs:
        config = fs_config(fs.port, password="guess")
        async with collector_running(config, streams):
            await until(lambda: fs.auth_attempts >= 3, what="three refused attempts")
            h = await until(lambda: health(streams), what="health")
            assert h["connected"] is False and h["status"] == "down"
            assert "auth refused" in h["last_error"] and "-ERR invalid" in h["last_error"]
            assert fs.subscriptions == 0 and await stream(streams) == []
            fs.password = "guess"  # someone fixes the password on the FreeSWITCH side
            h = await until(lambda: connected(streams), what="the source to recover")
    assert fs.subscriptions == 1 and h["status"] == "ok"


async def test_a_greeting_other_than_auth_request_is_named(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.greeting = RUDE_REJECTION
        async with collector_running(fs_config(fs.port), streams):
            h = await until(lambda: health_with_error(streams, "rude-rejection"), what="the refusal in the health")
            assert h["connected"] is False
            assert "got 'text/rude-rejection' 'Access Denied, go away.\\n'" in h["last_error"]
            fs.greeting = AUTH_REQUEST  # the ACL is fixed
            await until(lambda: connected(streams), what="the source to recover")


async def health_with_error(streams: Streams, text: str) -> dict[str, Any]:
    h = await health(streams)
    return h if text in h.get("last_error", "") else {}


async def test_disconnect_mid_body_then_resync_loses_what_it_cannot_know(streams: Streams) -> None:
    now = int(time.time())
    async with EslServer() as fs:
        fs.queues = {Q: [member(Q, "w1", now - 50), member(Q, "w2", now - 20), member(Q, "w3", now - 25)]}
        fs.agents = [agent("1001@default")]
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            await until(waiting_for(streams, lambda ev: len(of(ev, CallQueued)) == 3), what="three waiting calls")
            # While the link is down: w1 was answered and its call is over (gone), w2 still waits,
            # w3 was answered 20 s after it joined and is still talking to ana.
            fs.queues = {
                Q: [
                    member(Q, "w2", now - 20),
                    member(Q, "w3", now - 25, "Answered", bridged=now - 5, agent="1001@default"),
                ]
            }
            fs.agents = [agent("1001@default", state="In a queue call")]
            half = plain(
                event(
                    "bridge-agent-start",
                    Queue=Q,
                    Member_UUID="w1",
                    Agent="1001@default",
                    Agent_Answered_Time=now,
                    Member_Joined_Time=now - 50,
                )
            )
            await fs.drop(partial=half[: len(half) // 2])
            await fs.wait_subscribed(2)
            await until(waiting_for(streams, lambda ev: len(of(ev, CallLost)) == 1), what="the lost call")
            await fs.push(
                event(
                    "member-queue-end",
                    Queue=Q,
                    Member_UUID="w2",
                    Cause="Cancel",
                    Cancel_Reason="BREAK_OUT",
                    Member_Joined_Time=now - 20,
                    Member_Leaving_Time=now,
                )
            )
            events = await until(waiting_for(streams, lambda ev: len(of(ev, CallAbandoned)) == 1), what="a later event")
            h = await health(streams)
    assert [e.call_id for e in of(events, CallLost)] == ["w1"]
    assert [(e.call_id, e.agent, e.wait_s) for e in of(events, CallAnswered)] == [("w3", "ana", 20.0)]
    queued_w2 = [e for e in of(events, CallQueued) if e.call_id == "w2"]
    assert len(queued_w2) == 2 and queued_w2[0].id == queued_w2[1].id  # re-discovered, same id
    v = view(config, events)
    w = v["queues"]["ventas"]["windows"]["15"]
    assert (w["offered"], w["answered"], w["abandoned"], w["avg_abandon_wait_s"]) == (2, 1, 1, 20.0)
    assert v["queues"]["ventas"]["waiting"] == 0
    assert v["agents"]["ana"]["state"] == "on_call"
    assert h["connected"] is True and "closed" in h["last_error"] and h["errors_total"] == 0


async def test_malformed_input_is_counted_skipped_and_the_link_survives(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.queues = {Q: []}
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            truncated = b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Action: member-queue-st"
            good_body = plain(event("member-queue-start", Queue=Q, Member_UUID="lost")).split(b"\n\n", 1)[1]
            huge_body = b"X-Junk: " + b"a" * 10_000_000 + b"\n\n"
            await fs.push(
                b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(truncated), truncated),
                event("agent-teleported", Agent="1001@default"),  # unknown CC-Action
                event("member-queue-start", Member_UUID="no-queue"),  # missing field
                event(
                    "bridge-agent-start",
                    Queue=Q,
                    Member_UUID="x",
                    Agent="1001@default",
                    Agent_Answered_Time="soon",
                    Member_Joined_Time=1773129600,
                ),  # wrong type
                b"\x00\xff\xfe\x81 garbage \x07\x00\n\n",  # binary garbage
                b"A" * 10_000_000 + b"\n\n",  # a 10 MB line
                b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(huge_body), huge_body),
                b"Content-Length: ten\nContent-Type: text/event-plain\n\n" + good_body,  # bad Content-Length
                {"Event-Name": "HEARTBEAT", "Event-Info": "System Ready"},  # not ours: ignored
                event("member-queue-start", Queue=Q, Member_UUID="after"),
            )
            events = await until(waiting_for(streams, lambda ev: len(ev) > 0), what="the event after the garbage")
            h = await until(lambda: health_with(streams, errors=8), what="eight rejections")
    assert [(type(e).__name__, getattr(e, "call_id", "")) for e in events] == [("CallQueued", "after")]
    assert h["connected"] is True and fs.subscriptions == 1  # never reconnected
    assert "Content-Length 'ten'" in h["last_error"]


async def health_with(streams: Streams, errors: int) -> dict[str, Any]:
    h = await health(streams)
    return h if h.get("errors_total") == errors else {}


async def test_keepalive_without_reply_drops_and_rebuilds_the_link(streams: Streams) -> None:
    async with EslServer() as fs:
        fs.answer_status = False
        config = fs_config(fs.port, keepalive_s=0.2, timeout_s=0.3)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the source to be up")
            await fs.wait_subscribed(2)  # the first link was given up
            h = await health(streams)
            assert "no reply to keep-alive 'api status' within 0.3 s" in h["last_error"]
            fs.answer_status = True
            links, pings = fs.subscriptions, fs.commands.count("api status")
            await until(lambda: fs.commands.count("api status") >= pings + 5, what="five more keep-alives")
            # a link whose keep-alive went out before the fix may be replaced once; then they are answered
            assert fs.subscriptions <= links + 1
            assert (await health(streams))["connected"] is True


async def test_restart_counts_a_waiting_call_once(streams: Streams) -> None:
    now = int(time.time())
    async with EslServer() as fs:
        fs.queues = {Q: [member(Q, "r1", now - 30)]}
        config = fs_config(fs.port)
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the first collector")
            await fs.push(event("member-queue-start", Queue=Q, Member_UUID="r2"))
            await until(waiting_for(streams, lambda ev: len(of(ev, CallQueued)) == 2), what="two waiting calls")
        # the collector is gone; r2 hangs up meanwhile, r1 keeps waiting
        await streams.redis.hdel(streams.sources_key, "fs")
        async with collector_running(config, streams):
            await until(lambda: connected(streams), what="the second collector")
            events = await until(waiting_for(streams, lambda ev: len(of(ev, CallLost)) == 1), what="r2 lost")
    r1 = [e for e in of(events, CallQueued) if e.call_id == "r1"]
    assert len(r1) == 2 and r1[0].id == r1[1].id
    assert [e.call_id for e in of(events, CallLost)] == ["r2"]  # known from the first run's saved cursor
    state = CentreState()
    settings = FoldSettings.from_config(config)
    apply_all(state, settings, events)
    ventas = state.queues["ventas"]
    assert sum(c.entered for c in ventas.buckets.values()) == 2  # r1 once, r2 once
    assert list(ventas.waiting) == ["r1"] and ventas.waiting["r1"].since == now - 30
