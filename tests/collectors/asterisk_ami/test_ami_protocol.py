"""AMI framing: a message ends only at its empty line, and its first key says whether it is an event or a reply.

The OriginateResponse below is one a real Asterisk (13, built from the
upstream source) sent with ``timestampevents = yes``, byte for byte as
recorded: main/manager.c writes ``Event``, ``Privilege``, ``Timestamp``, then
the originate's ``ActionID`` and ``Response``, ``Channel``, ``Context``,
``Exten`` (``Application`` and ``Data`` instead, for an originate to an
application), ``Reason``, ``Uniqueid``, ``CallerIDNum``, ``CallerIDName``.
Recorded sessions in tests/data/asterisk/, when there, are framed whole.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.collectors.asterisk_ami.ami_server import AmiServer, parse_block, wire
from tests.collectors.asterisk_ami.test_asterisk_ami import (
    JOIN,
    SOURCE,
    ami,
    collector,
    health_when,
    make,
    of,
    quick,
    ready,
    stream_when,
)
from wallboard.collectors.asterisk_ami.protocol import Framer, is_event, is_reply
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.common.lines import LineReader
from wallboard.config import Config
from wallboard.events import CallEnded, CallQueued, CallTransferred
from wallboard.streams import Streams

__all__ = ["ami", "quick"]  # fixtures used here

ORIGINATE_RESPONSE = (
    b"Event: OriginateResponse\r\n"
    b"Privilege: call,all\r\n"
    b"Timestamp: 1796135744.512006\r\n"
    b"ActionID: driver-2\r\n"
    b"Response: Success\r\n"
    b"Channel: Local/60010001@caller-00000000;1\r\n"
    b"Context: callerside\r\n"
    b"Exten: s\r\n"
    b"Reason: 4\r\n"
    b"Uniqueid: 1796135744.0\r\n"
    b"CallerIDNum: 60010001\r\n"
    b"CallerIDName: <unknown>\r\n"
    b"\r\n"
)
LOGIN_OK = b"Response: Success\r\nActionID: wallboard-1\r\nMessage: Authentication accepted\r\n\r\n"
JOIN_WIRE = wire(parse_block(JOIN.format(uid="1773129600.172", queue="ventas")))


async def framed(data: bytes) -> tuple[list[dict[str, str]], list[str]]:
    """The messages a Framer reads off ``data`` (malformed ones left out) and the reasons it rejected."""
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    rejected: list[str] = []
    framer = Framer(LineReader(reader), rejected.append)
    messages: list[dict[str, str]] = []
    with pytest.raises(ConnectionError):  # the end of the data closes the link
        while True:
            message = await framer.read_message()
            if message is not None:
                messages.append(message)
    return messages, rejected


async def test_an_originate_response_is_one_event_not_a_reply() -> None:
    messages, rejected = await framed(ORIGINATE_RESPONSE + JOIN_WIRE)
    assert rejected == []
    originate, join = messages
    assert (originate["event"], originate["response"], originate["reason"], originate["uniqueid"]) == (
        "OriginateResponse",
        "Success",
        "4",
        "1796135744.0",
    )
    assert (originate["actionid"], originate["exten"], len(originate)) == ("driver-2", "s", 12)
    assert is_event(originate) and not is_reply(originate)
    assert join["event"] == "QueueCallerJoin" and join["uniqueid"] == "1773129600.172"
    seen: list[str] = []
    tr = AmiTranslator(SOURCE, reject=seen.append)
    assert tr.feed(originate) == [] and seen == [] and tr.stats.ignored == {"OriginateResponse": 1}


@pytest.mark.parametrize(
    ("data", "kinds", "reasons"),
    [
        # A reply is a reply, an event an event: said by the first key.
        (LOGIN_OK + ORIGINATE_RESPONSE, ["reply", "OriginateResponse"], []),
        # Cut short (no empty line) by the next message: counted, and the next one read on.
        (LOGIN_OK[:-2] + JOIN_WIRE, ["QueueCallerJoin"], ["(Success) skipped: message not ended by an empty line"]),
        (LOGIN_OK[:-2] + LOGIN_OK, ["reply"], ["(Success) skipped: message not ended by an empty line"]),
        (
            ORIGINATE_RESPONSE[:-2] + JOIN_WIRE,
            ["QueueCallerJoin"],
            ["(OriginateResponse) skipped: message not ended by an empty line"],
        ),
        # The limits hold inside an event with a Response line too.
        (
            ORIGINATE_RESPONSE.replace(b"Exten: s", b"Exten: " + b"x" * 70_000) + JOIN_WIRE,
            ["QueueCallerJoin"],
            ["(OriginateResponse) skipped: line longer than 65536 bytes skipped"],
        ),
        (
            ORIGINATE_RESPONSE.replace(b"Reason: 4", b"Reason 4") + JOIN_WIRE,
            ["QueueCallerJoin"],
            ["(OriginateResponse) skipped: "],
        ),
        (b"Privilege: call,all\r\nReason: 4\r\n\r\n", [], ["with neither Event nor Response skipped (2 fields)"]),
    ],
)
async def test_messages_end_only_at_their_empty_line(data: bytes, kinds: list[str], reasons: list[str]) -> None:
    messages, rejected = await framed(data)
    assert [m["event"] if is_event(m) else "reply" for m in messages] == kinds
    assert [is_reply(m) for m in messages] == [k == "reply" for k in kinds]
    assert len(rejected) == len(reasons)
    for reason, said in zip(reasons, rejected, strict=True):
        assert reason in said and "60010001" not in said  # never the caller's number


async def test_the_collector_takes_originate_responses_without_an_error(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(ORIGINATE_RESPONSE.replace(b"ActionID: driver-2\r\n", b"") + JOIN_WIRE)
        events = await stream_when(streams, lambda ev: len(of(ev, CallQueued)) == 4)
        health = await health_when(streams, lambda h: h["events_total"] == len(events))
    assert health["errors_total"] == 0 and health["connected"] is True and ami.logins == 1
    assert of(events, CallQueued)[-1].call_id == "1773129600.172"


RECORDED = sorted((Path(__file__).resolve().parents[2] / "data" / "asterisk").glob("*/ami-session-*[0-9].txt.gz"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_a_recorded_session_frames_and_translates_without_a_rejection(path: Path) -> None:
    data = gzip.decompress(path.read_bytes())
    banner, _, rest = data.partition(b"\n")
    assert banner.startswith(b"Asterisk Call Manager/")
    messages, rejected = await framed(rest)
    assert rejected == []
    originates = [m for m in messages if m.get("event") == "OriginateResponse"]
    assert len(originates) == data.count(b"\nEvent: OriginateResponse\r\n") > 0
    assert all(is_event(m) and not is_reply(m) for m in originates)
    seen: list[str] = []
    tr = AmiTranslator(SOURCE, reject=seen.append)
    ends = 0
    for m in messages:
        if is_event(m) and not m.get("actionid", "").startswith("wallboard-"):  # (QueueStatus rows: the resync's)
            ends += len([e for e in tr.feed(m, 1_796_135_700.0) if isinstance(e, (CallEnded, CallTransferred))])
    assert seen == [] and ends == data.count(b"\nEvent: AgentComplete\r\n")  # every end counted
