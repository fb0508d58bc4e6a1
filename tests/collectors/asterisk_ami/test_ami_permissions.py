"""Read permissions checked, not assumed: a session that never receives call or dialplan events says so.

The README's manager user is checked too: its ``read =`` classes are exactly
the ones the collector reads, and it asks for ``timestampevents = yes``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.collectors.asterisk_ami.ami_server import AmiServer, Fields, parse_block
from tests.collectors.asterisk_ami.test_asterisk_ami import (
    JOIN,
    SOURCE,
    ami,
    collector,
    health_when,
    make,
    msg,
    of,
    quick,
    ready,
    stream_when,
    translator,
)
from tests.helpers import holds
from wallboard.collectors.asterisk_ami.permissions import CALLS_BEFORE_VERDICT, READ_CLASSES, EventClasses
from wallboard.config import Config
from wallboard.events import CallAbandoned, CallLost
from wallboard.streams import Streams

__all__ = ["ami", "quick"]  # fixtures used here

README = Path(__file__).resolve().parents[3] / "README.md"
BOTH_MISSING = (
    "receives no call or dialplan events in 3 queue calls: a hang-up is counted only after outcome_grace_s; "
    "timeouts, leave-empty and withdraw exits are counted as abandons. "
    "Give it read = agent,call,dialplan in manager.conf"
)


def judged(*privileges: str, calls: int = CALLS_BEFORE_VERDICT) -> str | None:
    classes = EventClasses()
    for privilege in privileges:
        classes.note({"event": "Something", "privilege": privilege})
    for _ in range(calls):
        classes.call_ended()
    return classes.verdict()


@pytest.mark.parametrize(
    ("privileges", "missing"),
    [
        (["agent,all"], "call or dialplan"),
        (["agent,all", "system,all", "reporting,all"], "call or dialplan"),
        (["agent,all", "call,all"], "dialplan"),
        (["agent,all", "dialplan,all"], "call"),
        (["agent,all", "call,all", "Dialplan, All"], None),
        (["agent,call,dialplan,all"], None),
        (["agent,all", "callx,dialplanx"], "call or dialplan"),  # whole names only
    ],
)
def test_the_classes_missing_are_named(privileges: list[str], missing: str | None) -> None:
    said = judged(*privileges)
    if missing is None:
        assert said is None
    else:
        assert said is not None and said.startswith(f"receives no {missing} events in 3 queue calls: ")


def test_judged_once_and_only_after_enough_calls() -> None:
    assert judged("agent,all", calls=CALLS_BEFORE_VERDICT - 1) is None
    classes = EventClasses()
    classes.note({"event": "QueueCallerJoin", "privilege": "agent,all"})
    for _ in range(CALLS_BEFORE_VERDICT):
        classes.call_ended()
    assert classes.verdict() == BOTH_MISSING
    classes.call_ended()
    assert classes.verdict() is None  # said once per session


def abandons(first: int, *, with_classes: bool) -> list[str]:
    """Three callers who join ventas and hang up, with the call and dialplan events Asterisk adds if granted."""
    out: list[str] = []
    for n in range(first, first + 3):
        uid = f"1773129800.{n}"
        if with_classes:
            out.append(f"Event: Newexten\nPrivilege: dialplan,all\nUniqueid: {uid}\nApplication: Queue")
        out.append(JOIN.format(uid=uid, queue="ventas"))
        if with_classes:
            out.append(f"Event: HangupRequest\nPrivilege: call,all\nUniqueid: {uid}\nCause: 16")
        out.append(f"Event: QueueCallerAbandon\nPrivilege: agent,all\nQueue: ventas\nUniqueid: {uid}\nHoldTime: 4")
    return out


def pushed(first: int, *, with_classes: bool) -> list[Fields]:
    return [parse_block(block) for block in abandons(first, with_classes=with_classes)]


def test_only_calls_that_joined_and_ended_in_the_session_count() -> None:
    tr = translator(grace_s=1.0)
    tr.new_session()
    rows = [msg(f"Event: QueueEntry\nQueue: ventas\nUniqueid: listed.{n}\nWait: 5") for n in range(3)]
    tr.resync(rows, 1_000.0)  # waiting before the session began: their Newexten was not in it
    for n in range(3):
        tr.feed(msg(f"Event: QueueCallerAbandon\nQueue: ventas\nUniqueid: listed.{n}\nHoldTime: 9"), 1_001.0)
    assert len(of(tr.expire(1_010.0), CallAbandoned)) == 3 and tr.classes.calls == 0
    tr.feed(msg(JOIN.format(uid="gone", queue="ventas")), 1_011.0)
    assert of(tr.resync([], 1_012.0), CallLost) and tr.classes.calls == 0  # lost: no outcome seen
    blocks = abandons(0, with_classes=False)
    for block in blocks[:4]:  # two callers join and hang up
        tr.feed(msg(block), 1_020.0)
    tr.feed(msg(blocks[4]), 1_020.0)  # the third joins
    assert len(of(tr.expire(1_030.0), CallAbandoned)) == 2 and tr.classes.calls == 2
    tr.new_session()  # a new session is judged afresh: a call that joined in the one before does not count
    assert tr.classes.calls == 0 and tr.classes.seen == set()
    tr.feed(msg(blocks[5]), 1_040.0)
    assert len(of(tr.expire(1_050.0), CallAbandoned)) == 1 and tr.classes.calls == 0
    assert tr.classes.seen == {"agent"}


async def test_a_session_without_call_and_dialplan_events_says_so_once(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(pushed(0, with_classes=False))
        await stream_when(streams, lambda ev: len(of(ev, CallAbandoned)) == 3)
        health = await health_when(streams, lambda h: "receives no" in h["last_error"])
        await ami.drop()  # the next session is judged again, and says the same: in the health, not the log again
        await health_when(streams, lambda h: h["connected"] and "receives no" not in h["last_error"])
        await ami.push(pushed(3, with_classes=False))
        await stream_when(streams, lambda ev: len(of(ev, CallAbandoned)) == 6)
        again = await health_when(streams, lambda h: "receives no" in h["last_error"])
    assert health["last_error"] == again["last_error"] == f"manager user 'wallboard' {BOTH_MISSING}"
    assert health["errors_total"] == 0 and health["status"] == "ok"  # a warning, not bad input
    said = [r for r in caplog.records if r.name == f"wallboard.collector.{SOURCE}" and "receives no" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert "600100500" not in said[0].getMessage() and "s3cret" not in said[0].getMessage()


async def test_a_session_with_them_says_nothing(
    ami: AmiServer, streams: Streams, make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    async with collector(make(make_config, ami.port), streams):
        await stream_when(streams, ready)
        await ami.push(pushed(0, with_classes=True))
        await stream_when(streams, lambda ev: len(of(ev, CallAbandoned)) == 3)
        seen = await health_when(streams, lambda h: h["events_total"] > 0)

        async def quiet() -> bool:
            health = (await streams.source_health())[SOURCE]
            return "receives no" not in health["last_error"]

        await holds(quiet, 0.5, "no warning about missing classes")
        later = await health_when(streams, lambda h: h["heartbeat_at"] > seen["heartbeat_at"] + 0.3)
    assert later["last_error"] == "" and not [r for r in caplog.records if "receives no" in r.getMessage()]


def test_the_readme_manager_user_reads_exactly_what_the_collector_needs() -> None:
    text = README.read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```ini\n(.*?)```", text, re.S) if "[wallboard]" in b]
    settings = {
        key.strip(): value.split(";")[0].strip()
        for key, _, value in (line.partition("=") for line in block.splitlines() if "=" in line)
    }
    assert settings["read"].replace(" ", "") == READ_CLASSES
    assert settings["timestampevents"] == "yes" and settings["write"] == ""
