"""AMI framing: a message ends only at its empty line, and its first key says whether it is an event or a reply.

The OriginateResponse below is laid out as Asterisk's main/manager.c writes it
(``Event``, ``Privilege``, ``Timestamp`` with ``timestampevents = yes``, then
the fields of ``fast_originate``'s event for an originate to an extension:
``ActionID``, ``Response``, ``Channel``, ``Context``, ``Exten``, ``Reason``,
``Uniqueid``, ``CallerIDNum``, ``CallerIDName``), with ``Application`` and
``Data`` as an originate to an application adds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
from wallboard.events import CallQueued
from wallboard.streams import Streams

__all__ = ["ami", "quick"]  # fixtures used here

ORIGINATE_RESPONSE = (
    b"Event: OriginateResponse\r\n"
    b"Privilege: call,all\r\n"
    b"Timestamp: 1773129600.250000\r\n"
    b"ActionID: dialer-17\r\n"
    b"Response: Success\r\n"
    b"Channel: Local/caller17@callers-00000011;1\r\n"
    b"Context: callers\r\n"
    b"Exten: 17\r\n"
    b"Application: Queue\r\n"
    b"Data: ventas\r\n"
    b"Reason: 4\r\n"
    b"Uniqueid: 1773129600.171\r\n"
    b"CallerIDNum: 600100017\r\n"
    b"CallerIDName: Caller 17\r\n"
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
        "1773129600.171",
    )
    assert (originate["actionid"], originate["calleridname"], len(originate)) == ("dialer-17", "Caller 17", 14)
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
            ORIGINATE_RESPONSE.replace(b"Data: ventas", b"Data: " + b"x" * 70_000) + JOIN_WIRE,
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
        assert reason in said and "600100017" not in said  # never the caller's number


async def test_the_collector_takes_originate_responses_without_an_error(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config]
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(ORIGINATE_RESPONSE.replace(b"ActionID: dialer-17\r\n", b"") + JOIN_WIRE)
        events = await stream_when(streams, lambda ev: len(of(ev, CallQueued)) == 4)
        health = await health_when(streams, lambda h: h["events_total"] == len(events))
    assert health["errors_total"] == 0 and health["connected"] is True and ami.logins == 1
    assert of(events, CallQueued)[-1].call_id == "1773129600.172"
