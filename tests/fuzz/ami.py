"""Fuzzing the AMI collector's two pure layers: the wire splitter (bytes → messages) and the translator.

Valid call and member scenarios (hand-written expectations, identifiers in
the VALID namespace) are interleaved with garbage: random field dicts,
mutated valid messages (in the garbage namespace), and *known-bad* copies of
the next valid message (a required field dropped, a number that is not one, a
text too long), which must each be rejected exactly once and leave no trace.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, VALID, FuzzReport, Garbage, expected, short, signature
from wallboard.collectors.asterisk_ami.protocol import Framer
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.common.lines import LineReader, LinkClosed
from wallboard.events import Event
from wallboard.wire import as_dict

SOURCE = "pbx"
Q = f"{VALID}-q"
GRACE_S = 1.0
PAUSE_CODES = {"almuerzo": "lunch"}
T0 = 1_773_129_500.0
ROUND = 1_000  # inputs per translator: bounded state, so a long run stays linear

_EVENT_NAMES = (
    "QueueCallerJoin",
    "Join",
    "QueueCallerLeave",
    "Leave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentDump",
    "AgentConnect",
    "AgentComplete",
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueuememberPaused",
    "QUEUEMEMBERREMOVED",
    "Hangup",
    "HangupRequest",
    "SoftHangupRequest",
    "VarSet",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "QueueStatusComplete",
    "Newchannel",
    "FullyBooted",
    "",
)
_KEYS = (
    "event",
    "queue",
    "uniqueid",
    "membername",
    "name",
    "agentname",
    "interface",
    "location",
    "member",
    "agentcalled",
    "stateinterface",
    "holdtime",
    "talktime",
    "ringtime",
    "wait",
    "position",
    "count",
    "status",
    "paused",
    "pausedreason",
    "reason",
    "incall",
    "wrapuptime",
    "timestamp",
    "variable",
    "value",
    "channel",
    "calleridnum",
    "calleridname",
    "linkedid",
    "actionid",
    "response",
)
_MEMBER_KEYS = ("membername", "name", "agentname", "interface", "location", "member", "agentcalled", "stateinterface")
_BAD_NUMBERS = (
    "x",
    "-1",
    "-0.5",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "9" * 400,
    "²",
    "½",
    "2592001",
    "12,5",
    FAKE_NUMBER + "x",
)
_BAD_FLAGS = ("yes", "2", "²", "-1", "01", "true", FAKE_NAME)
_BAD_STATUS = ("9", "²", "12", "-1", "x", "٣", FAKE_NAME)


# ------------------------------------------------------------ messages


def caller(uid: str, queue: str, name: str, ts: float, **fields: Any) -> dict[str, str]:
    """A caller event as parse_message gives it (case-folded keys), carrying the caller's personal data."""
    return {
        "event": name,
        "queue": queue,
        "uniqueid": uid,
        "channel": f"PJSIP/{FAKE_NUMBER}-0000002a",
        "calleridnum": FAKE_NUMBER,
        "calleridname": FAKE_NAME,
        "linkedid": uid,
        "timestamp": f"{ts:.6f}",
        **{k: str(v) for k, v in fields.items()},
    }


def member(agent: str, queue: str, name: str, ts: float, **fields: Any) -> dict[str, str]:
    return {
        "event": name,
        "queue": queue,
        "membername": agent,
        "interface": f"PJSIP/{agent}",
        "stateinterface": f"PJSIP/{agent}",
        "timestamp": f"{ts:.6f}",
        **{k: str(v) for k, v in fields.items()},
    }


def agent_call(uid: str, agent: str, queue: str, name: str, ts: float, **fields: Any) -> dict[str, str]:
    return {
        **caller(uid, queue, name, ts, **fields),
        "membername": agent,
        "interface": f"PJSIP/{agent}",
        "destchannel": f"PJSIP/{agent}-0000002b",
    }


Step = tuple[dict[str, str] | float, list[dict[str, Any]]]  # a message (or an expire() clock) and its events


