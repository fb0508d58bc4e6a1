"""Fuzzing the queue_log line translator: valid call and member stories among garbage lines.

Lines are text as the tail and the report give them (bytes decoded with
``errors="replace"``), so they never hold a lone surrogate; :func:`fuzz_lines`
with ``surrogates=True`` adds them anyway, to probe the translator's own API.
"""

from __future__ import annotations

from typing import Any

from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, VALID, FuzzReport, Garbage, expected, short, signature
from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
from wallboard.events import CallLost, Event

SOURCE = "ql"
Q = f"{VALID}-q"
PAUSE_CODES = {"almuerzo": "lunch"}
T0 = 1_773_129_500
ROUND = 1_000
_EVENTS = (
    "ENTERQUEUE",
    "CONNECT",
    "COMPLETEAGENT",
    "COMPLETECALLER",
    "ABANDON",
    "SYSCOMPAT",
    "EXITWITHTIMEOUT",
    "EXITEMPTY",
    "EXITWITHKEY",
    "WITHDRAW",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
    "TRANSFER",
    "ADDMEMBER",
    "REMOVEMEMBER",
    "PAUSE",
    "UNPAUSE",
    "PAUSEALL",
    "UNPAUSEALL",
    "AGENTLOGIN",
    "AGENTLOGOFF",
    "QUEUESTART",
    "RINGNOANSWER",
    "RINGCANCELED",
    "AGENTDUMP",
    "CONFIGRELOAD",
    "DID",
    "INFO",
    "connect",
    "",
)
_BAD_SECONDS = ("x", "-1", "-0.5", "²", "½", "1e3", "nan", "inf", " 5", "5 ", "1,5", "", FAKE_NUMBER + "x")
_BAD_TIMES = (
    "17731295xx",
    "177312950²",
    "12",
    "0",
    "-1773129500",
    "",
    " 1773129500",
    "4102444800",
    "9" * 40,
    "1773129500.5",
    FAKE_NUMBER,
)

Step = tuple[str, list[dict[str, Any]]]


def line(ts: int, callid: str, queue: str, agent: str, event: str, *data: Any) -> str:
    return "|".join((str(ts), callid, queue, agent, event, *(str(d) for d in data)))


def scenario(kind: int, k: int) -> list[Step]:
    """One valid story and the events of each line, by hand."""
    t, cid, agent = T0 + k * 100, f"{VALID}-{k}.1", f"Local/{VALID}-{k}@from-internal/n"
    queued = expected("call.queued", t, queue=Q, call_id=cid)
    enter = line(t, cid, Q, "NONE", "ENTERQUEUE", "", FAKE_NUMBER, 1, FAKE_NAME)
    if kind == 0:  # answered, completed; the member joins and leaves around it
        return [
            (line(t - 5, "NONE", Q, agent, "ADDMEMBER", ""), [expected("agent.login", t - 5, agent=agent, queue=Q)]),
            (enter, [queued]),
            (
                line(t + 10, cid, Q, agent, "CONNECT", 10, f"{cid}2", 3),
                [
                    expected("call.answered", t + 10, queue=Q, call_id=cid, agent=agent, wait_s=10),
                    expected("agent.state", t + 10, agent=agent, state="on_call", direction="inbound"),
                ],
            ),
            (
                line(t + 40, cid, Q, agent, "COMPLETECALLER", 10, 30, 1),
                [
                    expected("call.ended", t + 40, queue=Q, call_id=cid, agent=agent, talk_s=30),
                    expected("agent.state", t + 40, agent=agent, state="available"),
                ],
            ),
            (
                line(t + 50, "NONE", Q, agent, "REMOVEMEMBER", ""),
                [expected("agent.logout", t + 50, agent=agent, queue=Q)],
            ),
        ]
    if kind == 1:
        return [
            (enter, [queued]),
            (
                line(t + 9, cid, Q, "NONE", "ABANDON", 1, 1, 9),
                [expected("call.abandoned", t + 9, queue=Q, call_id=cid, wait_s=9)],
            ),
        ]
    if kind == 2:
        return [
            (enter, [queued]),
            (
                line(t + 30, cid, Q, "NONE", "EXITWITHTIMEOUT", 1, 1, 30),
                [expected("call.exited", t + 30, queue=Q, call_id=cid, wait_s=30, reason="timeout")],
            ),
        ]
    if kind == 3:
        return [
            (enter, [queued]),
            (
                line(t + 12, cid, Q, "NONE", "EXITWITHKEY", 5, 1, 1, 12),
                [expected("call.exited", t + 12, queue=Q, call_id=cid, wait_s=12, reason="exit_key")],
            ),
        ]
    return [  # a member pauses for lunch and comes back
        (line(t, "NONE", Q, agent, "ADDMEMBER", ""), [expected("agent.login", t, agent=agent, queue=Q)]),
        (
            line(t + 1, "NONE", Q, agent, "PAUSE", "Almuerzo"),
            [expected("agent.state", t + 1, agent=agent, state="not_ready", reason="lunch")],
        ),
        (
            line(t + 2, "NONE", Q, agent, "UNPAUSE", ""),
            [expected("agent.state", t + 2, agent=agent, state="available")],
        ),
        (line(t + 3, "NONE", Q, agent, "REMOVEMEMBER", ""), [expected("agent.logout", t + 3, agent=agent, queue=Q)]),
    ]


