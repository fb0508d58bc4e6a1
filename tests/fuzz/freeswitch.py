"""Fuzzing the FreeSWITCH collector's pure layers: Event Socket framing, event bodies, tables, the translator.

As for AMI: valid stories in the VALID namespace with hand-written
expectations, known-bad copies of their next message (each one rejection with
:class:`CallcenterError`, no trace), and garbage in a namespace of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.collectors.freeswitch.esl_server import AGENT_COLUMNS, MEMBER_COLUMNS, agent, member, plain
from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, VALID, FuzzReport, Garbage, expected, short, signature
from wallboard.collectors.common.lines import LineReader, LinkClosed, ProtocolError
from wallboard.collectors.freeswitch.fields import CallcenterError
from wallboard.collectors.freeswitch.protocol import MAX_BODY, BadMessage, parse_event, parse_table, read_message
from wallboard.collectors.freeswitch.translator import CallcenterTranslator
from wallboard.events import Event

SOURCE = "fs"
QUEUE = f"{VALID}-q"
Q = f"{QUEUE}@default"
PAUSE_CODES = {"on break": "descanso"}
T0 = 1_773_129_500
ROUND = 1_000

_ACTIONS = (
    "member-queue-start",
    "member-queue-resume",
    "agent-offering",
    "bridge-agent-start",
    "bridge-agent-fail",
    "bridge-agent-end",
    "member-queue-end",
    "agent-status-change",
    "agent-state-change",
    "members-count",
    "agent-status-get",
    "agent-teleported",
    "",
)
_KEYS = (
    "Event-Name",
    "Event-Subclass",
    "CC-Action",
    "CC-Queue",
    "CC-Member-UUID",
    "CC-Agent",
    "CC-Agent-Status",
    "CC-Agent-State",
    "CC-Cause",
    "CC-Cancel-Reason",
    "CC-Agent-Answered-Time",
    "CC-Member-Joined-Time",
    "CC-Member-Leaving-Time",
    "CC-Bridge-Terminated-Time",
    "Event-Date-Timestamp",
    "CC-Member-CID-Number",
    "CC-Member-CID-Name",
    "CC-Agent-System",
    "CC-Count",
)
_BAD_EPOCHS = (
    "soon",
    "12e9",
    "²",
    "9" * 400,
    "-5",
    "12",
    "1773129500.1234567",
    "1e9",
    " 1773129500",
    "nan",
    FAKE_NUMBER,
)
_BAD_MICROS = ("²", "9" * 400, "9" * 5000, "12", "x", "-1", "1773129500000000.5", FAKE_NUMBER)


def cc(action: str, ts: float, **fields: Any) -> dict[str, str]:
    """A decoded callcenter::info event (``Member_UUID`` → ``CC-Member-UUID``)."""
    h = {
        "Event-Name": "CUSTOM",
        "Event-Subclass": "callcenter::info",
        "CC-Action": action,
        "Event-Date-Timestamp": str(int(ts * 1_000_000)),
    }
    h.update({"CC-" + k.replace("_", "-"): str(v) for k, v in fields.items()})
    return h


Step = tuple[dict[str, str], list[dict[str, Any]]]


def scenario(kind: int, k: int) -> list[Step]:
    """One valid story and each message's events, worked out by hand from the module's rules."""
    t = T0 + k * 100
    uid, name = f"{VALID}-{k}", f"{VALID}-agent-{k}@default"
    caller = {"Member_CID_Number": FAKE_NUMBER, "Member_CID_Name": FAKE_NAME}
    queued = expected("call.queued", t, queue=QUEUE, call_id=uid)
    if kind == 0:  # offered, answered, ended, the caller leaves served, the agent logs out
        return [
            (cc("member-queue-start", t, Queue=Q, Member_UUID=uid, **caller), [queued]),
            (
                cc("agent-status-change", t + 1, Agent=name, Agent_Status="Available"),
                [expected("agent.login", t + 1, agent=name)],
            ),
            (
                cc("agent-offering", t + 2, Queue=Q, Member_UUID=uid, Agent=name, **caller),
                [expected("agent.state", t + 2, agent=name, state="ringing")],
            ),
            (
                cc(
                    "bridge-agent-start",
                    t + 10,
                    Queue=Q,
                    Member_UUID=uid,
                    Agent=name,
                    Agent_Answered_Time=t + 10,
                    Member_Joined_Time=t,
                    **caller,
                ),
                [
                    expected("call.answered", t + 10, queue=QUEUE, call_id=uid, agent=name, wait_s=10),
                    expected("agent.state", t + 10, agent=name, state="on_call", direction="inbound"),
                ],
            ),
            (
                cc(
                    "bridge-agent-end",
                    t + 40,
                    Queue=Q,
                    Member_UUID=uid,
                    Agent=name,
                    Agent_Answered_Time=t + 10,
                    Bridge_Terminated_Time=t + 40,
                ),
                [
                    expected("call.ended", t + 40, queue=QUEUE, call_id=uid, agent=name, talk_s=30),
                    expected("agent.state", t + 40, agent=name, state="available"),
                ],
            ),
            (
                cc(
                    "member-queue-end",
                    t + 40,
                    Queue=Q,
                    Member_UUID=uid,
                    Cause="Terminated",
                    Agent=name,
                    Agent_Answered_Time=t + 10,
                    Member_Joined_Time=t,
                    Member_Leaving_Time=t + 40,
                    **caller,
                ),
                [],
            ),
            (
                cc("agent-status-change", t + 50, Agent=name, Agent_Status="Logged Out"),
                [expected("agent.logout", t + 50, agent=name)],
            ),
        ]
    if kind == 1:  # the caller hangs up
        return [
            (cc("member-queue-start", t, Queue=Q, Member_UUID=uid, **caller), [queued]),
            (
                cc(
                    "member-queue-end",
                    t + 9,
                    Queue=Q,
                    Member_UUID=uid,
                    Cause="Cancel",
                    Cancel_Reason="BREAK_OUT",
                    Member_Joined_Time=t,
                    Member_Leaving_Time=t + 9,
                    **caller,
                ),
                [expected("call.abandoned", t + 9, queue=QUEUE, call_id=uid, wait_s=9)],
            ),
        ]
    if kind == 2:  # a timeout
        return [
            (cc("member-queue-start", t, Queue=Q, Member_UUID=uid), [queued]),
            (
                cc(
                    "member-queue-end",
                    t + 30,
                    Queue=Q,
                    Member_UUID=uid,
                    Cause="Cancel",
                    Cancel_Reason="TIMEOUT",
                    Member_Joined_Time=t,
                    Member_Leaving_Time=t + 30,
                ),
                [expected("call.exited", t + 30, queue=QUEUE, call_id=uid, wait_s=30, reason="timeout")],
            ),
        ]
    if kind == 3:  # a resumed call leaves with a key: its wait runs from the rejoin
        return [
            (cc("member-queue-resume", t, Queue=Q, Member_UUID=uid), [queued]),
            (
                cc(
                    "member-queue-end",
                    t + 5,
                    Queue=Q,
                    Member_UUID=uid,
                    Cause="Cancel",
                    Cancel_Reason="EXIT_WITH_KEY",
                    Member_Joined_Time=t - 100,
                    Member_Leaving_Time=t + 5,
                ),
                [expected("call.exited", t + 5, queue=QUEUE, call_id=uid, wait_s=5, reason="exit_key")],
            ),
        ]
    return [  # an agent takes a break, goes idle, back to waiting, logs out
        (cc("agent-status-change", t, Agent=name, Agent_Status="Available"), [expected("agent.login", t, agent=name)]),
        (
            cc("agent-status-change", t + 1, Agent=name, Agent_Status="On Break"),
            [expected("agent.state", t + 1, agent=name, state="not_ready", reason="descanso")],
        ),
        (cc("agent-state-change", t + 2, Agent=name, Agent_State="Idle"), []),
        (
            cc("agent-status-change", t + 3, Agent=name, Agent_Status="Available"),
            [expected("agent.state", t + 3, agent=name, state="not_ready", reason="idle")],
        ),
        (
            cc("agent-state-change", t + 4, Agent=name, Agent_State="Waiting"),
            [expected("agent.state", t + 4, agent=name, state="available")],
        ),
        (
            cc("agent-status-change", t + 5, Agent=name, Agent_Status="Logged Out"),
            [expected("agent.logout", t + 5, agent=name)],
        ),
    ]


def templates(g: Garbage) -> list[dict[str, str]]:
    """Every action, with garbage-namespace identifiers."""
    uid, name, queue, t = g.ident("u"), g.ident("a"), g.ident("q"), T0 + g.randrange(-(10**6), 10**6)
    call = {"Queue": queue, "Member_UUID": uid}
    return [
        cc("member-queue-start", t, **call),
        cc("member-queue-resume", t, **call),
        cc("agent-offering", t, Agent=name, **call),
        cc("bridge-agent-fail", t, Agent=name, **call),
        cc("bridge-agent-start", t, Agent=name, Agent_Answered_Time=t, Member_Joined_Time=t - 5, **call),
        cc("bridge-agent-end", t, Agent=name, Agent_Answered_Time=t - 9, Bridge_Terminated_Time=t, **call),
        cc(
            "member-queue-end",
            t,
            Cause=g.choice(("Cancel", "Terminated")),
            Agent=name,
            Agent_Answered_Time=t - 9,
            Cancel_Reason=g.choice(("BREAK_OUT", "TIMEOUT", "NO_AGENT_TIMEOUT", "EXIT_WITH_KEY", "X")),
            Member_Joined_Time=t - 20,
            Member_Leaving_Time=t,
            **call,
        ),
        cc(
            "agent-status-change",
            t,
            Agent=name,
            Agent_Status=g.choice(("Available", "Available (On Demand)", "On Break", "Logged Out")),
        ),
        cc(
            "agent-state-change",
            t,
            Agent=name,
            Agent_State=g.choice(("Waiting", "Receiving", "In a queue call", "Idle", "Reserved")),
        ),
        {"Event-Name": "HEARTBEAT", "Event-Date-Timestamp": str(t * 1_000_000)},
    ]


def garbage_headers(g: Garbage) -> dict[str, str]:
    if g.random() < 0.5:
        return g.mutate_dict(g.choice(templates(g)), _KEYS)
    h = {k: g.value() for k in g.sample(_KEYS, g.randrange(len(_KEYS)))}
    if g.random() < 0.8:
        h["Event-Subclass"] = "callcenter::info"
        h["CC-Action"] = g.choice(_ACTIONS)
    return h


def known_bad(g: Garbage, h: dict[str, str]) -> dict[str, str] | None:
    """A copy of valid event ``h`` that feed() must refuse with CallcenterError (None if there is none)."""
    action = h["CC-Action"]
    if action == "member-queue-end" and h["CC-Cause"] == "Terminated":
        return None  # after the bridge ended it needs nothing more: nothing in it can be wrong
    options = ["CC-Action", "Event-Date-Timestamp"]
    if "CC-Queue" in h:
        options += ["drop CC-Queue", "drop CC-Member-UUID", "long CC-Queue", "long CC-Member-UUID"]
    if "CC-Agent" in h:
        options += ["drop CC-Agent", "long CC-Agent"]
    for key in (
        "CC-Agent-Answered-Time",
        "CC-Member-Joined-Time",
        "CC-Member-Leaving-Time",
        "CC-Bridge-Terminated-Time",
    ):
        if key in h:
            options.append(f"epoch {key}")
    if action == "member-queue-end":
        options.append("CC-Cause")
    if action == "agent-status-change":
        options.append("CC-Agent-Status")
    if action == "agent-state-change":
        options.append("CC-Agent-State")
    if action == "bridge-agent-end":
        options.append("too_long")
    bad = dict(h)
    op, _, key = g.choice(options).rpartition(" ")
    if op == "drop":
        del bad[key]
    elif op == "long":
        bad[key] = (FAKE_NAME * 20)[:257] if key == "CC-Agent" else "q" * 257
    elif op == "epoch":
        bad[key] = g.choice(_BAD_EPOCHS)
    elif key == "Event-Date-Timestamp":
        bad[key] = g.choice(_BAD_MICROS)
    elif key == "too_long":
        bad["CC-Bridge-Terminated-Time"] = str(int(h["CC-Agent-Answered-Time"]) + 31 * 86_400)
    elif key == "CC-Action":
        bad[key] = g.choice(("agent-teleported", "Member-Queue-Start", " member-queue-start", ""))
    else:
        bad[key] = g.choice(("Asleep", "", "available", FAKE_NAME))
    return bad


def _is_valid(e: Event) -> bool:
    return any(isinstance(v, str) and v.startswith(VALID) for v in (getattr(e, "queue", ""), getattr(e, "agent", "")))


# ------------------------------------------------------------ the translator


def fuzz_translator(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """Feed ``n`` decoded events (valid stories, known-bad copies, garbage) to CallcenterTranslator."""
    report = FuzzReport("FreeSWITCH translator")
    g = Garbage(seed)
    k = 0
    while report.inputs < n:
        tr = CallcenterTranslator(SOURCE, {}, PAUSE_CODES)
        stop = report.inputs + min(ROUND, n - report.inputs)
        try:
            tr.restore(g.json_value(3) if g.random() < 0.5 else [[g.ident("q"), g.ident("u"), "", g.json_value(0)]])
        except Exception as exc:  # restore skips what it cannot use
            report.crash("restore", exc)
        while report.inputs < stop:
            for h, want in scenario(g.randrange(5), k):
                for _ in range(g.randrange(6)):
                    _feed(tr, report, garbage_headers(g), expect="")
                bad = known_bad(g, h) if g.random() < 0.4 else None
                if bad is not None:
                    _feed(tr, report, bad, expect="rejected")
                got = [signature(e) for e in _feed(tr, report, h, expect="valid") if _is_valid(e)]
                if got != want:
                    report.mismatches.append(f"{short(h)} gave {got}, expected {want}")
            k += 1
    return report


def _feed(tr: CallcenterTranslator, report: FuzzReport, h: dict[str, str], *, expect: str) -> list[Event]:
    report.inputs += 1
    rejected = 0
    out: list[Event] = []
    try:
        out = tr.feed(h, float(T0))
    except CallcenterError:
        rejected = 1
    except Exception as exc:  # the one documented rejection is CallcenterError
        report.crash(h, exc)
    report.rejected += rejected
    report.check_events(out, h)
    if expect == "rejected":
        report.known_bad += 1
        if not rejected:
            report.miscounts.append(f"known bad accepted with {len(out)} events: {short(h)}")
    elif expect == "valid":
        report.valid += 1
        if rejected:
            report.miscounts.append(f"valid event rejected: {short(h)}")
    elif out:
        report.accepted_garbage += 1
    return out


# ------------------------------------------------------------ tables and resync


def _row_text(row: dict[str, str], columns: tuple[str, ...]) -> str:
    return "|".join(row.get(c, "") for c in columns)


def fuzz_resync(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """``n`` table rows (valid, known bad, garbage) through parse_table and resync()."""
    report = FuzzReport("FreeSWITCH tables and resync")
    g = Garbage(seed)
    r = 0
    while report.inputs < n:
        _resync_round(g, report, r)
        r += 1
    return report


def _resync_round(g: Garbage, report: FuzzReport, r: int) -> None:
    now = float(T0 + 10_000)
    t = T0 + r
    waiting, answered, name = f"{VALID}-w{r}", f"{VALID}-a{r}", f"{VALID}-agent-{r}@default"
    valid_members = [
        member(Q, waiting, t, cid=FAKE_NUMBER, cid_name=FAKE_NAME),
        member(
            Q,
            answered,
            t,
            "Answered",
            rejoined=t + 5,
            bridged=t + 25,
            agent=name,
            cid=FAKE_NUMBER,
            cid_name=f"{FAKE_NAME} | 50% off",
        ),
    ]
    valid_agent = agent(name, "On Break", "Waiting", contact=f"user/{FAKE_NUMBER}|user/1002")
    lines: list[str] = []
    bad = 0
    for _ in range(g.randrange(1, 40)):
        if g.random() < 0.3:  # known bad: one error each
            row = member(Q, f"g-{g.randrange(99)}", t, cid=FAKE_NUMBER, cid_name=FAKE_NAME)
            key = g.choice(("joined_epoch", "rejoined_epoch", "bridge_epoch", "queue", "uuid", "uuid"))
            row[key] = {"joined_epoch": g.choice(_BAD_EPOCHS), "queue": "", "uuid": "u" * 257}.get(
                key, g.choice(("12", "-5", "9" * 14, "x", "²"))
            )
            if key == "bridge_epoch":
                row["state"] = "Answered"
                row["serving_agent"] = name
            lines.append(_row_text(row, MEMBER_COLUMNS))
            bad += 1
        else:
            row = g.mutate_dict(
                member(
                    g.ident("q"),
                    g.ident("u"),
                    t - g.randrange(99),
                    g.choice(("Waiting", "Trying", "Answered", "Abandoned", "")),
                    agent=g.ident("a"),
                ),
                MEMBER_COLUMNS,
            )
            lines.append(_row_text(row, MEMBER_COLUMNS) if g.random() < 0.8 else g.junk_text(60))
    lines.insert(g.randrange(len(lines) + 1), _row_text(valid_members[0], MEMBER_COLUMNS))
    lines.insert(g.randrange(len(lines) + 1), _row_text(valid_members[1], MEMBER_COLUMNS))
    agent_lines = [_row_text(valid_agent, AGENT_COLUMNS)]
    for _ in range(g.randrange(10)):
        row = g.mutate_dict(
            agent(
                g.ident("a"),
                g.choice(("Available", "On Break", "Logged Out", "x")),
                g.choice(("Waiting", "Idle", "In a queue call", "y")),
            ),
            AGENT_COLUMNS,
        )
        agent_lines.insert(g.randrange(len(agent_lines) + 1), _row_text(row, AGENT_COLUMNS))
    report.inputs += len(lines) + len(agent_lines)
    report.valid += 3
    report.known_bad += bad
    members_body = "|".join(MEMBER_COLUMNS) + "\n" + "\n".join(lines) + "\n+OK\n"
    agents_body = "|".join(AGENT_COLUMNS) + "\n" + "\n".join(agent_lines) + "\n+OK\n"
    tr = CallcenterTranslator(SOURCE, {}, PAUSE_CODES)
    try:
        members, errors = parse_table(members_body, "members", ["queue", "uuid", "joined_epoch", "state"], "cid_name")
        agents, agent_errors = parse_table(agents_body, "agents", ["name", "status", "state"], "contact")
        buffered = [garbage_headers(g) for _ in range(g.randrange(5))]
        out, resync_errors = tr.resync(members, agents, now, buffered)
    except Exception as exc:  # a table with its header and +OK never fails as a whole
        report.crash(members_body[:2000], exc)
        return
    report.check_events(out, members_body[:2000])
    errors += agent_errors + resync_errors
    report.rejected += len(errors)
    rows = sum(1 for body in (members_body, agents_body) for line in body.split("\n")[1:-2] if line)
    if len(errors) < bad or len(errors) > rows + len(buffered):  # (a garbage value may hold a line break)
        report.miscounts.append(f"{len(errors)} errors for {bad} known-bad rows: {errors[:3]}")
    got = sorted((signature(e) for e in out if _is_valid(e)), key=repr)  # (the rows come in any order)
    want = [
        expected("call.queued", t, queue=QUEUE, call_id=waiting),
        expected("call.answered", t + 25, queue=QUEUE, call_id=answered, agent=name, wait_s=20),
        expected("agent.login", now, agent=name),
        expected("agent.state", now, agent=name, state="not_ready", reason="descanso"),
    ]
    want.sort(key=repr)
    if got != want:
        report.mismatches.append(f"resync gave {got}, expected {want}, tables {short(members_body)}")
    for body in (g.junk_text(200), "+OK\n", g.junk_text(50) + "\n+OK\n", "-ERR no such queue\n", ""):
        try:  # any answer at all: a table or ProtocolError
            parse_table(body, "queue list", ["name"])
        except ProtocolError:
            pass
        except Exception as exc:
            report.crash(body, exc)


# ------------------------------------------------------------ the wire


def _known_bad_wire(g: Garbage, big: bool) -> bytes:
    """A message read_message or parse_event must refuse exactly once, leaving the stream in step."""
    choice = g.randrange(8 if big else 7)
    if choice == 0:
        return f"Content-Type: text/event-plain\nCaller {FAKE_NUMBER}\n\n".encode()
    if choice == 1:
        return f"Reply-Text: {FAKE_NAME}\n\n".encode()  # no Content-Type
    if choice == 2:
        body = plain(cc("agent-offering", T0, Agent=FAKE_NAME)).split(b"\n\n", 1)[1]
        return b"Content-Length: ten\nContent-Type: text/event-plain\n\n" + body
    if choice == 3:
        body = b"\xff\xfe" + FAKE_NUMBER.encode() + b"\n\n"
        return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)
    if choice == 4:
        body = f"Event-Name: CUSTOM\nCC-Member-CID-Number {FAKE_NUMBER}\n\n".encode()
        return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)
    if choice == 5:
        body = f"Event-Name: CUSTOM\nCC-Agent: {FAKE_NAME}".encode()  # truncated: no blank line
        return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)
    if choice == 6:
        return f"Content-Type: text/event-plain\nX-Name: {FAKE_NAME * 5000}\n\n".encode()  # a line over 64 KiB
    body = b"x" * (MAX_BODY + 1)
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)


def _text_only(h: dict[str, str]) -> dict[str, str]:
    """What can be on the wire: text without lone surrogates."""
    return {k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode() for k, v in h.items()}


def _garbage_wire(g: Garbage) -> bytes:
    """Bytes with no Content-Length header (that would swallow what follows), ended by a blank line."""
    r = g.random()
    if r < 0.3:
        data = g.raw_bytes(300).replace(b"Content-Length", b"C")
    elif r < 0.6:
        data = "\n".join(
            f"{g.choice(('Content-Type', 'Reply-Text', g.junk_text(10)))}"
            f"{g.choice((': ', ':', '', ' : '))}{g.value()[:3000]}"
            for _ in range(g.randrange(6))
        ).encode("utf-8", "surrogatepass")
    else:  # a well-framed event with a garbage body
        body = plain(_text_only(garbage_headers(g))) if g.random() < 0.5 else g.raw_bytes(200)
        if not body.startswith(b"Content-Length"):
            return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)
        return body
    return data.replace(b"\r", b"") + b"\n\n"


def fuzz_wire(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """``n`` chunks (valid events and replies, known-bad and random chunks) through read_message and parse_event."""
    return asyncio.run(_fuzz_wire(n, seed))


async def _fuzz_wire(n: int, seed: int) -> FuzzReport:
    report = FuzzReport("FreeSWITCH wire")
    g = Garbage(seed)
    tr = CallcenterTranslator(SOURCE, {}, PAUSE_CODES)
    r = 0
    while report.inputs < n:
        await _wire_round(g, report, min(ROUND, n - report.inputs), clean=r % 2 == 0, tr=tr, big=r % 10 == 0)
        r += 1
    return report


async def _wire_round(
    g: Garbage, report: FuzzReport, n: int, *, clean: bool, tr: CallcenterTranslator, big: bool
) -> None:
    chunks: list[bytes] = []
    want: list[tuple[str, dict[str, str] | bytes]] = []
    bad = 0
    for i in range(n):
        r = g.random()
        if r < 0.4:
            marker = f"{VALID}-{report.inputs + i}"
            if g.random() < 0.8:
                h = {**g.choice(templates(g)), "Wallboard-Fuzz": marker}
                h = _text_only(h)
                chunks.append(plain(h))
                want.append(("text/event-plain", h))
            else:
                body = f"+OK {marker}\n".encode()
                chunks.append(b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))
                want.append(("api/response", body))
        elif r < 0.7 or clean:
            chunks.append(_known_bad_wire(g, big and bad == 0))
            bad += 1
        else:
            chunks.append(_garbage_wire(g))
    chunks.append(b"Content-Type: api/response\nContent-Length: 1O\n\n")  # framing lost: the link ends here
    report.inputs += n
    report.valid += len(want)
    report.known_bad += bad
    reader = asyncio.StreamReader(limit=2**20)
    reader.feed_data(b"".join(chunks))
    reader.feed_eof()
    lines = LineReader(reader)
    got: list[tuple[str, dict[str, str] | bytes]] = []
    rejected = 0
    ended = False
    while True:
        try:
            message = await read_message(lines)
        except BadMessage:
            rejected += 1
            continue
        except ProtocolError:
            ended = True
            break
        except LinkClosed:
            break
        except Exception as exc:  # BadMessage, ProtocolError (framing lost) or the end: nothing else
            report.crash(f"a stream of {len(chunks)} chunks", exc)
            break
        if message.content_type == "api/response" and message.body.startswith(f"+OK {VALID}".encode()):
            got.append(("api/response", message.body))
            continue
        if message.content_type != "text/event-plain":
            continue
        try:
            headers = parse_event(message.body)
        except CallcenterError:
            rejected += 1
            continue
        except Exception as exc:  # parse_event's one rejection is CallcenterError
            report.crash(message.body[:2000], exc)
            continue
        if headers.get("Wallboard-Fuzz", "").startswith(VALID):
            got.append(("text/event-plain", headers))
        try:
            report.check_events(tr.feed(headers, float(T0)), headers)
        except CallcenterError:
            pass
        except Exception as exc:
            report.crash(headers, exc)
    report.rejected += rejected
    if not ended:
        report.mismatches.append("the stream did not end with the ProtocolError of its lost framing")
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        report.mismatches.append(
            f"{len(got)} valid messages out of {len(want)}; first difference at {first}: "
            f"{short(got[first : first + 1])} != {short(want[first : first + 1])}"
        )
    if (clean and rejected != bad) or rejected < bad:
        report.miscounts.append(f"{rejected} rejections for {bad} known-bad chunks (clean round: {clean})")