def scenario(kind: int, k: int, clock: float) -> list[Step]:
    """One valid story and the events each of its messages must give, worked out by hand."""
    t = T0 + k * 100.0
    uid, agent = f"{VALID}-{k}.1", f"{VALID}-agent-{k}"
    queued = expected("call.queued", t, queue=Q, call_id=uid)
    if kind == 0:  # answered after ringing, completed, member removed
        return [
            (caller(uid, Q, "QueueCallerJoin", t, position=1, count=1), [queued]),
            (
                agent_call(uid, agent, Q, "AgentCalled", t + 1),
                [
                    expected("agent.login", t + 1, agent=agent, queue=Q),
                    expected("agent.state", t + 1, agent=agent, state="ringing"),
                ],
            ),
            (caller(uid, Q, "QueueCallerLeave", t + 5, position=1, count=0), []),
            (
                agent_call(uid, agent, Q, "AgentConnect", t + 5, holdtime=5, ringtime=4),
                [
                    expected("call.answered", t + 5, queue=Q, call_id=uid, agent=agent, wait_s=5),
                    expected("agent.state", t + 5, agent=agent, state="on_call", direction="inbound"),
                ],
            ),
            (
                agent_call(uid, agent, Q, "AgentComplete", t + 35, holdtime=5, talktime=30, reason="caller"),
                [
                    expected("call.ended", t + 35, queue=Q, call_id=uid, agent=agent, talk_s=30),
                    expected("agent.state", t + 35, agent=agent, state="available"),
                ],
            ),
            (member(agent, Q, "QueueMemberRemoved", t + 40), [expected("agent.logout", t + 40, agent=agent, queue=Q)]),
        ]
    if kind == 1:  # the caller hangs up: abandoned at once
        return [
            (caller(uid, Q, "QueueCallerJoin", t, position=1, count=1), [queued]),
            (
                {
                    "event": "Hangup",
                    "uniqueid": uid,
                    "channel": f"PJSIP/{FAKE_NUMBER}-0000002a",
                    "calleridnum": FAKE_NUMBER,
                    "timestamp": f"{t + 8:.6f}",
                },
                [],
            ),
            (
                caller(uid, Q, "QueueCallerAbandon", t + 8, position=1, originalposition=1, holdtime=8),
                [expected("call.abandoned", t + 8, queue=Q, call_id=uid, wait_s=8)],
            ),
        ]
    if kind == 2:  # timeout, told by the QUEUESTATUS VarSet
        return [
            (caller(uid, Q, "QueueCallerJoin", t, position=1, count=1), [queued]),
            (caller(uid, Q, "QueueCallerAbandon", t + 20, position=1, originalposition=1, holdtime=20), []),
            (
                {
                    "event": "VarSet",
                    "uniqueid": uid,
                    "channel": f"PJSIP/{FAKE_NUMBER}-0000002a",
                    "variable": "QUEUESTATUS",
                    "value": "TIMEOUT",
                    "timestamp": f"{t + 20:.6f}",
                },
                [expected("call.exited", t + 20, queue=Q, call_id=uid, wait_s=20, reason="timeout")],
            ),
        ]
    if kind == 3:  # a member pauses (device busy meanwhile), unpauses, leaves
        return [
            (
                member(agent, Q, "QueueMemberAdded", t, status=1, paused=0, incall=0),
                [
                    expected("agent.login", t, agent=agent, queue=Q),
                    expected("agent.state", t, agent=agent, state="available"),
                ],
            ),
            (
                member(agent, Q, "QueueMemberPause", t + 1, paused=1, pausedreason="Almuerzo"),
                [expected("agent.state", t + 1, agent=agent, state="not_ready", reason="lunch")],
            ),
            (member(agent, Q, "QueueMemberStatus", t + 2, status=2, paused=1, incall=0, pausedreason="Almuerzo"), []),
            (
                member(agent, Q, "QueueMemberPause", t + 3, paused=0),
                [expected("agent.state", t + 3, agent=agent, state="on_call")],
            ),
            (
                member(agent, Q, "QueueMemberStatus", t + 4, status=1, paused=0, incall=0),
                [expected("agent.state", t + 4, agent=agent, state="available")],
            ),
            (member(agent, Q, "QueueMemberRemoved", t + 9), [expected("agent.logout", t + 9, agent=agent, queue=Q)]),
        ]
    # exit with key: a leave with no abandon and no answer, decided when the grace is over
    return [
        (caller(uid, Q, "QueueCallerJoin", t, position=1, count=1), [queued]),
        (caller(uid, Q, "QueueCallerLeave", t + 7, position=1, count=0), []),
        (clock + GRACE_S * 1_000, [expected("call.exited", t + 7, queue=Q, call_id=uid, wait_s=7, reason="exit_key")]),
    ]


