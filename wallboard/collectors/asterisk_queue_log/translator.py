"""Asterisk queue_log lines in, typed events out: :class:`QueueLogTranslator`, pure (no I/O).

It keeps a little state, so that it can emit agent states and the wait of a
``SYSCOMPAT``: when each call entered and which of its facts were logged
already (:mod:`.calls`), and each member's queues, pauses and call
(:mod:`.members`, where the rules for the one state the board shows of an
agent are, with what queue_log cannot know).

Dirty input as real files have it: blank lines are skipped, an entry or an
outcome of a call logged again (a duplicated line, or a re-log that differs in
a trailing field) counts once, unknown events (``DID``, ``INFO``, dialplan
``QueueLog()``) are kept as opaque counts, and a malformed line is counted
with its line number and reason, never fatal (:mod:`.lines`).

RINGNOANSWER/RINGCANCELED (milliseconds) count nothing; they show the member
ringing after the fact (:mod:`.members`). queue_log knows no on-hold time: the
talk time it reports includes hold, so ``hold_s`` is 0 for this source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping

from wallboard.collectors.asterisk_queue_log.calls import Calls, Step
from wallboard.collectors.asterisk_queue_log.lines import (
    QueueLogError,
    QueueLogStats,
    agent_of,
    callid_of,
    event_id,
    milliseconds,
    queue_of,
    seconds,
    split,
)
from wallboard.collectors.asterisk_queue_log.members import Members
from wallboard.collectors.common.callids import call_event_id
from wallboard.collectors.common.names import alias, pause_code
from wallboard.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallLost,
    CallQueued,
    CallTransferred,
    Event,
    SourceReset,
)
from wallboard.wire import MAX_TEXT


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
        static_members: Mapping[str, Iterable[str]] | None = None,
        system: str = "",
    ) -> None:
        """``hash_ids=False`` uses the line itself as the event id (fastest, for in-process
        reports); ``agent_events=False`` leaves out agent events (for queue-only reports);
        ``static_members`` maps a queue to its members as queues.conf names them (interface or
        member name, through the agents' aliases): they are in it from the start. ``system``: the
        PBX's name shared with its AMI collector: call events then get ids from the call, not the
        line (see :mod:`wallboard.collectors.common.callids`), so a call reported by both counts once."""
        self.source = source
        self._system = system
        self._hash_ids = hash_ids
        self._handlers = _HANDLERS if agent_events else _CALL_HANDLERS
        self.stats = QueueLogStats()
        self._aliases = agent_aliases or {}
        self._pause_codes = pause_codes or {}
        self._calls = Calls()
        static: dict[str, set[str]] = {}
        for queue, names in (static_members or {}).items():
            for name in names:
                static.setdefault(alias(self._aliases, name) or name, set()).add(queue)
        self._members = Members(source, static)
        #: The time of the newest line read.
        self.last_ts = 0.0

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
        try:
            ts, f = split(line)
            if ts > self.last_ts:
                self.last_ts = ts
            name = f[4]
            handler = self._handlers.get(name)
            if handler is None:
                if not name:
                    raise QueueLogError("event name is empty")
                stats.opaque(name)
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
        base = f"{self.source}:carry:{int(ts)}"
        out = self._members.carry_over(base, ts)
        for q, call, entered in self._calls.waiting(ts):
            out.append(CallQueued(self._call_id(f"{base}:{q}:{call}", q, call, "join"), self.source, entered, q, call))
        return out

    def static_standing(self, ts: float) -> list[Event]:
        """The static members' queues and state as the lines so far leave them, as events at ``ts``:
        for a board that may not have them yet (sent again, they move nothing)."""
        return self._members.static_standing(f"{self.source}:static:{int(ts)}", ts)

    # ---------------------------------------------------------- handlers
    # Each takes the event id base, the time and the line's fields.

    def _enterqueue(self, base: str, ts: float, f: list[str]) -> list[Event]:
        q, call = queue_of(f), callid_of(f)
        if not self._claim(f, q, call, Step.ENTERED):
            return []
        self._calls.enter(q, call, ts)
        return [CallQueued(self._call_id(base, q, call, "join"), self.source, ts, q, call)]

    def _connect(self, base: str, ts: float, f: list[str]) -> list[Event]:
        wait = seconds(f, 5, "holdtime")
        q, call, agent = queue_of(f), callid_of(f), agent_of(f, self._aliases)
        if not self._claim(f, q, call, Step.ANSWERED):
            return []
        out: list[Event] = []
        self._members.join(base, ts, agent, q, out)
        answer_id = self._call_id(event_id(base, len(out)), q, call, "answer")
        out.append(CallAnswered(answer_id, self.source, ts, q, call, agent, wait))
        self._members.answered(base, ts, agent, out)
        return out

    def _complete(self, base: str, ts: float, f: list[str]) -> list[Event]:
        return self._call_done(base, ts, f, seconds(f, 6, "talktime"), None)

    def _transfer(self, base: str, ts: float, f: list[str]) -> list[Event]:
        # holdtime, talktime, orig_position are always the last three fields;
        # ATTENDEDTRANSFER has a variable number of method fields before them.
        if len(f) < 8:
            raise QueueLogError(f"{f[4]} needs holdtime, talktime and position, found {len(f) - 5} fields")
        talk = seconds(f, len(f) - 2, "talktime")
        target = f"{f[5]}@{f[6]}" if f[4] in ("BLINDTRANSFER", "TRANSFER") else f[5]
        return self._call_done(base, ts, f, talk, target[:MAX_TEXT])  # where it went: informative, cut

    def _call_done(self, base: str, ts: float, f: list[str], talk: float, target: str | None) -> list[Event]:
        q, call, agent = queue_of(f), callid_of(f), agent_of(f, self._aliases)
        if not self._claim(f, q, call, Step.ENDED):
            return []
        self._calls.leave(q, call)
        end_id = self._call_id(base, q, call, "end")
        event: Event
        if target is None:
            event = CallEnded(end_id, self.source, ts, q, call, agent, talk)
        else:
            event = CallTransferred(end_id, self.source, ts, q, call, agent, talk, 0.0, target)
        out: list[Event] = [event]
        self._members.ended(base, ts, agent, out)
        return out

    def _abandon(self, base: str, ts: float, f: list[str]) -> list[Event]:
        wait = seconds(f, 7, "waittime")
        q, call = queue_of(f), callid_of(f)
        if not self._claim(f, q, call, Step.LEFT):
            return []
        self._calls.leave(q, call)
        return [CallAbandoned(self._call_id(base, q, call, "outcome"), self.source, ts, q, call, wait)]

    def _syscompat(self, base: str, ts: float, f: list[str]) -> list[Event]:
        q, call = queue_of(f), callid_of(f)
        if not self._claim(f, q, call, Step.LEFT):
            return []
        entered = self._calls.leave(q, call)
        wait = max(0.0, ts - entered) if entered is not None else 0.0
        return [CallAbandoned(self._call_id(base, q, call, "outcome"), self.source, ts, q, call, wait)]

    def _exit(self, base: str, ts: float, f: list[str]) -> list[Event]:
        reason, index = _EXITS[f[4]]
        wait = seconds(f, index, "waittime")
        q, call = queue_of(f), callid_of(f)
        if not self._claim(f, q, call, Step.LEFT):
            return []
        self._calls.leave(q, call)
        return [CallExited(self._call_id(base, q, call, "outcome"), self.source, ts, q, call, wait, reason)]

    def _addmember(self, base: str, ts: float, f: list[str]) -> list[Event]:
        out: list[Event] = []
        paused = len(f) > 5 and f[5].upper() == "PAUSED"
        self._members.add(base, ts, agent_of(f, self._aliases), queue_of(f), paused, out)
        return out

    def _removemember(self, base: str, ts: float, f: list[str]) -> list[Event]:
        out: list[Event] = []
        self._members.remove(base, ts, agent_of(f, self._aliases), queue_of(f), out)
        return out

    def _pause(self, base: str, ts: float, f: list[str]) -> list[Event]:
        agent = agent_of(f, self._aliases)
        # PAUSE/UNPAUSE name their queue; PAUSEALL/UNPAUSEALL (queue NONE) are about every queue, and
        # so is a PAUSE without one (Asterisk writes none such; a hand-written line may).
        q = queue_of(f) if f[4] in ("PAUSE", "UNPAUSE") and f[2] not in ("", "NONE") else ""
        reason: str | None = None
        if f[4] in ("PAUSE", "PAUSEALL"):
            text = f[5] if len(f) > 5 else ""
            reason = pause_code(self._pause_codes, text, default=text[:MAX_TEXT]) if text else ""
        out: list[Event] = []
        self._members.pause(base, ts, agent, q, reason, out)
        return out

    def _agentlogin(self, base: str, ts: float, f: list[str]) -> list[Event]:
        out: list[Event] = []
        self._members.login(base, ts, agent_of(f, self._aliases), out)
        return out

    def _agentlogoff(self, base: str, ts: float, f: list[str]) -> list[Event]:
        out: list[Event] = []
        self._members.logoff(base, ts, agent_of(f, self._aliases), out)
        return out

    def _ring(self, base: str, ts: float, f: list[str]) -> list[Event]:
        ring = milliseconds(f, 5, "ringtime")
        out: list[Event] = []
        self._members.rang(base, ts, agent_of(f, self._aliases), queue_of(f), ring, out)
        return out

    def _queuestart(self, base: str, ts: float, f: list[str]) -> list[Event]:
        # Asterisk (re)started: calls it had waiting are gone (each said lost: no outcome is
        # invented, none is dropped unsaid), no member is in a call.
        out: list[Event] = []
        for q, call in self._calls.all_waiting():
            out.append(CallLost(self._call_id(f"{base}:lost:{q}:{call}", q, call, "lost"), self.source, ts, q, call))
        self._calls.clear()
        out.append(SourceReset(event_id(base, len(out)), self.source, ts))
        self._members.restart(base, ts, out)
        return out

    def _no_counts(self, base: str, ts: float, f: list[str]) -> list[Event]:
        return []

    def _call_id(self, own: str, q: str, call: str, slot: str) -> str:
        """The id of a call event: ``own`` (the line's), or with a shared system the call's."""
        if not self._system:
            return own
        return call_event_id(self._system, q, call, self._calls.entry(q, call), slot)

    def _claim(self, f: list[str], q: str, call: str, what: Step) -> bool:
        """True if this line is the first to log this fact of the call (a repeat is counted, see
        :meth:`Calls.claim <wallboard.collectors.asterisk_queue_log.calls.Calls.claim>`)."""
        new = self._calls.claim(q, call, what)
        if not new:
            self.stats.repeated[f[4]] += 1
        return new

    # --------------------------------------------- without agent events

    def _connect_call_only(self, base: str, ts: float, f: list[str]) -> list[Event]:
        wait = seconds(f, 5, "holdtime")
        q, call, agent = queue_of(f), callid_of(f), agent_of(f, self._aliases)
        if not self._claim(f, q, call, Step.ANSWERED):
            return []
        return [CallAnswered(self._call_id(base, q, call, "answer"), self.source, ts, q, call, agent, wait)]

    def _complete_call_only(self, base: str, ts: float, f: list[str]) -> list[Event]:
        talk = seconds(f, 6, "talktime")
        q, call, agent = queue_of(f), callid_of(f), agent_of(f, self._aliases)
        if not self._claim(f, q, call, Step.ENDED):
            return []
        self._calls.leave(q, call)  # as _call_done does: the call is over
        return [CallEnded(self._call_id(base, q, call, "end"), self.source, ts, q, call, agent, talk)]

    def _transfer_call_only(self, base: str, ts: float, f: list[str]) -> list[Event]:
        return self._transfer(base, ts, f)[:1]


_EXITS = {
    "EXITWITHTIMEOUT": ("timeout", 7),
    "EXITEMPTY": ("empty", 7),
    "EXITWITHKEY": ("exit_key", 8),
    "WITHDRAW": ("withdraw", 7),
}

_T = QueueLogTranslator
_Handler = Callable[[QueueLogTranslator, str, float, list[str]], list[Event]]
_HANDLERS: dict[str, _Handler] = {
    "ENTERQUEUE": _T._enterqueue,
    "CONNECT": _T._connect,
    "COMPLETEAGENT": _T._complete,
    "COMPLETECALLER": _T._complete,
    "ABANDON": _T._abandon,
    "SYSCOMPAT": _T._syscompat,
    "EXITWITHTIMEOUT": _T._exit,
    "EXITEMPTY": _T._exit,
    "EXITWITHKEY": _T._exit,
    "WITHDRAW": _T._exit,
    "BLINDTRANSFER": _T._transfer,
    "ATTENDEDTRANSFER": _T._transfer,
    "TRANSFER": _T._transfer,
    "ADDMEMBER": _T._addmember,
    "REMOVEMEMBER": _T._removemember,
    "PAUSE": _T._pause,
    "UNPAUSE": _T._pause,
    "PAUSEALL": _T._pause,
    "UNPAUSEALL": _T._pause,
    "AGENTLOGIN": _T._agentlogin,
    "AGENTCALLBACKLOGIN": _T._agentlogin,
    "AGENTLOGOFF": _T._agentlogoff,
    "AGENTCALLBACKLOGOFF": _T._agentlogoff,
    "QUEUESTART": _T._queuestart,
    "RINGNOANSWER": _T._ring,
    "RINGCANCELED": _T._ring,
    "AGENTDUMP": _T._no_counts,
    "CONFIGRELOAD": _T._no_counts,
}
# Lines whose events are about agents only give none without agent events; those that carry
# both give their call part.
_AGENT_ONLY = {"ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL"}
_AGENT_ONLY |= {
    "AGENTLOGIN",
    "AGENTCALLBACKLOGIN",
    "AGENTLOGOFF",
    "AGENTCALLBACKLOGOFF",
    "RINGNOANSWER",
    "RINGCANCELED",
}
_CALL_PART: dict[str, _Handler] = {
    "CONNECT": _T._connect_call_only,
    "COMPLETEAGENT": _T._complete_call_only,
    "COMPLETECALLER": _T._complete_call_only,
    "BLINDTRANSFER": _T._transfer_call_only,
    "ATTENDEDTRANSFER": _T._transfer_call_only,
    "TRANSFER": _T._transfer_call_only,
}
#: Without agent events: the call part of the lines that carry both, nothing from agent-only ones.
_CALL_HANDLERS: dict[str, _Handler] = {
    name: _CALL_PART.get(name, _T._no_counts if name in _AGENT_ONLY else handler) for name, handler in _HANDLERS.items()
}
