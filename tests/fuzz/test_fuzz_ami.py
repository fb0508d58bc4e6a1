"""AMI under garbage: 10 000+ seeded inputs per layer, no crash, every valid message's events exact,
every rejection counted; reasons never carry a caller's or an agent's personal data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from tests.fuzz import ami
from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, FuzzReport
from wallboard.collectors.asterisk_ami import Options
from wallboard.collectors.asterisk_ami.protocol import Framer
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.common.lines import LineReader, LinkClosed, ProtocolError, parse_header
from wallboard.collectors.runtime import CollectorContext
from wallboard.config import parse_config
from wallboard.streams import Streams

N = 10_000
SEED = 20_261_201


def assert_clean(report: FuzzReport) -> None:
    assert report.problems() == [], report.line()
    assert report.inputs >= N
    assert report.valid > N // 10 and report.known_bad > N // 20
    assert report.rejected >= report.known_bad


def test_translator_survives_garbage_and_keeps_every_valid_event() -> None:
    report = ami.fuzz_translator(N, SEED)
    assert_clean(report)


def test_wire_splitter_survives_garbage_and_delivers_every_valid_message() -> None:
    report = ami.fuzz_wire(N, SEED)
    assert_clean(report)


# ------------------------------------------------------------ crashes the fuzzing found (regressions)


def test_resync_counts_a_row_no_check_foresaw_instead_of_crashing() -> None:
    seen: list[str] = []
    tr = AmiTranslator("pbx", reject=seen.append)
    # A lone surrogate in a key long enough to be hashed raised UnicodeEncodeError out of resync().
    out = tr.resync([{"event": "QueueEntry", "queue": "\ud800", "uniqueid": "u" * 250, "wait": "1"}], 1.8e9)
    assert [type(e).__name__ for e in out] == ["CallQueued"] and seen == []


@pytest.mark.parametrize(
    "row",
    [
        ["q", "u", 1, 10**400],  # float() of it: OverflowError
        ["q", "u", 1, 1.7e9, None, [float("-inf"), 5], False],  # became a CallAbandoned at -inf
        ["q", "u", 1, 1.7e9, None, [1.7e9, 10**400], False],
        ["q", "u", 10**400, float("nan")],
        ["q", "u", True, 1.7e9, 10**400, "x", 1],
    ],
)
def test_a_corrupt_cursor_is_skipped_not_fatal(row: list[Any]) -> None:
    tr = AmiTranslator("pbx", grace_s=0.0)
    tr.restore({"version": 1, "calls": [row], "members": {"a": ["q", 10**400]}})
    for e in tr.expire(4e9):
        assert 946_684_800 <= e.ts < 4_102_444_800


def test_names_too_long_for_an_event_are_not_taken_back_from_the_cursor() -> None:
    # A member or queue name over 256 characters in the cursor became an AgentLogout the stream refuses.
    tr = AmiTranslator("pbx")
    tr.restore(
        {
            "version": 1,
            "calls": [["q" * 257, "u", 1, 1.7e9], ["q", "", 1, 1.7e9]],
            "members": {"a" * 257: ["q"], "b": ["q" * 257, ""]},
        }
    )
    assert tr.waiting() == [] and tr.members() == {}
    assert tr.resync([], 1.8e9) == []


# ------------------------------------------------------------ personal data


def context() -> CollectorContext:
    config = parse_config(
        {
            "timezone": "Europe/Madrid",
            "collectors": [
                {"kind": "asterisk_ami", "name": "pbx", "options": {"username": "wallboard", "secret": "s3cret"}}
            ],
        },
        env={},
    )
    collector = config.collectors[0]
    return CollectorContext(config, collector, Options.model_validate(collector.options), cast(Streams, None))


PERSONAL = (FAKE_NUMBER, FAKE_NUMBER[3:], FAKE_NAME, FAKE_NAME[:8], "Pérez")
BAD_MESSAGES: list[dict[str, str]] = [
    {"event": "AgentConnect", "queue": "ventas", "uniqueid": "c1", "membername": FAKE_NAME * 20, "holdtime": "3"},
    {
        "event": "AgentConnect",
        "queue": "ventas",
        "uniqueid": "c1",
        "interface": f"PJSIP/{FAKE_NUMBER}" * 20,
        "holdtime": "3",
    },
    {
        "event": "AgentComplete",
        "queue": "ventas",
        "uniqueid": "c1",
        "membername": FAKE_NAME,
        "talktime": "x",
        "calleridnum": FAKE_NUMBER,
        "calleridname": FAKE_NAME,
        "channel": f"PJSIP/{FAKE_NUMBER}-01",
    },
    {"event": "QueueCallerJoin", "uniqueid": "c1", "calleridnum": FAKE_NUMBER, "calleridname": FAKE_NAME},
    {"event": "QueueCallerAbandon", "queue": "ventas", "uniqueid": FAKE_NUMBER * 30, "holdtime": "1"},
    {
        "event": "QueueMemberStatus",
        "queue": "ventas",
        "membername": FAKE_NAME,
        "interface": FAKE_NUMBER,
        "paused": "yes",
    },
    {"event": "QueueMemberPause", "queue": "ventas", "membername": FAKE_NAME, "stateinterface": FAKE_NUMBER},
    {"event": "QueueMemberRemoved", "membername": FAKE_NAME, "interface": f"SIP/{FAKE_NUMBER}"},
    {"calleridnum": FAKE_NUMBER, "calleridname": FAKE_NAME},
    # a number field holding one: long values are not quoted either
    {"event": "AgentConnect", "queue": "ventas", "uniqueid": "c1", "membername": "a", "holdtime": FAKE_NUMBER},
    {"event": "QueueMemberStatus", "queue": "ventas", "membername": "a", "status": FAKE_NAME},
    {"event": "QueueMemberStatus", "queue": "ventas", "membername": "a", "wrapuptime": FAKE_NAME},
]
BAD_WIRE = (
    f"Event: QueueCallerJoin\r\nCallerIDNum {FAKE_NUMBER}\r\nQueue: q\r\n\r\n"
    f"Event: AgentCalled\r\n MemberName: {FAKE_NAME}\r\n\r\n"
    f"{FAKE_NAME}\r\n\r\n"
    f": {FAKE_NUMBER}\r\n\r\n"
    f"Channel: PJSIP/{FAKE_NUMBER}-01\r\nCallerIDNum: {FAKE_NUMBER}\r\n{FAKE_NAME}: x\r\n\r\n"
    f"Event: Newchannel\r\nCallerIDName: {FAKE_NAME * 4000}\r\n\r\n"
    f"Event: Hangup\r\nCallerIDNum: {FAKE_NUMBER}\r\nEvent: Hangup\r\n\r\n"
)


def assert_private(text: str) -> None:
    for secret in PERSONAL:
        assert secret not in text


async def test_no_rejection_reason_or_log_line_carries_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    ctx = context()
    caplog.set_level(logging.DEBUG)
    reasons: list[str] = []

    def reject(reason: str) -> None:
        reasons.append(reason)
        ctx.reject(reason)
        assert_private(ctx.health.last_error)

    tr = AmiTranslator("pbx", reject=reject)
    for m in BAD_MESSAGES:
        assert tr.feed(m, 1.8e9) == []
    tr.resync(
        [
            {"event": "QueueEntry", "queue": "ventas", "calleridnum": FAKE_NUMBER, "wait": "1"},
            {"event": "QueueMember", "queue": "ventas", "membername": FAKE_NAME * 20},
            {"event": "QueueMember", "queue": "ventas", "name": FAKE_NAME, "status": "12"},
        ],
        1.8e9,
    )
    reader = asyncio.StreamReader()
    reader.feed_data(BAD_WIRE.encode())
    reader.feed_eof()
    framer = Framer(LineReader(reader), reject)
    with pytest.raises(LinkClosed):
        while True:
            await framer.read_message()
    for line in (f"CallerIDNum {FAKE_NUMBER}", f" {FAKE_NAME}: x", f": {FAKE_NUMBER}"):
        with pytest.raises(ProtocolError) as caught:
            parse_header(line.encode())
        ctx.set_connected(False, f"127.0.0.1:5038: {caught.value}")
        assert_private(ctx.health.last_error)
    assert len(reasons) == len(BAD_MESSAGES) + 3 + 7  # every bad message, row and chunk, once
    assert ctx.health.errors_total == len(reasons) and tr.stats.malformed == len(BAD_MESSAGES) + 3
    for reason in [*reasons, *tr.stats.errors]:
        assert_private(reason)
    assert "MemberName longer than 256 characters" in reasons[0]  # the field and what is wrong
    assert any("not a 'Key: Value' line (no ':'" in r for r in reasons)
    assert caplog.records and all(r.name.startswith("wallboard") for r in caplog.records)
    assert_private(caplog.text)