def known_bad(g: Garbage, text: str) -> str | None:
    """A copy of valid line ``text`` the translator must reject."""
    f = text.split("|")
    event = f[4]
    options = ["time", "cut"]
    if event not in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"):
        options.append("callid")
    if event in ("CONNECT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY"):
        options += ["seconds", "short"]
    if event in ("CONNECT", "COMPLETECALLER", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"):
        options.append("agent")
    if event not in ("PAUSE", "UNPAUSE"):
        options.append("queue")
    op = g.choice(options)
    if op == "time":
        f[0] = g.choice(_BAD_TIMES)
    elif op == "cut":
        f = f[: g.randint(1, 4)]
    elif op == "callid":
        f[1] = g.choice(("", "NONE"))
    elif op == "queue":
        f[2] = g.choice(("", "NONE"))
    elif op == "agent":
        f[3] = g.choice(("", "NONE"))
    elif op == "seconds":
        index = {"CONNECT": 5, "COMPLETECALLER": 6, "EXITWITHKEY": 8}.get(event, 7)
        f[index] = g.choice(_BAD_SECONDS)
    else:
        f = f[: {"CONNECT": 5, "COMPLETECALLER": 6, "EXITWITHKEY": 8}.get(event, 7)]
    return "|".join(f)


def garbage_line(g: Garbage, surrogates: bool) -> str:
    r = g.random()
    if r < 0.2:
        text = g.raw_bytes(120).decode("utf-8", "replace")
    elif r < 0.4:
        text = "|".join(g.value() for _ in range(g.randrange(12)))
    else:
        fields = [
            str(T0 + g.randrange(-(10**6), 10**6)),
            g.ident("c"),
            g.ident("q"),
            g.ident("a"),
            g.choice(_EVENTS),
        ] + [g.value() if g.random() < 0.3 else str(g.randrange(100)) for _ in range(g.randrange(7))]
        for _ in range(g.randrange(3)):
            i = g.randrange(len(fields))
            fields[i] = g.mutate_text(fields[i])
        text = "|".join(fields)
    if not surrogates:  # what a file can hold once decoded with errors="replace"
        text = text.encode("utf-8", "replace").decode()
    return text + g.choice(("", "\n", "\r\n", "\r"))


def _is_valid(e: Event) -> bool:
    return any(isinstance(v, str) and v.startswith(VALID) for v in (getattr(e, "queue", ""), getattr(e, "agent", "")))


def fuzz_lines(n: int = 10_000, seed: int = 0, *, surrogates: bool = False) -> FuzzReport:
    """``n`` lines (valid stories, known-bad copies, garbage) through QueueLogTranslator.feed."""
    report = FuzzReport("queue_log lines" + (" (with lone surrogates)" if surrogates else ""))
    g = Garbage(seed)
    k = 0
    while report.inputs < n:
        tr = QueueLogTranslator(SOURCE, {}, PAUSE_CODES)
        stop = report.inputs + min(ROUND, n - report.inputs)
        while report.inputs < stop:
            for text, want in scenario(g.randrange(5), k):
                for _ in range(g.randrange(6)):
                    _feed(tr, report, garbage_line(g, surrogates), expect="")
                bad = known_bad(g, text) if g.random() < 0.4 else None
                if bad is not None:
                    _feed(tr, report, bad, expect="rejected")
                got = [signature(e) for e in _feed(tr, report, text, expect="valid")]
                if got != want:
                    report.mismatches.append(f"{text!r} gave {got}, expected {want}")
            k += 1
    return report


def _feed(tr: QueueLogTranslator, report: FuzzReport, text: str, *, expect: str) -> list[Event]:
    report.inputs += 1
    before = tr.stats.malformed
    try:
        out = tr.feed(text, report.inputs)
    except Exception as exc:  # feed documents no exception: a bad line is counted in stats
        report.crash(text, exc)
        return []
    rejected = tr.stats.malformed - before
    report.rejected += rejected
    report.check_events(out, text)
    if rejected > 1 or (rejected and out):
        report.miscounts.append(f"{rejected} rejections and {len(out)} events for {short(text)}")
    if (
        rejected
        and tr.stats.last_error != f"line {report.inputs}: {tr.stats.errors[-1].reason}"
        and len(tr.stats.errors) < 50
    ):
        report.miscounts.append(f"rejection without its line number: {tr.stats.last_error!r}")
    if expect == "rejected":
        report.known_bad += 1
        if rejected != 1:
            report.miscounts.append(f"known bad gave {rejected} rejections and {len(out)} events: {short(text)}")
    elif expect == "valid":
        report.valid += 1
        if rejected:
            report.miscounts.append(f"valid line rejected ({tr.stats.last_error}): {text!r}")
    elif out:
        report.accepted_garbage += 1
    # A QUEUESTART is an Asterisk restart whatever else the line holds: it rightly says the valid
    # stories' waiting calls are lost (their outcome, if one is logged later, still counts).
    restart = text.rstrip("\r\n").split("|")[4:5] == ["QUEUESTART"]
    if expect != "valid" and any(_is_valid(e) and not (restart and isinstance(e, CallLost)) for e in out):
        report.mismatches.append(f"garbage gave events of a valid story: {short(text)}")
    return out
