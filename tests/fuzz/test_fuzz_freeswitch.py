"""FreeSWITCH under garbage: 10 000+ seeded inputs per layer (framing, tables, translator), no crash,
every valid event exact, every rejection counted; reasons never carry personal data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from tests.collectors.freeswitch.esl_server import AGENT_COLUMNS, agent, table
from tests.fuzz import freeswitch as fs
from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, FuzzReport
from wallboard.collectors.common.lines import LineReader, LinkClosed
from wallboard.collectors.freeswitch import Options
from wallboard.collectors.freeswitch.fields import CallcenterError
from wallboard.collectors.freeswitch.protocol import BadMessage, parse_event, parse_table, read_message, reply_line
from wallboard.collectors.freeswitch.translator import CallcenterTranslator
from wallboard.collectors.runtime import CollectorContext
from wallboard.config import parse_config
from wallboard.streams import Streams

N = 10_000
SEED = 20_261_201


def assert_clean(report: FuzzReport) -> None:
    assert report.problems() == [], report.line()
    assert report.inputs >= N
    assert report.valid > N // 20 and report.known_bad > N // 20
    assert report.rejected >= report.known_bad


def test_translator_survives_garbage_and_keeps_every_valid_event() -> None:
    assert_clean(fs.fuzz_translator(N, SEED))


def test_framing_and_bodies_survive_garbage_and_deliver_every_valid_message() -> None:
    assert_clean(fs.fuzz_wire(N, SEED))


def test_tables_and_resync_survive_garbage_rows() -> None:
    assert_clean(fs.fuzz_resync(N, SEED))


# ------------------------------------------------------------ crashes the fuzzing found (regressions)


@pytest.mark.parametrize("stamp", ["9" * 400, "1" * 5000, "1773129500000000" * 3])
def test_a_huge_event_timestamp_is_a_rejection_not_a_crash(stamp: str) -> None:
    # int(stamp) / 1e6 raised OverflowError (or int() its digit-limit ValueError) out of feed(),
    # which ended the session and escaped the reconnect loop.
    tr = CallcenterTranslator("fs")
    with pytest.raises(CallcenterError, match="Event-Date-Timestamp is not epoch microseconds"):
        tr.feed(
            {
                "Event-Subclass": "callcenter::info",
                "CC-Action": "member-queue-start",
                "CC-Queue": "q",
                "CC-Member-UUID": "u",
                "Event-Date-Timestamp": stamp,
            }
        )


@pytest.mark.parametrize(
    ("column", "value"), [("rejoined_epoch", "12"), ("bridge_epoch", "99999999999999"), ("bridge_epoch", "-5")]
)
def test_member_row_times_are_checked_before_they_become_event_times(column: str, value: str) -> None:
    row = {
        "queue": "ventas@default",
        "uuid": "u1",
        "joined_epoch": "1773129500",
        "rejoined_epoch": "0",
        "bridge_epoch": "0",
        "serving_agent": "1001@default",
        "state": "Answered",
    } | {column: value}
    out, errors = CallcenterTranslator("fs").resync([row], [], 1_773_130_000.0)
    assert out == [] and errors == [f"member row: {column} is not epoch seconds: {int(value)}"]


@pytest.mark.parametrize(
    "cursor",
    [
        5,
        "x",
        {"a": 1},
        [[1, 2, 3, 4]],
        [["q", "u", "", 10**400]],
        [["q", "u", "", True]],
        [["q", "u", "", float("nan")]],
        [["q" * 257, "u", "", 1.7e9]],
        [["", "u", "", 1.7e9]],
    ],
)
def test_a_corrupt_cursor_is_skipped_not_fatal(cursor: Any) -> None:
    tr = CallcenterTranslator("fs")
    tr.restore(cursor)
    assert tr.waiting() == []


def test_call_ids_of_text_with_a_lone_surrogate_are_made_not_refused() -> None:
    tr = CallcenterTranslator("fs")
    assert tr.call_event_id("q", "a\ud800", "", "queued") != tr.call_event_id("q", "a\udc80", "", "queued")
    assert tr.call_event_id("q", "u", "", "queued") == tr.call_event_id("q", "u", "", "queued")


# ------------------------------------------------------------ personal data


PERSONAL = (FAKE_NUMBER, FAKE_NUMBER[3:], FAKE_NAME, FAKE_NAME[:8], "Pérez")


def assert_private(text: str) -> None:
    for secret in PERSONAL:
        assert secret not in text


def context() -> CollectorContext:
    config = parse_config(
        {
            "timezone": "Europe/Madrid",
            "collectors": [{"kind": "freeswitch", "name": "fs", "options": {"password": "ClueCon"}}],
        },
        env={},
    )
    collector = config.collectors[0]
    return CollectorContext(config, collector, Options.model_validate(collector.options), cast(Streams, None))


async def test_no_rejection_reason_or_log_line_carries_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    ctx = context()
    caplog.set_level(logging.DEBUG)
    reasons: list[str] = []

    def reject(reason: str) -> None:  # as the session does
        reasons.append(reason)
        ctx.reject(reason)
        assert_private(ctx.health.last_error)

    tr = CallcenterTranslator("fs")
    base = {"Event-Subclass": "callcenter::info", "CC-Member-CID-Number": FAKE_NUMBER, "CC-Member-CID-Name": FAKE_NAME}
    for bad in (
        {"CC-Action": "agent-offering", "CC-Queue": "q", "CC-Member-UUID": "u", "CC-Agent": FAKE_NAME * 20},
        {"CC-Action": "agent-status-change", "CC-Agent": FAKE_NAME, "CC-Agent-Status": "Asleep"},
        {"CC-Action": "agent-state-change", "CC-Agent": f"{FAKE_NUMBER}@default", "CC-Agent-State": ""},
        {
            "CC-Action": "bridge-agent-start",
            "CC-Queue": "q",
            "CC-Member-UUID": "u",
            "CC-Agent": FAKE_NAME,
            "CC-Agent-Answered-Time": "soon",
            "CC-Member-Joined-Time": "1773129500",
        },
        {"CC-Action": "member-queue-start", "CC-Member-UUID": FAKE_NUMBER},
    ):
        with pytest.raises(CallcenterError) as caught:
            tr.feed(base | bad)
        reject(f"event: {caught.value}")
    for body in (
        f"Event-Name: CUSTOM\nCC-Member-CID-Number {FAKE_NUMBER}\n\n".encode(),
        f"Event-Name: CUSTOM\n{FAKE_NAME}\n\n".encode(),
    ):
        with pytest.raises(CallcenterError) as caught:
            parse_event(body)
        reject(f"event: {caught.value}")
    _rows, errors = parse_table(
        f"name|status|state\n{FAKE_NAME}|{FAKE_NUMBER}\n{FAKE_NUMBER}|Available|Waiting\n+OK\n",
        "agent list",
        ["name", "status", "state"],
    )
    for error in errors:
        reject(error)
    _, errors = tr.resync(
        [
            {
                "queue": "q",
                "uuid": "u",
                "joined_epoch": FAKE_NUMBER,
                "state": "Waiting",
                "cid_number": FAKE_NUMBER,
                "cid_name": FAKE_NAME,
            }
        ],
        [agent(FAKE_NAME, "Asleep"), agent(f"{FAKE_NUMBER}@default", state="Dreaming")],
        1.8e9,
    )
    for error in errors:
        reject(error)
    reader = asyncio.StreamReader()
    reader.feed_data(
        (
            f"Content-Type: text/event-plain\nCaller {FAKE_NUMBER}\n\nCaller-Number: {FAKE_NUMBER}\n{FAKE_NAME}: x\n\n"
        ).encode()
    )
    reader.feed_eof()
    lines = LineReader(reader)
    with pytest.raises(LinkClosed):
        while True:
            try:
                await read_message(lines)
            except BadMessage as exc:
                reject(str(exc))
    ctx.set_connected(
        False,
        "127.0.0.1:8021: expected command/reply to auth, got api/response: "
        + reply_line(table(AGENT_COLUMNS, [agent(FAKE_NAME, contact=f"user/{FAKE_NUMBER}")])),
    )
    assert_private(ctx.health.last_error)
    assert reply_line(b"-ERR invalid\n") == "-ERR invalid"
    assert len(reasons) == 5 + 2 + 1 + 3 + 2 and ctx.health.errors_total == len(reasons)
    assert [r for r in reasons if r.startswith("agent row")] == [
        "agent row: unknown status 'Asleep'",
        "agent row: unknown state 'Dreaming'",
    ]
    for reason in reasons:
        assert_private(reason)
    assert_private(caplog.text)
