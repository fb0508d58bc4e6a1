"""AgentComplete without the caller's fields: the end of the call the member was connected to.

app_queue builds AgentComplete from the latest snapshots of the caller and the
member channel; a channel already gone has none, so the event comes with the
member's fields (``Dest…`` while the member channel exists), ``Queue``,
``Interface``, ``MemberName``, ``HoldTime``, ``TalkTime`` and ``Reason`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest

from tests.collectors.asterisk_ami.ami_server import AmiServer, parse_block
from tests.collectors.asterisk_ami.test_asterisk_ami import (
    CONFIG,
    JOIN,
    SOURCE,
    ami,
    collector,
    fold_view,
    health_when,
    make,
    msg,
    of,
    quick,
    ready,
    states,
    stream_when,
    translator,
)
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.config import Config
from wallboard.events import AnyEvent, CallAnswered, CallEnded, CallTransferred
from wallboard.streams import Streams

__all__ = ["ami", "quick"]  # fixtures used here

CALLER = """
Channel: Local/caller{n}@callers-0000001{n};2
ChannelState: 6
ChannelStateDesc: Up
CallerIDNum: 60010010{n}
CallerIDName: Caller {n}
Context: callers
Exten: s
Priority: 2
Uniqueid: 1773129700.{n}
Linkedid: 1773129700.{n}
"""
MEMBER = """
DestChannel: Local/201@agents-0000002{n};1
DestChannelState: 6
DestChannelStateDesc: Up
DestCallerIDNum: 201
DestCallerIDName: Ana García
DestContext: agents
DestExten: 201
DestPriority: 1
DestUniqueid: 1773129705.2{n}
DestLinkedid: 1773129700.{n}
"""
QUEUE = "Queue: ventas\nMemberName: Ana García\nInterface: PJSIP/201\n"


UNKNOWN = "missing Uniqueid, and no single call is known connected to its member in its queue"


def join(n: int) -> str:
    return JOIN.format(uid=f"1773129700.{n}", queue="ventas")


def connect(n: int) -> str:
    return (
        "Event: AgentConnect\nPrivilege: agent,all\n" + CALLER + MEMBER + QUEUE + "HoldTime: 9\nRingTime: 2"
    ).format(n=n)


def complete(n: int, *, talk: int, member: bool = True, caller: bool = False, reason: str = "caller") -> str:
    """Call ``n``'s AgentComplete: the caller's fields only if ``caller``, the member channel's only if ``member``."""
    return (
        "Event: AgentComplete\nPrivilege: agent,all\n"
        + (CALLER if caller else "")
        + (MEMBER if member else "")
        + QUEUE
        + f"HoldTime: 9\nTalkTime: {talk}\nReason: {reason}"
    ).format(n=n)


@pytest.mark.parametrize("member", [True, False])
def test_an_end_without_the_caller_counts_for_the_call_the_member_was_connected_to(member: bool) -> None:
    tr = translator()
    events = tr.feed(msg(join(1)), 1_001.0) + tr.feed(msg(connect(1)), 1_011.0)
    out = tr.feed(msg(complete(1, talk=95, member=member)), 1_106.0)
    (end,) = of(out, CallEnded)
    assert (end.id, end.call_id, end.queue, end.agent, end.talk_s, end.ts) == (
        "pbx:ventas:1773129700.1:end",
        "1773129700.1",
        "ventas",
        "ana",
        95.0,
        1_106.0,
    )
    assert states(out, "ana") == [("available", "", "")] and tr.stats.malformed == 0
    view, _ = fold_view(cast(list[AnyEvent], events + out), now=1_200.0)  # (what the translator made)
    today = view["queues"]["ventas"]["today"]
    assert (today["offered"], today["answered"], today["asa_s"], today["handled"], today["aht_s"]) == (
        1,
        1,
        9.0,
        1,
        95.0,
    )


def test_the_member_channel_tells_two_calls_of_one_member_apart() -> None:
    tr = translator()
    for n in (1, 2):  # (ringinuse: one member, two calls of one queue)
        tr.feed(msg(join(n)), 1_000.0 + n)
        tr.feed(msg(connect(n)), 1_010.0 + n)
    second = tr.feed(msg(complete(2, talk=40, reason="transfer")), 1_052.0)
    assert [(type(e), e.call_id, e.talk_s) for e in of(second, CallTransferred)] == [
        (CallTransferred, "1773129700.2", 40.0)
    ]
    first = tr.feed(msg(complete(1, talk=61, member=False)), 1_072.0)  # the only call left connected
    assert [(e.call_id, e.talk_s) for e in of(first, CallEnded)] == [("1773129700.1", 61.0)]
    assert tr.stats.malformed == 0


