"""Asterisk queue_log: lines ``epoch|callid|queue|agent|event|data…`` → typed events.

:class:`QueueLogTranslator` turns lines into events. It keeps a little state
(when each call entered, each member's pause and call) so it can emit agent
states and the wait of a ``SYSCOMPAT``; call state is keyed on queue + callid
because a call may re-enter another queue with the same callid.

Dirty input as real files have it: blank lines are skipped, duplicated lines
give events with the same id (the fold counts them once), unknown events
(``DID``, ``INFO``, dialplan ``QueueLog()``) are kept as opaque counts, and a
malformed line is counted with its line number and reason, never fatal.

Units: CONNECT/ABANDON/EXIT* waits are seconds; RINGNOANSWER/RINGCANCELED are
milliseconds and do not affect counts. queue_log knows no on-hold time: the
talk time it reports includes hold, so ``hold_s`` is 0 for this source.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

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

_MAX_ERRORS_KEPT = 50
_MAX_TRACKED_CALLS = 100_000


class QueueLogError(ValueError):
    """A line that cannot be understood; the message says why."""


@dataclass(slots=True)
class QueueLogStats:
    """What a run of lines contained."""

    lines: int = 0
    blank: int = 0
    events: int = 0
    malformed: int = 0
    by_event: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line number, reason, line)

    def reject(self, lineno: int, reason: str, line: str) -> None:
        self.malformed += 1
        if len(self.errors) < _MAX_ERRORS_KEPT:
            self.errors.append((lineno, reason, line[:200]))


@dataclass(slots=True)
class _Member:
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    shown: tuple[str, str] = ("", "")  # state and reason last emitted
    queues: set[str] = field(default_factory=set)


def _int(fields: list[str], index: int, name: str) -> int:
    try:
        text = fields[index]
    except IndexError:
        raise QueueLogError(f"missing data field {index - 4} ({name})") from None
    try:
        value = int(text)
    except ValueError:
        raise QueueLogError(f"{name} is not a whole number: {text!r}") from None
    if value < 0:
        raise QueueLogError(f"{name} is negative: {text!r}")
    return value


class QueueLogTranslator:
    """Stateful translation of queue_log lines into events for one source."""

    def __init__(self, source: str, agent_aliases: dict[str, str] | None = None,
                 pause_codes: dict[str, str] | None = None) -> None:
        self.source = source
        self.stats = QueueLogStats()
        self._aliases = agent_aliases or {}
        self._pause_codes = pause_codes or {}
        self._entered: dict[tuple[str, str], int] = {}
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
        if not line.strip():
            stats.blank += 1
            return []
        try:
            events = self._line(line)
        except QueueLogError as exc:
            stats.reject(lineno, str(exc), line)
            return []
        stats.events += len(events)
        return events

    # ----------------------------------------------------------- parsing

    def _line(self, line: str) -> list[Event]:
        f = line.split("|")
        if len(f) < 5:
            raise QueueLogError(f"expected at least 5 '|'-separated fields, found {len(f)}")
        epoch_text, callid, queue, member, name = f[0], f[1], f[2], f[3], f[4]
        if not epoch_text.isdigit():
            raise QueueLogError(f"time is not epoch seconds: {epoch_text[:20]!r}")
        ts = float(epoch_text)
        if not 946_684_800 <= ts < 4_102_444_800:
            raise QueueLogError(f"time out of range: {epoch_text}")
        if not name:
            raise QueueLogError("event name is empty")
        handler = _HANDLERS.get(name)
        if handler is None:
            self.stats.ignored[name] += 1
            return []
        self.stats.by_event[name] += 1
        base = f"{self.source}:{hashlib.blake2b(line.encode('utf-8', 'surrogateescape'), digest_size=9).hexdigest()}"
        return handler(self, _Line(base, ts, callid, queue, member, f))

    def _agent(self, member: str) -> str:
        return self._aliases.get(member, member)

    def _pause_code(self, text: str) -> str:
        return self._pause_codes.get(text.casefold(), text)

    def _state_events(self, line: _Line, agent: str, m: _Member, out: list[Event]) -> None:
        """Emit the member's derived state if it changed."""
        if m.in_call:
            state, reason = "on_call", ""
        elif m.paused:
            state, reason = "not_ready", m.reason
        else:
            state, reason = "available", ""
        if (state, reason) != m.shown:
            m.shown = (state, reason)
            out.append(AgentStateChanged(line.sub(len(out)), self.source, line.ts, agent, state, reason,
                                         "inbound" if state == "on_call" else ""))

    def _member(self, agent: str) -> _Member:
        m = self._members.get(agent)
        if m is None:
            m = self._members[agent] = _Member()
        return m

    def _ensure_member_of(self, line: _Line, agent: str, m: _Member, queue: str, out: list[Event]) -> None:
        if queue and queue != "NONE" and queue not in m.queues:
            m.queues.add(queue)
            out.append(AgentLogin(line.sub(len(out)), self.source, line.ts, agent, queue))

    def _remember_entry(self, key: tuple[str, str], ts: int) -> None:
        if len(self._entered) >= _MAX_TRACKED_CALLS:
            for old in list(self._entered)[: _MAX_TRACKED_CALLS // 10]:
                del self._entered[old]
        self._entered[key] = ts

    # ---------------------------------------------------------- handlers

    def _enterqueue(self, line: _Line) -> list[Event]:
        self._remember_entry((line.queue, line.callid), int(line.ts))
        return [CallQueued(line.base, self.source, line.ts, line.queue_required(), line.callid_required())]

    def _connect(self, line: _Line) -> list[Event]:
        wait = _int(line.f, 5, "holdtime")
        agent = self._agent(line.member_required())
        out: list[Event] = []
        m = self._member(agent)
        self._ensure_member_of(line, agent, m, line.queue, out)
        out.append(CallAnswered(line.sub(len(out)), self.source, line.ts, line.queue_required(),
                                line.callid_required(), agent, float(wait)))
        m.in_call = True
        self._state_events(line, agent, m, out)
        return out

    def _complete(self, line: _Line) -> list[Event]:
        talk = _int(line.f, 6, "talktime")
        return self._call_done(line, talk, None)

    def _transfer(self, line: _Line) -> list[Event]:
        # holdtime, talktime, orig_position are always the last three fields;
        # ATTENDEDTRANSFER has a variable number of method fields before them.
        if len(line.f) < 8:
            raise QueueLogError(f"{line.f[4]} needs holdtime, talktime and position, found {len(line.f) - 5} fields")
        talk = _int(line.f, len(line.f) - 2, "talktime")
        target = f"{line.f[5]}@{line.f[6]}" if line.f[4] in ("BLINDTRANSFER", "TRANSFER") else line.f[5]
        return self._call_done(line, talk, target)

    def _call_done(self, line: _Line, talk: int, target: str | None) -> list[Event]:
        agent = self._agent(line.member_required())
        queue, callid = line.queue_required(), line.callid_required()
        self._entered.pop((queue, callid), None)
        event: Event
        if target is None:
            event = CallEnded(line.base, self.source, line.ts, queue, callid, agent, float(talk))
        else:
            event = CallTransferred(line.base, self.source, line.ts, queue, callid, agent, float(talk), 0.0, target)
        out: list[Event] = [event]
        m = self._member(agent)
        m.in_call = False
        self._state_events(line, agent, m, out)
        return out

    def _abandon(self, line: _Line) -> list[Event]:
        wait = _int(line.f, 7, "waittime")
        self._entered.pop((line.queue, line.callid), None)
        return [CallAbandoned(line.base, self.source, line.ts, line.queue_required(), line.callid_required(),
                              float(wait))]

    def _syscompat(self, line: _Line) -> list[Event]:
        entered = self._entered.pop((line.queue, line.callid), None)
        wait = max(0.0, line.ts - entered) if entered is not None else 0.0
        return [CallAbandoned(line.base, self.source, line.ts, line.queue_required(), line.callid_required(), wait)]

    def _exit(self, line: _Line) -> list[Event]:
        name = line.f[4]
        reason, index = {
            "EXITWITHTIMEOUT": ("timeout", 7),
            "EXITEMPTY": ("empty", 7),
            "EXITWITHKEY": ("exit_key", 8),
            "WITHDRAW": ("withdraw", 7),
        }[name]
        wait = _int(line.f, index, "waittime")
        self._entered.pop((line.queue, line.callid), None)
        return [CallExited(line.base, self.source, line.ts, line.queue_required(), line.callid_required(),
                           float(wait), reason)]

    def _addmember(self, line: _Line) -> list[Event]:
        agent = self._agent(line.member_required())
        m = self._member(agent)
        out: list[Event] = []
        queue = line.queue_required()
        m.queues.add(queue)
        out.append(AgentLogin(line.base, self.source, line.ts, agent, queue))
        if len(line.f) > 5 and line.f[5].upper() == "PAUSED":
            m.paused, m.reason = True, ""
        if m.shown == ("", ""):
            m.shown = ("available", "")  # the fold makes a logged-in agent available
        self._state_events(line, agent, m, out)
        return out

    def _removemember(self, line: _Line) -> list[Event]:
        agent = self._agent(line.member_required())
        m = self._member(agent)
        queue = line.queue_required()
        m.queues.discard(queue)
        if not m.queues:
            m.shown = ("", "")
        return [AgentLogout(line.base, self.source, line.ts, agent, queue)]

    def _pause(self, line: _Line) -> list[Event]:
        agent = self._agent(line.member_required())
        m = self._member(agent)
        text = line.f[5] if len(line.f) > 5 else ""
        out: list[Event] = []
        if line.f[4] in ("PAUSE", "PAUSEALL"):
            m.paused, m.reason = True, self._pause_code(text) if text else ""
        else:
            m.paused, m.reason = False, ""
        if m.shown != ("", "") or m.queues:
            self._state_events(line, agent, m, out)
        else:
            # Paused before we saw it join (file starts mid-day): it is logged in.
            out.append(AgentLogin(line.sub(0), self.source, line.ts, agent, ""))
            m.shown = ("available", "")
            self._state_events(line, agent, m, out)
        return out

    def _agentlogin(self, line: _Line) -> list[Event]:
        agent = self._agent(line.member_required())
        m = self._member(agent)
        m.shown = ("available", "")
        return [AgentLogin(line.base, self.source, line.ts, agent, "")]

    def _agentlogoff(self, line: _Line) -> list[Event]:
        agent = self._agent(line.member_required())
        m = self._member(agent)
        m.queues.clear()
        m.in_call = m.paused = False
        m.shown = ("", "")
        return [AgentLogout(line.base, self.source, line.ts, agent, "")]

    def _queuestart(self, line: _Line) -> list[Event]:
        # Asterisk (re)started: calls it had waiting are gone, members are re-added.
        self._entered.clear()
        for m in self._members.values():
            m.in_call = False
        return [SourceReset(line.base, self.source, line.ts)]

    def _no_counts(self, line: _Line) -> list[Event]:
        return []


@dataclass(slots=True)
class _Line:
    base: str
    ts: float
    callid: str
    queue: str
    member: str
    f: list[str]

    def sub(self, n: int) -> str:
        """Id of the n-th event made from this line."""
        return self.base if n == 0 else f"{self.base}.{n}"

    def queue_required(self) -> str:
        if not self.queue or self.queue == "NONE":
            raise QueueLogError(f"{self.f[4]} without a queue")
        return self.queue

    def callid_required(self) -> str:
        if not self.callid or self.callid == "NONE":
            raise QueueLogError(f"{self.f[4]} without a call id")
        return self.callid

    def member_required(self) -> str:
        if not self.member or self.member == "NONE":
            raise QueueLogError(f"{self.f[4]} without a member")
        return self.member


_HANDLERS = {
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