def templates(g: Garbage) -> list[dict[str, str]]:
    """Every kind of message the translator handles, with garbage-namespace identifiers."""
    uid, agent, queue, t = g.ident("u"), g.ident("a"), g.ident("q"), T0 + g.uniform(-1e6, 1e6)
    return [
        caller(uid, queue, "QueueCallerJoin", t, position=1, count=1),
        caller(uid, queue, "QueueCallerLeave", t, position=1, count=0),
        caller(uid, queue, "QueueCallerAbandon", t, position=1, originalposition=1, holdtime=g.randrange(99)),
        agent_call(uid, agent, queue, "AgentCalled", t),
        agent_call(uid, agent, queue, "AgentRingNoAnswer", t, ringtime=g.randrange(20_000)),
        agent_call(uid, agent, queue, "AgentConnect", t, holdtime=g.randrange(99), ringtime=3),
        agent_call(uid, agent, queue, "AgentComplete", t, holdtime=3, talktime=g.randrange(999), reason="transfer"),
        member(
            agent,
            queue,
            "QueueMemberStatus",
            t,
            status=g.randrange(9),
            paused=g.randrange(2),
            incall=g.randrange(2),
            wrapuptime=g.randrange(30),
            pausedreason=g.nasty(),
        ),
        member(agent, queue, "QueueMemberPaused", t, paused=1, reason="Descanso"),
        member(agent, queue, "QueueMemberRemoved", t),
        {"event": "VarSet", "uniqueid": uid, "variable": "QUEUESTATUS", "value": g.choice(("TIMEOUT", "WITHDRAW", ""))},
        {"event": "Hangup", "uniqueid": uid},
    ]


def garbage_message(g: Garbage) -> dict[str, str]:
    r = g.random()
    if r < 0.5:
        return g.mutate_dict(g.choice(templates(g)), _KEYS)
    m = {k: g.value() for k in g.sample(_KEYS, g.randrange(len(_KEYS)))}
    m["event"] = g.choice(_EVENT_NAMES) if g.random() < 0.8 else g.value()
    if g.random() < 0.5:
        m["event"] = m["event"].upper() if g.random() < 0.5 else m["event"].lower()
    return m


def known_bad(g: Garbage, m: dict[str, str]) -> dict[str, str] | None:
    """A copy of valid message ``m`` that the translator must reject (None if it has no required field)."""
    name = m["event"].lower()
    options: list[str] = []
    if name in ("hangup", "varset"):
        return None
    options += ["drop queue", "long queue"]
    if name.startswith("queuecaller") or name.startswith("agent"):
        options += ["drop uniqueid", "long uniqueid"]
    if name.startswith("agent") or name.startswith("queuemember"):
        options += ["drop member", "long member"]
    numbers = {"queuecallerabandon": "holdtime", "agentconnect": "holdtime", "agentcomplete": "talktime"}
    if name in numbers:
        options += [f"number {numbers[name]}", f"drop {numbers[name]}"]
    if name in ("queuememberadded", "queuememberstatus", "queuememberpause"):
        options += ["flag paused", "flag incall", "status", "number wrapuptime"]
    if name == "queuememberpause":
        options.append("drop paused")
    bad = dict(m)
    op, _, key = g.choice(options).partition(" ")
    if op == "drop" and key == "member":
        for k in _MEMBER_KEYS:
            bad.pop(k, None)
    elif op == "drop":
        bad.pop(key, None)
    elif op == "long":
        bad["membername" if key == "member" else key] = (FAKE_NAME * 20)[:257] if key == "member" else "q" * 257
    elif op == "number":
        bad[key] = g.choice(_BAD_NUMBERS)
    elif op == "flag":
        bad[key] = g.choice(_BAD_FLAGS)
    else:
        bad["status"] = g.choice(_BAD_STATUS)
    return bad


