"""Asterisk queue_log: lines ``epoch|callid|queue|agent|event|data…`` → typed events.

:class:`QueueLogTranslator` turns lines into events. It keeps a little state
(when each call entered, each member's pause and call) so it can emit agent
states and the wait of a ``SYSCOMPAT``; call state is keyed on queue + callid
because a call may re-enter another queue with the same callid.

Dirty input as real files have it: blank lines are skipped, an entry or an
outcome of a call logged again (a duplicated line, or a re-log that differs in
a trailing field) counts once, unknown events (``DID``, ``INFO``, dialplan
``QueueLog()``) are kept as opaque counts, and a malformed line is counted
with its line number and reason, never fatal. Reasons never quote the line:
it holds caller numbers and member names.

Units: CONNECT/ABANDON/EXIT* waits are seconds (whole, or decimal as tools
that rewrite logs write them); RINGNOANSWER/RINGCANCELED are
milliseconds and do not affect counts. queue_log knows no on-hold time: the
talk time it reports includes hold, so ``hold_s`` is 0 for this source.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from wallboard.clock import day_start_at
from wallboard.collectors._tail import Line, Position, Tail, find_rotated
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallQueued,
    CallTransferred,
    Event,
    SourceReset,
)
from wallboard.wire import MAX_DURATION_S, MAX_TEXT

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

_MAX_ERRORS_KEPT = 50
_MAX_TRACKED_CALLS = 100_000
_CARRY_WAITING_S = 4 * 3600.0
_MAX_OPAQUE_NAMES = 100
#: Lines before this are refused: Asterisk's queue_log is younger, so a time before
#: 2000-01-01 is a PBX whose clock was wrong (often reset to 1970) or not a time at all.
MIN_EPOCH = 946_684_800
MAX_EPOCH = 4_102_444_800  # 2100-01-01
_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_DECIMAL = re.compile(r"(-?)[0-9]+(?:\.[0-9]+)?")


class QueueLogError(ValueError):
    """A line that cannot be understood; the message says why."""


class BadLine(NamedTuple):
    """A malformed line: where and why, never its text (it holds caller numbers and member names)."""

    lineno: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.reason}"


@dataclass(slots=True)
class QueueLogStats:
    """What a run of lines contained."""

    lines: int = 0
    blank: int = 0
    events: int = 0
    malformed: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    #: Opaque event names (anything not an upper-case word is counted under one placeholder).
    ignored: Counter[str] = field(default_factory=Counter)
    #: Lines that logged again an entry or outcome already counted, by event name.
    repeated: Counter[str] = field(default_factory=Counter)
    errors: list[BadLine] = field(default_factory=list)

    last_error: str = ""

    def reject(self, lineno: int, reason: str) -> None:
        self.malformed += 1
        bad = BadLine(lineno, reason)
        self.last_error = str(bad)
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append(bad)


class _Step(Enum):
    """What a line says happened to a call in a queue."""

    ENTERED = "entered"
    ANSWERED = "answered"
    LEFT = "left"  # unanswered: abandon, timeout, empty, key, withdraw
    ENDED = "ended"  # end of handling: complete or transfer


@dataclass(slots=True)
class _Call:
    """What the lines so far said about one call in one queue, to tell a re-log from a new fact."""

    entered: bool = False  # the latest entry was logged (False: it lies before the file)
    answered: bool = False  # … and was answered
    left: bool = False  # … and left the queue unanswered (abandon, timeout, …)
    open_answers: int = 0  # answers whose end of handling is still to come (of any entry)
    handled_seen: bool = False  # an answer or an end of handling was seen


@dataclass(slots=True)
class _Member:
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    shown: tuple[str, str] = ("", "")  # state and reason last emitted
    queues: set[str] = field(default_factory=set)


def _seconds(fields: list[str], index: int, name: str) -> float:
    """A duration field: whole seconds as Asterisk writes them, or decimal ("45.0", "12.5")."""
    try:
        text = fields[index]
    except IndexError:
        raise QueueLogError(f"{fields[4]}: missing data field {index - 4} ({name})") from None
    if text.isascii() and text.isdigit() and len(text) < 7:  # isdigit alone takes '²'; 6 digits: < 30 days
        return float(text)
    match = _DECIMAL.fullmatch(text)
    # The value is not quoted: a shifted or hand-made line may hold a caller number there.
    if match is None:
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is not a number of seconds")
    if match.group(1):
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is negative")
    seconds = float(text)
    if seconds > MAX_DURATION_S:
        raise QueueLogError(f"{fields[4]}: {name} (data field {index - 4}) is over 30 days")
    return seconds


class QueueLogTranslator:
    """Stateful translation of queue_log lines into events for one source."""

    def __init__(
        self,
        source: str,
        agent_aliases: dict[str, str] | None = None,
        pause_codes: dict[str, str] | None = None,
        *,
        hash_ids: bool = True,
        agent_events: bool = True,
    ) -> None:
        """``hash_ids=False`` uses the line itself as the event id (fastest, for in-process
        reports); ``agent_events=False`` leaves out agent events (for queue-only reports)."""
        self.source = source
        self._hash_ids = hash_ids
        self._handlers = _HANDLERS if agent_events else _CALL_HANDLERS
        self.stats = QueueLogStats()
        self._aliases = agent_aliases or {}
        self._pause_codes = pause_codes or {}
        self._entered: dict[tuple[str, str], float] = {}
        self._calls: dict[tuple[str, str], _Call] = {}
        self._members: dict[str, _Member] = {}

    # ------------------------------------------------------------ public

    def translate(self, lines: Iterable[str], first_lineno: int = 1) -> Iterator[Event]:
        """Events of many lines, counting bad ones in :attr:`stats`."""
        for lineno, line in enumerate(lines, first_lineno):
            yield from self.feed(line, lineno)

    def feed(self, line: str, lineno: int = 0) -> list[Event]:
        """Events of one line (``[]`` for a blank, ignored or malformed line)."""
        stats = self.stats
        stats.lines += 1
        line = line.rstrip("\r\n")
        if not line or line.isspace():
            stats.blank += 1
            return []
        f = line.split("|")
        try:
            if len(f) < 5:
                raise QueueLogError(f"expected at least 5 '|'-separated fields, found {len(f)}")
            epoch_text, name = f[0], f[4]
            # Times are not quoted either: the first field of a cut line can be a caller number.
            if not (epoch_text.isascii() and epoch_text.isdigit()):  # isdigit alone takes '²'
                raise QueueLogError("time (field 1) is not whole epoch seconds")
            ts = float(epoch_text)
            if ts < MIN_EPOCH:
                year = time.gmtime(ts).tm_year
                raise QueueLogError(
                    f"time is in {year}, before 2000-01-01: the PBX clock was wrong when it "
                    f"was written (or field 1 is not a time)"
                )
            if ts >= MAX_EPOCH:
                raise QueueLogError("time is after 2100-01-01: field 1 is not epoch seconds")
            handler = self._handlers.get(name)
            if handler is None:
                if not name:
                    raise QueueLogError("event name is empty")
                self._opaque(name)
                return []
            by_event = stats.by_event
            by_event[name] = by_event.get(name, 0) + 1
            if self._hash_ids:
                # surrogatepass: a lone surrogate (only from a caller's str, never from a file
                # decoded with errors="replace") must not crash the hash.
                digest = hashlib.blake2b(line.encode("utf-8", "surrogatepass"), digest_size=9).hexdigest()
                base = f"{self.source}:{digest}"
            else:
                base = line
            events = handler(self, base, ts, f)
        except QueueLogError as exc:
            stats.reject(lineno, str(exc))
            return []
        stats.events += len(events)
        return events

    def carry_over(self, ts: float) -> list[Event]:
        """What the lines so far leave standing, as events at ``ts``: members logged in to
        their queues in their current state, and calls still waiting (at their entry time).

        For a board that starts reading at ``ts`` (the day start) without the lines
        before it: an agent who logged in yesterday evening is still logged in today."""
        out: list[Event] = []
        base = f"{self.source}:carry:{int(ts)}"
        for agent, m in sorted(self._members.items()):
            for queue in sorted(m.queues):
                out.append(AgentLogin(f"{base}:{agent}:{queue}", self.source, ts, agent, queue))
            if m.shown != ("", ""):
                state, reason = m.shown
                out.append(
                    AgentStateChanged(
                        f"{base}:{agent}",
                        self.source,
                        ts,
                        agent,
                        state,
                        reason,
                        "inbound" if state == "on_call" else "",
                    )
                )
        for (queue, callid), entered in self._entered.items():
            if ts - _CARRY_WAITING_S <= entered < ts:  # older: its outcome is in a lost line
                out.append(CallQueued(f"{base}:{queue}:{callid}", self.source, entered, queue, callid))
        return out

    def _agent(self, f: list[str]) -> str:
        member = f[3]
        if not member or member == "NONE":
            raise QueueLogError(f"{f[4]} without a member")
        agent = self._aliases.get(member, member)
        if len(agent) > MAX_TEXT:
            raise QueueLogError(f"{f[4]}: member name longer than {MAX_TEXT} characters")
        return agent

    def _pause_code(self, text: str) -> str:
        # An unmapped pause text is shown as the reason: cut to what an event may carry.
        return self._pause_codes.get(text.casefold(), text[:MAX_TEXT])

    def _state_events(self, base: str, ts: float, agent: str, m: _Member, out: list[Event]) -> None:
        """Emit the member's derived state if it changed."""
        if m.in_call:
            state, reason = "on_call", ""
        elif m.paused:
            state, reason = "not_ready", m.reason
        else:
            state, reason = "available", ""
        if (state, reason) != m.shown:
            m.shown = (state, reason)
            out.append(
                AgentStateChanged(
                    _sub(base, len(out)), self.source, ts, agent, state, reason, "inbound" if state == "on_call" else ""
                )
            )

    def _member(self, agent: str) -> _Member:
        m = self._members.get(agent)
        if m is None:
            m = self._members[agent] = _Member()
        return m

    def _ensure_member_of(self, base: str, ts: float, agent: str, m: _Member, queue: str, out: list[Event]) -> None:
        if queue and queue != "NONE" and queue not in m.queues:
            m.queues.add(queue)
            out.append(AgentLogin(_sub(base, len(out)), self.source, ts, agent, queue))

    def _opaque(self, name: str) -> None:
        ignored = self.stats.ignored
        if not _EVENT_NAME.fullmatch(name):  # the field of a shifted line: maybe a number or a name
            name = "(not an upper-case word)"
        elif name not in ignored and len(ignored) >= _MAX_OPAQUE_NAMES:
            name = "(other names)"
        ignored[name] += 1

    def _claim(self, f: list[str], queue: str, callid: str, what: _Step) -> bool:
        """True if the line is the first to log this entry or outcome of the call in the queue.

        Asterisk logs some outcomes more than once, the later line differing in a
        trailing field (``COMPLETEAGENT|12|180`` then ``COMPLETEAGENT|12|180|1``);
        by line they would be two handlings. Here a repeat gives no event at all
        (counted in ``stats.repeated``), so it neither counts nor moves the member's
        state, even if it comes after the member's next call. The first line wins:
        a live board has counted it the moment it was read and the fold only adds,
        so a later line could only change the report, and the report and the board
        would disagree. In tests/data/queue_log_relogged.txt three calls talk 180, 240
        and 300 s and are logged by 3, 2 and 1 COMPLETE* lines: handled 3, AHT
        (180 + 240 + 300) / 3 = 240 s, not handled 6, AHT 1320 / 6 = 220 s. The ids
        stay those of the lines (not of the call), so a restart that re-sends lines
        gives the same ids; a genuine second time (the call timed out, the dialplan
        put it in the same queue again) follows a new ENTERQUEUE and counts again.
        """
        key = (queue, callid)
        call = self._calls.get(key)
        if call is None:
            if len(self._calls) >= _MAX_TRACKED_CALLS:
                for old in list(self._calls)[: _MAX_TRACKED_CALLS // 10]:
                    del self._calls[old]
            call = self._calls[key] = _Call()
        if what is _Step.ENTERED:  # a new entry only once the last one has an outcome
            new = not call.entered or call.answered or call.left
            if new:
                call.entered, call.answered, call.left = True, False, False
        elif what is _Step.ANSWERED:
            new = not call.answered
            if new:
                call.answered, call.handled_seen = True, True
                call.open_answers += 1
        elif what is _Step.LEFT:
            new = not call.left
            call.left = True
        else:  # ended: one per answer (or one for an answer before the file)
            new = call.open_answers > 0 or not call.handled_seen
            if new:
                call.open_answers = max(0, call.open_answers - 1)
                call.handled_seen = True
        if not new:
            self.stats.repeated[f[4]] += 1
        return new

    def _remember_entry(self, key: tuple[str, str], ts: float) -> None:
        if len(self._entered) >= _MAX_TRACKED_CALLS:
            for old in list(self._entered)[: _MAX_TRACKED_CALLS // 10]:
                del self._entered[old]
        self._entered[key] = ts

    # ---------------------------------------------------------- handlers
    # Each takes the event id base, the time and the line's fields.

    def _enterqueue(self, base: str, ts: float, f: list[str]) -> list[Event]:
        queue, callid = _queue(f), _callid(f)
        if not self._claim(f, queue, callid, _Step.ENTERED):
            return []
        self._remember_entry((queue, callid), ts)
        return [CallQueued(base, self.source, ts, queue, callid)]

    def _connect(self, base: str, ts: float, f: list[str]) -> list[Event]:
        wait = _seconds(f, 5, "holdtime")
        queue, callid, agent = _queue(f), _callid(f), self._agent(f)
        if not self._claim(f, queue, callid, _Step.ANSWERED):
            return []
        out: list[Event] = []
        m = self._member(agent)
        self._ensure_member_of(base, ts, agent, m, queue, out)
        out.append(CallAnswered(_sub(base, len(out)), self.source, ts, queue, callid, agent, wait))
        m.in_call = True
        self._state_events(base, ts, agent, m, out)
        return out

    def _complete(self, base: str, ts: float, f: list[str]) -> list[Event]:
        return self._call_done(base, ts, f, _seconds(f, 6, "talktime"), None)

    def _transfer(self, base: str, ts: float, f: list[str]) -> list[Event]:
        # holdtime, talktime, orig_position are always the last three fields;
        # ATTENDEDTRANSFER has a variable number of method fields before them.
        if len(f) < 8:
            raise QueueLogError(f"{f[4]} needs holdtime, talktime and position, found {len(f) - 5} fields")
        talk = _seconds(f, len(f) - 2, "talktime")
        target = f"{f[5]}@{f[6]}" if f[4] in ("BLINDTRANSFER", "TRANSFER") else f[5]
        return self._call_done(base, ts, f, talk, target[:MAX_TEXT])  # where it went: informative, cut

    def _call_done(self, base: str, ts: float, f: list[str], talk: float, target: str | None) -> list[Event]:
        queue, callid, agent = _queue(f), _callid(f), self._agent(f)
        if not self._claim(f, queue, callid, _Step.ENDED):
            return []
        self._entered.pop((queue, callid), None)
        event: Event
        if target is None:
            event = CallEnded(base, self.source, ts, queue, callid, agent, talk)
        else:
            event = CallTransferred(base, self.source, ts, queue, callid, agent, talk, 0.0, target)
        out: list[Event] = [event]
        m = self._member(agent)
        m.in_call = False
        self._state_events(base, ts, agent, m, out)
        return out

    def _abandon(self, base: str, ts: float, f: list[str]) -> list[Event]:
        wait = _seconds(f, 7, "waittime")
        queue, callid = _queue(f), _callid(f)
        if not self._claim(f, queue, callid, _Step.LEFT):
            return []
        self._entered.pop((queue, callid), None)
        return [CallAbandoned(base, self.source, ts, queue, callid, wait)]

    def _syscompat(self, base: str, ts: float, f: list[str]) -> list[Event]:
        queue, callid = _queue(f), _callid(f)
        if not self._claim(f, queue, callid, _Step.LEFT):
            return []
        entered = self._entered.pop((queue, callid), None)
        wait = max(0.0, ts - entered) if entered is not None else 0.0
        return [CallAbandoned(base, self.source, ts, queue, callid, wait)]

    def _exit(self, base: str, ts: float, f: list[str]) -> list[Event]:
        reason, index = _EXITS[f[4]]
        wait = _seconds(f, index, "waittime")
        queue, callid = _queue(f), _callid(f)
        if not self._claim(f, queue, callid, _Step.LEFT):
            return []
        self._entered.pop((queue, callid), None)
        return [CallExited(base, self.source, ts, queue, callid, wait, reason)]

    def _addmember(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent, queue = self._agent(f), _queue(f)
        m = self._member(agent)
        m.queues.add(queue)
        out: list[Event] = [AgentLogin(base, self.source, ts, agent, queue)]
        if len(f) > 5 and f[5].upper() == "PAUSED":
            m.paused, m.reason = True, ""
        if m.shown == ("", ""):
            m.shown = ("available", "")  # the fold makes a logged-in agent available
        self._state_events(base, ts, agent, m, out)
        return out

    def _removemember(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent, queue = self._agent(f), _queue(f)
        m = self._member(agent)
        m.queues.discard(queue)
        if not m.queues:
            m.shown = ("", "")
        return [AgentLogout(base, self.source, ts, agent, queue)]

    def _pause(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent = self._agent(f)
        m = self._member(agent)
        text = f[5] if len(f) > 5 else ""
        out: list[Event] = []
        if f[4] in ("PAUSE", "PAUSEALL"):
            m.paused, m.reason = True, self._pause_code(text) if text else ""
        else:
            m.paused, m.reason = False, ""
        if m.shown == ("", "") and not m.queues:
            # Paused before we saw it join (the file starts mid-day): it is logged in.
            out.append(AgentLogin(base, self.source, ts, agent, ""))
            m.shown = ("available", "")
        self._state_events(base, ts, agent, m, out)
        return out

    def _agentlogin(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent = self._agent(f)
        self._member(agent).shown = ("available", "")
        return [AgentLogin(base, self.source, ts, agent, "")]

    def _agentlogoff(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent = self._agent(f)
        m = self._member(agent)
        m.queues.clear()
        m.in_call = m.paused = False
        m.shown = ("", "")
        return [AgentLogout(base, self.source, ts, agent, "")]

    def _queuestart(self, base: str, ts: float, f: list[str]) -> list[Event]:
        # Asterisk (re)started: calls it had waiting are gone, members are re-added.
        self._entered.clear()
        self._calls.clear()
        for m in self._members.values():
            m.in_call = False
        return [SourceReset(base, self.source, ts)]

    def _no_counts(self, base: str, ts: float, f: list[str]) -> list[Event]:
        return []


def _sub(base: str, n: int) -> str:
    """Id of the n-th event made from one line."""
    return base if n == 0 else f"{base}.{n}"


def _queue(f: list[str]) -> str:
    queue = f[2]
    if not queue or queue == "NONE":
        raise QueueLogError(f"{f[4]} without a queue")
    if len(queue) > MAX_TEXT:
        raise QueueLogError(f"{f[4]}: queue name longer than {MAX_TEXT} characters")
    return queue


def _callid(f: list[str]) -> str:
    callid = f[1]
    if not callid or callid == "NONE":
        raise QueueLogError(f"{f[4]} without a call id")
    if len(callid) > MAX_TEXT:
        raise QueueLogError(f"{f[4]}: call id longer than {MAX_TEXT} characters")
    return callid


_EXITS = {
    "EXITWITHTIMEOUT": ("timeout", 7),
    "EXITEMPTY": ("empty", 7),
    "EXITWITHKEY": ("exit_key", 8),
    "WITHDRAW": ("withdraw", 7),
}


def _connect_call_only(self: QueueLogTranslator, base: str, ts: float, f: list[str]) -> list[Event]:
    wait = _seconds(f, 5, "holdtime")
    queue, callid, agent = _queue(f), _callid(f), self._agent(f)
    if not self._claim(f, queue, callid, _Step.ANSWERED):
        return []
    return [CallAnswered(base, self.source, ts, queue, callid, agent, wait)]


def _complete_call_only(self: QueueLogTranslator, base: str, ts: float, f: list[str]) -> list[Event]:
    talk = _seconds(f, 6, "talktime")
    queue, callid, agent = _queue(f), _callid(f), self._agent(f)
    if not self._claim(f, queue, callid, _Step.ENDED):
        return []
    self._entered.pop((queue, callid), None)  # as _call_done does: the call is over
    return [CallEnded(base, self.source, ts, queue, callid, agent, talk)]


def _transfer_call_only(self: QueueLogTranslator, base: str, ts: float, f: list[str]) -> list[Event]:
    return self._transfer(base, ts, f)[:1]


# Lines whose events are about agents only, and the call part of those that carry both.
_AGENT_ONLY = {
    "ADDMEMBER",
    "REMOVEMEMBER",
    "PAUSE",
    "UNPAUSE",
    "PAUSEALL",
    "UNPAUSEALL",
    "AGENTLOGIN",
    "AGENTCALLBACKLOGIN",
    "AGENTLOGOFF",
    "AGENTCALLBACKLOGOFF",
    "CONNECT",
    "COMPLETEAGENT",
    "COMPLETECALLER",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
    "TRANSFER",
}
_CALL_PART = {
    "CONNECT": _connect_call_only,
    "COMPLETEAGENT": _complete_call_only,
    "COMPLETECALLER": _complete_call_only,
    "BLINDTRANSFER": _transfer_call_only,
    "ATTENDEDTRANSFER": _transfer_call_only,
    "TRANSFER": _transfer_call_only,
}

_Handler = Callable[[QueueLogTranslator, str, float, list[str]], list[Event]]
_HANDLERS: dict[str, _Handler] = {
    "ENTERQUEUE": QueueLogTranslator._enterqueue,
    "CONNECT": QueueLogTranslator._connect,
    "COMPLETEAGENT": QueueLogTranslator._complete,
    "COMPLETECALLER": QueueLogTranslator._complete,
    "ABANDON": QueueLogTranslator._abandon,
    "SYSCOMPAT": QueueLogTranslator._syscompat,
    "EXITWITHTIMEOUT": QueueLogTranslator._exit,
    "EXITEMPTY": QueueLogTranslator._exit,
    "EXITWITHKEY": QueueLogTranslator._exit,
    "WITHDRAW": QueueLogTranslator._exit,
    "BLINDTRANSFER": QueueLogTranslator._transfer,
    "ATTENDEDTRANSFER": QueueLogTranslator._transfer,
    "TRANSFER": QueueLogTranslator._transfer,
    "ADDMEMBER": QueueLogTranslator._addmember,
    "REMOVEMEMBER": QueueLogTranslator._removemember,
    "PAUSE": QueueLogTranslator._pause,
    "UNPAUSE": QueueLogTranslator._pause,
    "PAUSEALL": QueueLogTranslator._pause,
    "UNPAUSEALL": QueueLogTranslator._pause,
    "AGENTLOGIN": QueueLogTranslator._agentlogin,
    "AGENTCALLBACKLOGIN": QueueLogTranslator._agentlogin,
    "AGENTLOGOFF": QueueLogTranslator._agentlogoff,
    "AGENTCALLBACKLOGOFF": QueueLogTranslator._agentlogoff,
    "QUEUESTART": QueueLogTranslator._queuestart,
    "RINGNOANSWER": QueueLogTranslator._no_counts,
    "RINGCANCELED": QueueLogTranslator._no_counts,
    "AGENTDUMP": QueueLogTranslator._no_counts,
    "CONFIGRELOAD": QueueLogTranslator._no_counts,
}
#: Without agent events: the call part of the lines that carry both, nothing from agent-only ones.
_CALL_HANDLERS: dict[str, _Handler] = {
    name: _CALL_PART.get(name, QueueLogTranslator._no_counts) if name in _AGENT_ONLY else handler
    for name, handler in _HANDLERS.items()
}


# ------------------------------------------------------------ the live tail


class Options(BaseModel):
    """``options:`` of an ``asterisk_queue_log`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    #: On the first start, emit today's lines already in the file (else start at its end).
    load_today: bool = True
    poll_s: float = Field(default=0.1, gt=0, le=10)
    max_line_bytes: int = Field(default=64 * 1024, ge=256)
    batch_lines: int = Field(default=5_000, ge=1)
    #: After logrotate renames the file, how long the old one is still read once quiet
    #: (Asterisk writes to it until its logger reloads, in logrotate's postrotate).
    rotate_grace_s: float = Field(default=30.0, ge=0, le=3600)


async def run(ctx: CollectorContext[Options]) -> None:
    """Follow the queue_log file: resume from the stored position, emit new lines as they land."""
    options = ctx.options
    config = ctx.config
    path = options.path if options.path.is_absolute() else config.base_dir / options.path
    follower = _Follower(ctx, options, path)
    try:
        await follower.start()
        while True:
            await follower.poll()
            await ctx.heartbeat()
            await asyncio.sleep(options.poll_s)
    finally:
        follower.close()


def _epoch(line: str) -> float:
    """The time of a queue_log line (-1 if it has none: such a line is sent with its neighbours)."""
    head = line[:12].partition("|")[0]
    return float(head) if head.isascii() and head.isdigit() else -1.0


class _Follower:
    """The tail of one queue_log for one collector: translation, emission, position.

    The stored cursor holds the position in the file followed (``position``),
    in the file it replaced while that one may still be written to
    (``previous``), and, during a first start's load, the time from which
    lines are sent (``emit_from``), so a restart at any point continues
    exactly where the last stored batch ended.
    """

    def __init__(self, ctx: CollectorContext[Options], options: Options, path: Path) -> None:
        self.ctx = ctx
        self.options = options
        self.path = path
        self.translator = QueueLogTranslator(ctx.source, ctx.config.agent_aliases(), ctx.config.pause_reason_codes())
        self.tail = Tail(path, options.max_line_bytes)
        #: After a rename, the old file: Asterisk writes to it until its logger reloads.
        self.previous: Tail | None = None
        self._previous_active = 0.0
        self.emit_from: float | None = None  # while loading: events before this are not sent
        self._malformed = 0

    def close(self) -> None:
        self.tail.close()
        if self.previous is not None:
            self.previous.close()

    async def start(self) -> None:
        ctx, tail = self.ctx, self.tail
        while not tail.open():
            ctx.set_connected(False, f"{self.path}: no such file (waiting for it)")
            await ctx.heartbeat()
            await asyncio.sleep(self.options.poll_s)
        ctx.set_connected(True)
        cursor = await ctx.load_cursor()
        saved = Position.from_dict(cursor.get("position") or {})
        previous = Position.from_dict(cursor.get("previous") or {})
        emit_from = cursor.get("emit_from")
        self.emit_from = float(emit_from) if isinstance(emit_from, (int, float)) else None
        if previous is not None:  # stopped while the file it replaced could still grow: follow it on
            await self._finish_rotated(previous, replay=True, keep=True)
        if (
            saved is not None
            and (saved.dev, saved.inode) == (tail.dev, tail.inode)
            and saved.head in ("", tail.head)
            and tail.size() >= saved.offset
        ):
            ctx.log.info("resuming %s at byte %d (line %d)", self.path, saved.offset, saved.lineno)
            await self._replay(tail, saved.offset)
            await self._send([], tail)
            return
        if saved is not None:  # rotated while we were away: finish the old file first, and follow it on
            await self._finish_rotated(saved, replay=True, keep=True)
            await self._send([], tail)  # (the new file, opened above, is read from its start)
            await self._drain(tail)
            return
        if self.options.load_today:
            self.emit_from = day_start_at(time.time(), ctx.config.zone, ctx.config.day_start_time)
            ctx.log.info("first start: loading today's lines of %s", self.path)
        else:
            self.emit_from = float("inf")
            ctx.log.info("first start: reading %s to its end without sending (load_today is off)", self.path)
        await self._drain(tail)
        if self.emit_from is not None:  # nothing in the file was from today
            carried = self.translator.carry_over(min(self.emit_from, time.time()))
            self.emit_from = None
            await self._send(carried, tail)

    async def _finish_rotated(self, pos: Position, *, replay: bool, keep: bool = False) -> None:
        """Send the rest of the file ``pos`` was taken in, found next to the path after a rotation.

        With ``keep`` the old file stays followed as :attr:`previous` for ``rotate_grace_s``, as it
        would have been had the collector not stopped: Asterisk writes to it until its logger reloads.
        """
        old_path = find_rotated(self.path, pos)
        if old_path is None:
            self.ctx.log.warning(
                "%s was rotated while the collector was stopped and the old file (byte %d on) is "
                "not next to it any more (compressed at once? use delaycompress): its last lines "
                "are missed",
                self.path,
                pos.offset,
            )
            return
        self.ctx.log.info("finishing the rotated %s from byte %d", old_path, pos.offset)
        old = Tail(old_path, self.options.max_line_bytes)
        if not (old.open() if replay else old.open(pos.offset, pos.lineno)):
            return
        try:
            if replay:
                await self._replay(old, pos.offset)
            await self._drain(old, save=False)
        except BaseException:
            old.close()
            raise
        if not keep:
            old.close()
            return
        if self.previous is not None:
            self.previous.close()
        self.previous, self._previous_active = old, time.monotonic()

    async def _replay(self, tail: Tail, upto: int) -> None:
        """Read ``tail`` up to ``upto`` for the translator's state only: these lines were sent before."""
        translator = self.translator
        saved_stats = translator.stats
        translator.stats = QueueLogStats()
        while True:
            at = tail.offset + tail.unfinished()  # where the file is read next
            if at >= upto:
                break
            lines = tail.read(min(1 << 20, upto - at))
            if lines is None:
                break
            for line in lines:
                translator.feed(line.text, line.lineno)
            await asyncio.sleep(0)
        translator.stats = saved_stats
        tail.problems.clear()

    async def _drain(self, tail: Tail, *, save: bool = True) -> None:
        while await self._step(tail, save=save):
            pass

    async def _step(self, tail: Tail, *, save: bool = True) -> bool:
        """Send what one read of ``tail`` gives; False at the end of the file."""
        lines = tail.read()
        for problem in tail.problems:
            self.ctx.reject(f"{tail.path}: {problem}")
        tail.problems.clear()
        if lines is None:
            return False
        translator, stats = self.translator, self.translator.stats
        batch: list[Event] = []
        for line in lines:
            if self.emit_from is not None and _epoch(line.text) >= self.emit_from:
                # the first line of the window: first what the earlier lines left standing
                batch.extend(translator.carry_over(self.emit_from))
                self.emit_from = None
            events = translator.feed(line.text, line.lineno)
            if stats.malformed != self._malformed:
                self._malformed = stats.malformed
                self.ctx.reject(f"{tail.path}: {stats.last_error}")
            if self.emit_from is None:
                batch.extend(events)
            if len(batch) >= self.options.batch_lines:
                await self._send(batch, tail, line, save=save)
                batch = []
        await self._send(batch, tail, save=save)
        return True

    async def _send(self, events: list[Event], tail: Tail, last: Line | None = None, *, save: bool = True) -> None:
        """Emit, then store where every file stands (``tail`` just past ``last``, or all it read)."""
        if events:
            await self.ctx.emit(events)
        if not save:
            return
        cursor: dict[str, object] = {"emit_from": self.emit_from}
        for key, t in (("position", self.tail), ("previous", self.previous)):
            if t is None or not t.is_open:
                continue
            pos = t.position()
            if t is tail and last is not None:
                pos.offset, pos.lineno = last.end, last.lineno
            cursor[key] = pos.as_dict()
        await self.ctx.save_cursor(cursor)

    async def poll(self) -> None:
        """Send new complete lines; switch files after a rotation."""
        if self.previous is not None:
            await self._poll_previous()
        tail = self.tail
        if not tail.is_open and not tail.open():
            return  # rotated away and not re-created yet
        how = tail.rotation()  # before reading: a truncated file must not be read at the old offset
        if how == "truncated":
            await self._truncated()
        elif how == "renamed":
            await self._drain(tail)
            self.ctx.log.info(
                "%s was rotated (renamed): following the new file, and the old one for %g s more",
                self.path,
                self.options.rotate_grace_s,
            )
            self.previous, self._previous_active = tail, time.monotonic()
            self.tail = Tail(self.path, self.options.max_line_bytes)
            if self.tail.open():
                await self._send([], self.tail)
                await self._drain(self.tail)
        else:
            await self._step(tail)

    async def _poll_previous(self) -> None:
        """Read what Asterisk still wrote to the renamed file; let it go once quiet for the grace."""
        previous = self.previous
        assert previous is not None
        if await self._step(previous):
            self._previous_active = time.monotonic()
            return
        if time.monotonic() - self._previous_active < self.options.rotate_grace_s:
            return
        if previous.unfinished():
            self.ctx.reject(f"{previous.path}: its last line never ended ({previous.unfinished()} bytes dropped)")
        previous.close()
        self.previous = None
        await self._send([], self.tail)

    async def _truncated(self) -> None:
        """copytruncate: the lines written just before the truncation are in the copy next to it."""
        tail = self.tail
        saved = tail.position()
        copy = find_rotated(self.path, saved)
        if copy is not None and copy.stat().st_size > saved.offset:
            old = Tail(copy, self.options.max_line_bytes)
            if old.open(saved.offset, saved.lineno):
                self.ctx.log.info(
                    "%s was copied to %s and truncated: reading its last %d bytes there",
                    self.path,
                    copy,
                    copy.stat().st_size - saved.offset,
                )
                try:
                    await self._drain(old, save=False)
                finally:
                    old.close()
        elif tail.unfinished():
            self.ctx.reject(
                f"{tail.path}: last line before the truncation never ended ({tail.unfinished()} bytes dropped)"
            )
        self.ctx.log.info("%s was rotated (truncated): reading it from the start", self.path)
        if tail.open():
            await self._send([], tail)