def test_an_end_nothing_identifies_is_rejected_with_the_reason() -> None:
    seen: list[str] = []
    tr = AmiTranslator(SOURCE, CONFIG.agent_aliases(), grace_s=2.0, reject=seen.append)
    assert tr.feed(msg(complete(1, talk=95))) == []  # connected before the collector started
    for n in (1, 2):
        tr.feed(msg(join(n)), 1_000.0 + n)
        tr.feed(msg(connect(n)), 1_010.0 + n)
    assert tr.feed(msg(complete(1, talk=95, member=False))) == []  # two calls connected: which one?
    assert seen == [f"AgentComplete: {UNKNOWN}"] * 2 and tr.stats.malformed == 2
    # No trace left: Ana was still on call until an end with the caller's fields came.
    out = tr.feed(msg(complete(1, talk=30, caller=True)))
    assert [e.call_id for e in of(out, CallEnded)] == ["1773129700.1"] and states(out, "ana") == [("available", "", "")]
    # Some of the caller's fields but no Uniqueid: malformed (Asterisk leaves all of them out or none).
    assert tr.feed(msg(complete(1, talk=95).replace("Event: AgentComplete", "Event: AgentComplete\nChannel: X"))) == []
    assert seen[-1] == "AgentComplete: missing Uniqueid" and tr.stats.malformed == 3
    # Ends with the caller's fields forget the connection too: nothing is left to find.
    assert of(tr.feed(msg(complete(2, talk=30, caller=True))), CallEnded)
    assert tr.feed(msg(complete(2, talk=30))) == [] and len(seen) == 4 and UNKNOWN in seen[-1]
    assert "Ana" not in " ".join(seen) and "600100" not in " ".join(seen)  # no personal data in the reason


async def test_the_collector_counts_an_end_without_the_caller(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push([parse_block(join(3)), parse_block(connect(3)), parse_block(complete(3, talk=42))])
        events = await stream_when(streams, lambda ev: bool(of(ev, CallEnded)))
        health = await health_when(streams, lambda h: h["events_total"] == len(events))
    assert [(e.call_id, e.agent, e.talk_s) for e in of(events, CallEnded)] == [("1773129700.3", "ana", 42.0)]
    assert health["errors_total"] == 0


def test_a_resync_forgets_the_calls_of_members_no_longer_in_one() -> None:
    tr = translator()
    for n in (1, 2):
        tr.feed(msg(join(n)), 1_000.0 + n)
        tr.feed(msg(connect(n)), 1_010.0 + n)
    # The link was down while call 1 ended; call 2 goes on: the list shows Ana in a call, Luis in none.
    listed = "Event: QueueMember\nQueue: ventas\nName: {name}\nLocation: {iface}\nStatus: 2\nPaused: 0\nInCall: {busy}"
    tr.resync([msg(listed.format(name="Ana García", iface="PJSIP/201", busy=1))], 1_050.0)
    out = tr.feed(msg(complete(2, talk=40, member=False)), 1_060.0)  # both still known: which one?
    assert of(out, CallEnded) == [] and tr.stats.malformed == 1
    tr.resync([msg(listed.format(name="Ana García", iface="PJSIP/201", busy=0))], 1_070.0)
    tr.feed(msg(join(3)), 1_071.0)
    tr.feed(msg(connect(3)), 1_080.0)
    out = tr.feed(msg(complete(3, talk=20, member=False)), 1_100.0)  # only call 3 is left to be its call
    assert [(e.call_id, e.talk_s) for e in of(out, CallEnded)] == [("1773129700.3", 20.0)]


RECORDED_CONNECT = """
Event: AgentConnect
Privilege: agent,all
Timestamp: 1796135778.519755
Channel: Local/60010012@caller-00000018;2
ChannelState: 6
ChannelStateDesc: Up
CallerIDNum: 60010012
CallerIDName: <unknown>
ConnectedLineNum: 60010012
ConnectedLineName: <unknown>
Language: en
AccountCode:
Context: caller
Exten: 60010012
Priority: 3
Uniqueid: 1796135772.49
Linkedid: 1796135772.48
DestChannel: Local/agent3@agents-0000001d;1
DestChannelState: 6
DestChannelStateDesc: Up
DestCallerIDNum: 60010012
DestCallerIDName: <unknown>
DestConnectedLineNum: 60010012
DestConnectedLineName: <unknown>
DestLanguage: en
DestAccountCode:
DestContext: agents
DestExten: 60010012
DestPriority: 1
DestUniqueid: 1796135777.58
DestLinkedid: 1796135772.48
Queue: soporte
Interface: Local/agent3@agents/n
MemberName: Agente Tres
HoldTime: 6
RingTime: 1
"""
RECORDED_COMPLETE = """
Event: AgentComplete
Privilege: agent,all
Timestamp: 1796135783.026858
Queue: soporte
Interface: Local/agent3@agents/n
MemberName: Agente Tres
HoldTime: 6
TalkTime: 5
Reason: agent
"""


def test_the_recorded_end_without_either_channel_is_counted() -> None:
    """As a real Asterisk sent them (Local-channel member that hung up: neither channel's fields are left)."""
    tr = translator()
    answer = of(tr.feed(msg(RECORDED_CONNECT), 1_796_135_778.6), CallAnswered)
    assert [(e.call_id, e.agent, e.wait_s) for e in answer] == [("1796135772.49", "Agente Tres", 6.0)]
    (end,) = of(tr.feed(msg(RECORDED_COMPLETE), 1_796_135_783.1), CallEnded)
    assert (end.id, end.call_id, end.queue, end.agent, end.talk_s, end.ts) == (
        "pbx:soporte:1796135772.49:end",
        "1796135772.49",
        "soporte",
        "Agente Tres",
        5.0,
        1_796_135_783.026858,
    )
    assert tr.stats.malformed == 0