def queue_status_rows(g: Garbage, n: int) -> Iterator[dict[str, str]]:
    for _ in range(n):
        row = {
            "event": g.choice(("QueueEntry", "QueueMember", "QueueParams", "queueentry", g.junk_text(8))),
            "queue": g.ident("q"),
            "uniqueid": g.ident("u"),
            "wait": g.value(),
            "membername": g.ident("a"),
            "status": g.value(),
            "paused": g.value(),
            "incall": g.value(),
            "wrapuptime": g.value(),
        }
        yield g.mutate_dict(row, _KEYS) if g.random() < 0.7 else row


# ------------------------------------------------------------ the translator


def _is_valid(e: Event) -> bool:
    return any(isinstance(v, str) and v.startswith(VALID) for v in (getattr(e, "queue", ""), getattr(e, "agent", "")))


class _Counting:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)


def fuzz_translator(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """Feed ``n`` inputs (valid stories, known-bad copies, garbage) to AmiTranslator; see the module docstring."""
    report = FuzzReport("AMI translator")
    g = Garbage(seed)
    k = 0
    while report.inputs < n:
        _round(g, report, min(ROUND, n - report.inputs), k)
        k += 1_000
    return report


def _round(g: Garbage, report: FuzzReport, n: int, k0: int) -> None:
    seen = _Counting()
    tr = AmiTranslator(SOURCE, {}, PAUSE_CODES, grace_s=GRACE_S, reject=seen)
    clock = 1_800_000_000.0
    # What a corrupted cursor could hold: restore() skips anything malformed and never raises.
    cursor = {
        "version": 1,
        "calls": [
            g.json_value(2)
            if g.random() < 0.5
            else [
                g.ident("q"),
                g.ident("u"),
                g.json_value(0),
                g.json_value(0),
                g.json_value(0),
                [g.json_value(0), g.json_value(0)],
                g.json_value(0),
            ][: g.choice((4, 7, 5))]
            for _ in range(g.randrange(10))
        ],
        "members": g.json_value(2) if g.random() < 0.3 else {g.ident("a"): [g.ident("q"), g.json_value(0)]},
    }
    report.inputs += 1
    n -= 1
    try:
        tr.restore(cursor)
        # The cursor is the collector's own: a finite time in it is believed (tests store small ones),
        # so only the events' numbers being finite is asserted here, not the stream's time range.
        for e in tr.expire(clock + 3_600):
            if not all(math.isfinite(v) for v in as_dict(e).values() if isinstance(v, float)):
                report.invalid_events.append(f"{as_dict(e)} from the cursor {short(cursor)}")
    except Exception as exc:  # restore documents that it skips what it cannot use
        report.crash(cursor, exc)
    # A QueueStatus list first: garbage rows around one waiting call and one member.
    rows = list(queue_status_rows(g, g.randrange(20)))
    rid, ragent = f"{VALID}-r{k0}", f"{VALID}-m{k0}"
    rows.insert(
        g.randrange(len(rows) + 1),
        {"event": "QueueEntry", "queue": Q, "uniqueid": rid, "wait": "12", "position": "1", "calleridnum": FAKE_NUMBER},
    )
    rows.insert(g.randrange(len(rows) + 1), member(ragent, Q, "QueueMember", T0, status=1, paused=0, incall=0))
    try:
        out = tr.resync(rows, clock)
        report.check_events(out, rows)
        got = [signature(e) for e in out if _is_valid(e)]
        want = [
            expected("agent.login", clock, agent=ragent, queue=Q),
            expected("agent.state", clock, agent=ragent, state="available"),
            expected("call.queued", clock - 12, queue=Q, call_id=rid),
        ]
        if got != want:
            report.mismatches.append(f"resync gave {got}, expected {want}, rows {short(rows)}")
    except Exception as exc:  # anything escaping is a crash: resync counts bad rows and goes on
        report.crash(rows, exc)
    if len(seen.reasons) > len(rows):
        report.miscounts.append(f"{len(seen.reasons)} rejections for {len(rows)} rows")
    report.inputs += len(rows)
    report.rejected += len(seen.reasons)
    n -= len(rows)
    k = k0
    while n > 0:
        story = scenario(g.randrange(5), k, clock)
        k += 1
        for message, want in story:
            for _ in range(g.randrange(6)):
                clock += 0.01
                _garbage(g, tr, seen, report, clock)
                n -= 1
            if isinstance(message, float):
                clock = message
                out = tr.expire(clock)
                report.check_events(out, f"expire({clock})")
                got = [signature(e) for e in out if _is_valid(e)]
                if got != want:
                    report.mismatches.append(f"expire gave {got}, expected {want}")
                continue
            bad = known_bad(g, message) if g.random() < 0.4 else None
            if bad is not None:
                _feed(tr, seen, report, bad, clock, expect="rejected")
                n -= 1
            clock += 0.01
            out = _feed(tr, seen, report, message, clock, expect="valid")
            n -= 1
            got = [signature(e) for e in out]
            if got != want:
                report.mismatches.append(f"{short(message)} gave {got}, expected {want}")


def _garbage(g: Garbage, tr: AmiTranslator, seen: _Counting, report: FuzzReport, clock: float) -> None:
    _feed(tr, seen, report, garbage_message(g), clock, expect="")


def _feed(
    tr: AmiTranslator, seen: _Counting, report: FuzzReport, m: dict[str, str], clock: float, *, expect: str
) -> list[Event]:
    """One input, with its accounting: rejected at most once, and exactly once if known bad."""
    before, ignored = len(seen.reasons), sum(tr.stats.ignored.values())
    report.inputs += 1
    try:
        out = tr.feed(m, clock)
    except Exception as exc:  # feed documents no exception: everything bad is counted and skipped
        report.crash(m, exc)
        return []
    rejected = len(seen.reasons) - before
    report.rejected += rejected
    report.check_events(out, m)
    skipped = rejected + sum(tr.stats.ignored.values()) - ignored
    if tr.stats.malformed != len(seen.reasons) or skipped > 1 or (skipped and out):
        report.miscounts.append(f"{rejected} rejections, {skipped} skips, {len(out)} events for {short(m)}")
    if expect == "rejected":
        report.known_bad += 1
        if rejected != 1 or out:
            report.miscounts.append(f"known bad gave {rejected} rejections and {len(out)} events: {short(m)}")
    elif expect == "valid":
        report.valid += 1
        if rejected:
            report.miscounts.append(f"valid message rejected ({seen.reasons[-1]}): {short(m)}")
    elif out and not rejected:
        report.accepted_garbage += 1
    return out


# ------------------------------------------------------------ the wire


def wire(m: dict[str, str] | list[tuple[str, str]], g: Garbage) -> bytes:
    eol = "\r\n" if g.random() < 0.9 else "\n"
    pairs = list(m.items()) if isinstance(m, dict) else m
    lines = [f"{k.title() if g.random() < 0.5 else k.upper()}: {v}" for k, v in pairs]
    return (eol.join(lines) + eol + eol * g.randrange(1, 3)).encode("utf-8", "surrogatepass")


def _valid_wire(g: Garbage, i: int) -> tuple[dict[str, str], bytes]:
    if g.random() < 0.2:
        m = {"response": "Success", "actionid": f"{VALID}-{i}", "message": "Pong" if g.random() < 0.5 else "Ok"}
    else:
        m = {**g.choice(templates(g)), "actionid": f"{VALID}-{i}"}
        m = {
            k: v.encode("utf-8", "replace").decode()[:1000].replace("\r", "").replace("\n", "").strip()
            for k, v in m.items()
        }
        m["event"] = m["event"] or "Hangup"
    pairs = list(m.items())
    if g.random() < 0.2:  # a repeated key: the first value counts
        pairs[1:1] = [("chanvariable", f"a{i}"), ("chanvariable", f"b{i}")]
        m["chanvariable"] = f"a{i}"
    return m, wire(pairs, g)


def _known_bad_wire(g: Garbage) -> bytes:
    """A chunk the splitter must reject exactly once (and deliver nothing from)."""
    choice = g.randrange(6)
    if choice == 0:
        return f"Event: QueueCallerJoin\r\nCallerIDNum {FAKE_NUMBER}\r\nQueue: q\r\n\r\n".encode()
    if choice == 1:
        return f"Event: AgentCalled\r\n MemberName: {FAKE_NAME}\r\n\r\n".encode()
    if choice == 2:
        return f"Event: Newchannel\r\nCallerIDName: {FAKE_NAME * 4000}\r\n\r\n".encode()  # over 64 KiB
    if choice == 3:
        return f"Channel: PJSIP/{FAKE_NUMBER}-01\r\nCallerIDNum: {FAKE_NUMBER}\r\n\r\n".encode()
    if choice == 4:
        return f": {FAKE_NUMBER}\r\nEvent: Hangup\r\n\r\n".encode()
    return ("x" * 70_000 + FAKE_NUMBER + "\r\n\r\n").encode()


def _garbage_wire(g: Garbage) -> bytes:
    r = g.random()
    if r < 0.4:
        data = g.raw_bytes(300)
    elif r < 0.8:
        data = "\r\n".join(
            f"{g.junk_text(10)}{g.choice((': ', ':', '', ' : '))}{g.value()[:3000]}" for _ in range(g.randrange(8))
        ).encode("utf-8", "surrogatepass")
    else:
        data = wire(garbage_message(g), g)[: g.randrange(400)]  # truncated anywhere
    return data + b"\r\n\r\n"


def fuzz_wire(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """``n`` chunks of bytes (valid messages, known-bad and random chunks) through the AMI message splitter."""
    return asyncio.run(_fuzz_wire(n, seed))


async def _fuzz_wire(n: int, seed: int) -> FuzzReport:
    report = FuzzReport("AMI wire")
    g = Garbage(seed)
    tr = AmiTranslator(SOURCE, {}, PAUSE_CODES, grace_s=GRACE_S, reject=lambda reason: None)
    r = 0
    while report.inputs < n:
        await _wire_round(g, report, min(ROUND, n - report.inputs), clean=r % 2 == 0, tr=tr)
        r += 1
    return report


async def _wire_round(g: Garbage, report: FuzzReport, n: int, *, clean: bool, tr: AmiTranslator) -> None:
    chunks: list[bytes] = []
    want: list[dict[str, str]] = []
    bad = 0
    for i in range(n):
        r = g.random()
        if r < 0.4:
            m, data = _valid_wire(g, report.inputs + i)
            if g.random() < 0.1 and "event" in m:  # an event cut short by the next message: it is rejected
                data = b"Event: QueueCallerJoin\r\nQueue: q\r\n" + data.lstrip(b"\r\n")
                bad += 1
            want.append(m)
            chunks.append(data)
        elif r < 0.7 or clean:
            chunks.append(_known_bad_wire(g))
            bad += 1
        else:
            chunks.append(_garbage_wire(g))
    report.inputs += n
    report.valid += len(want)
    report.known_bad += bad
    reasons: list[str] = []
    reader = asyncio.StreamReader(limit=2**20)
    reader.feed_data(b"".join(chunks))
    reader.feed_eof()
    framer = Framer(LineReader(reader), reasons.append)
    got: list[dict[str, str]] = []
    while True:
        try:
            message = await framer.read_message()
        except LinkClosed:
            break
        except Exception as exc:  # the splitter only ever ends with the connection
            report.crash(f"a stream of {len(chunks)} chunks", exc)
            break
        if message is None:
            continue
        if message.get("actionid", "").startswith(VALID):
            got.append(message)
        elif "event" in message:
            try:
                report.check_events(tr.feed(message, 1_800_000_000.0), message)
            except Exception as exc:  # feed never raises
                report.crash(message, exc)
    report.rejected += len(reasons)
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        report.mismatches.append(
            f"{len(got)} valid messages out of {len(want)}; first difference at {first}: "
            f"{short(got[first : first + 1])} != {short(want[first : first + 1])}"
        )
    if (clean and len(reasons) != bad) or len(reasons) < bad:
        report.miscounts.append(f"{len(reasons)} rejections for {bad} known-bad chunks (clean round: {clean})")
