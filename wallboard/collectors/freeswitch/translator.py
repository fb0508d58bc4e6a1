"""mod_callcenter events and tables in, events out: the pure part of the collector (no sockets).

:class:`CallcenterTranslator` maps each ``CC-Action`` (the rules are in the
package docstring), keeping the calls believed waiting and handing the agents'
side to :mod:`.agents`; :meth:`~CallcenterTranslator.resync` brings both in line
with the ``callcenter_config`` tables on every (re)connect. The clock only
stands in for a missing ``Event-Date-Timestamp``. Call outcomes are what
mod_callcenter says they are (``CC-Cause``, ``CC-Cancel-Reason``): nothing is
inferred.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wallboard.collectors.common.fields import shown, stored_text, stored_time
from wallboard.collectors.common.tracking import remember
from wallboard.collectors.freeswitch.agents import ON_DEMAND, Agents
from wallboard.collectors.freeswitch.fields import (
    CallcenterError,
    duration,
    epoch,
    epoch_column,
    epoch_or,
    queue_name,
    stamp,
    text,
)
from wallboard.events import CallAbandoned, CallAnswered, CallEnded, CallExited, CallLost, CallQueued, Event

_WAITING_MEMBER = {"Waiting", "Trying"}
_EXIT_REASONS = {"TIMEOUT": "timeout", "NO_AGENT_TIMEOUT": "timeout", "EXIT_WITH_KEY": "exit_key"}
_IGNORED_ACTIONS = {"members-count", "agent-status-get", "agent-state-get", "agent-uuid-get"}

Key = tuple[str, str]  # (queue, member uuid)


@dataclass(slots=True)
class _Call:
    queue: str
    call_id: str
    gen: str  # "" for a first entry, the rejoin second of a resumed one
    since: float
    answered: bool = False  # CallAnswered emitted (or counted by an earlier run)
    ended: bool = False


class CallcenterTranslator:
    """Stateful translation of mod_callcenter events and tables into events for one source."""

    def __init__(
        self, source: str, agent_aliases: Mapping[str, str] | None = None, pause_codes: Mapping[str, str] | None = None
    ) -> None:
        self.source = source
        self.ignored: Counter[str] = Counter()
        self._agents = Agents(source, dict(agent_aliases or {}), dict(pause_codes or {}))
        self._calls: dict[Key, _Call] = {}

    # ------------------------------------------------------------ ids, names

    def call_event_id(self, queue: str, call_id: str, gen: str, kind: str) -> str:
        """The id of a call event: the same in every run for the same call and kind."""
        # surrogatepass: the same bytes as before for any text off the wire (which holds no surrogate),
        # and no crash on a str that does
        key = "\x1f".join((queue, call_id, gen, kind)).encode("utf-8", "surrogatepass")
        return f"{self.source}:cc:{hashlib.blake2b(key, digest_size=12).hexdigest()}"

    def agent_id(self, name: str) -> str:
        """A source-side agent name through the aliases (full name, then the part before ``@``)."""
        return self._agents.agent_id(name)

    def expire(self, now: float) -> list[Event]:
        """Agents whose wrap-up ended by ``now``: their next state, stamped when the wrap-up ended."""
        return self._agents.expire(now)

    def next_due(self) -> float | None:
        """When the next wrap-up ends (epoch seconds), if any is running."""
        return self._agents.next_due()

    # ------------------------------------------------------------ calls

    def waiting(self) -> list[list[Any]]:
        """Calls believed waiting, as ``[queue, call_id, generation, since]`` (the durable cursor)."""
        return [[c.queue, c.call_id, c.gen, c.since] for c in self._calls.values() if not c.answered]

    def restore(self, entries: Any) -> None:
        """Believe waiting the calls a previous run saved with :meth:`waiting` (anything malformed is skipped)."""
        for e in entries if isinstance(entries, list) else []:
            if (
                isinstance(e, list)
                and len(e) == 4
                and stored_text(e[0])
                and stored_text(e[1])
                and stored_text(e[2], required=False)
                and stored_time(e[3]) is not None
            ):
                self._calls[(e[0], e[1])] = _Call(e[0], e[1], e[2], float(e[3]))

    def _remember(self, call: _Call) -> None:
        remember(self._calls, (call.queue, call.call_id), call)

    def _call_of(self, h: Mapping[str, str]) -> Key:
        raw = text(h.get("CC-Queue"), "CC-Queue")
        return text(queue_name(raw), "CC-Queue"), text(h.get("CC-Member-UUID"), "CC-Member-UUID")

    def _answered(self, c: _Call, agent_id: str, answered: float, joined: float, ts: float) -> Event:
        if c.gen:  # resumed: wait from the rejoin, not from the first entry
            joined = max(joined, math.floor(c.since))
        wait = duration(joined, answered, "wait")
        c.answered = True
        return CallAnswered(
            self.call_event_id(c.queue, c.call_id, c.gen, "answered"),
            self.source,
            ts,
            c.queue,
            c.call_id,
            agent_id,
            wait,
        )

    def _lost(self, c: _Call, ts: float) -> Event:
        return CallLost(self.call_event_id(c.queue, c.call_id, c.gen, "lost"), self.source, ts, c.queue, c.call_id)

    # ------------------------------------------------------------ events

    def feed(self, h: Mapping[str, str], now: float | None = None, *, agents_current: bool = True) -> list[Event]:
        """Events of one decoded event; :class:`CallcenterError` (and no change) if it is malformed.

        ``now`` stands in for a missing Event-Date-Timestamp. ``agents_current=False``
        skips agent status/state changes and offers (older than an agent snapshot).
        """
        if h.get("Event-Subclass") != "callcenter::info":
            self.ignored[h.get("Event-Subclass") or h.get("Event-Name") or "(no name)"] += 1
            return []
        action = h.get("CC-Action", "")
        handler = _ACTIONS.get(action)
        if handler is None:
            if action in _IGNORED_ACTIONS:
                self.ignored[action] += 1
                return []
            raise CallcenterError(f"unknown CC-Action {action[:60]!r}" if action else "CC-Action is missing")
        raw = h.get("Event-Date-Timestamp")
        ts = stamp(raw) if raw else time.time() if now is None else now
        if not agents_current and action in _AGENT_ONLY:
            self.ignored[f"{action} (before the agent snapshot)"] += 1
            return []
        return handler(self, h, ts)

    def _member_start(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        gen = str(int(ts)) if h.get("CC-Action") == "member-queue-resume" else ""
        out = self.expire(ts)
        self._remember(_Call(queue, call_id, gen, ts))
        out.append(CallQueued(self.call_event_id(queue, call_id, gen, "queued"), self.source, ts, queue, call_id))
        return out

    def _offering(self, h: Mapping[str, str], ts: float) -> list[Event]:
        self._call_of(h)
        agent_id, a = self._agents.of(h.get("CC-Agent"))
        out = self.expire(ts)
        a.offering, a.after_call = True, False
        self._agents.show(agent_id, a, ts, out)
        return out

    def _bridge_start(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        agent_id, a = self._agents.of(h.get("CC-Agent"))
        answered = epoch(h.get("CC-Agent-Answered-Time"), "CC-Agent-Answered-Time")
        joined = epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
        c = self._calls.get((queue, call_id)) or _Call(queue, call_id, "", joined)
        answer = self._answered(_Call(queue, call_id, c.gen, c.since), agent_id, answered, joined, ts)
        out = self.expire(ts)
        if not c.answered:
            out.append(answer)
        c.answered = True
        self._remember(c)
        a.in_call, a.offering, a.idle, a.after_call, a.wrap_until = True, False, False, False, None
        self._agents.show(agent_id, a, ts, out)
        return out

    def _bridge_fail(self, h: Mapping[str, str], ts: float) -> list[Event]:
        self._call_of(h)
        agent_id, a = self._agents.of(h.get("CC-Agent"))
        out = self.expire(ts)
        # mod_callcenter then sets the agent Waiting (Idle if "Available (On Demand)").
        a.offering, a.idle = False, a.status == ON_DEMAND
        self._agents.show(agent_id, a, ts, out)
        return out

    def _bridge_end(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        agent_id, a = self._agents.of(h.get("CC-Agent"))
        answered = epoch(h.get("CC-Agent-Answered-Time"), "CC-Agent-Answered-Time")
        talk = duration(answered, epoch(h.get("CC-Bridge-Terminated-Time"), "CC-Bridge-Terminated-Time"), "talk")
        out = self.expire(ts)
        c = self._calls.get((queue, call_id))
        if c is None or not c.ended:
            gen = c.gen if c is not None else ""
            out.append(
                CallEnded(
                    self.call_event_id(queue, call_id, gen, "ended"), self.source, ts, queue, call_id, agent_id, talk
                )
            )
            if c is not None:
                c.ended = True
        # mod_callcenter then sets the agent Waiting (Idle if "Available (On Demand)").
        a.in_call, a.offering, a.after_call, a.idle = False, False, True, a.status == ON_DEMAND
        a.wrap_until = ts + a.wrap_up_s if a.wrap_up_s > 0 else None
        self._agents.show(agent_id, a, ts, out)
        return out

    def _member_end(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        cause = h.get("CC-Cause", "")
        key = (queue, call_id)
        c = self._calls.get(key)
        if cause == "Terminated":
            return self._terminated(h, ts, c or _Call(queue, call_id, "", ts), known=c is not None)
        if cause != "Cancel":
            raise CallcenterError(f"unknown CC-Cause {shown(cause)}" if cause else "CC-Cause is missing")
        leaving = epoch_or(h, "CC-Member-Leaving-Time", ts)
        if c is None:
            joined = epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
        else:
            joined = epoch_or(h, "CC-Member-Joined-Time", math.floor(c.since))
            if c.gen:  # resumed: its wait runs from the rejoin, as for an answer
                joined = max(joined, math.floor(c.since))
        wait = duration(joined, leaving, "wait")
        reason = h.get("CC-Cancel-Reason", "")
        gen = c.gen if c is not None else ""
        out = self.expire(ts)
        self._calls.pop(key, None)
        if reason == "BREAK_OUT":
            out.append(
                CallAbandoned(
                    self.call_event_id(queue, call_id, gen, "abandoned"), self.source, ts, queue, call_id, wait
                )
            )
        else:
            out.append(
                CallExited(
                    self.call_event_id(queue, call_id, gen, "exited"),
                    self.source,
                    ts,
                    queue,
                    call_id,
                    wait,
                    _EXIT_REASONS.get(reason, "other"),
                )
            )
        return out

    def _terminated(self, h: Mapping[str, str], ts: float, c: _Call, known: bool) -> list[Event]:
        """Served: record the answer and the end of the call if this run has not."""
        answered_text = h.get("CC-Agent-Answered-Time")
        recovered: list[Event] = []
        if answered_text and (not c.answered or not c.ended):
            agent_id = text(self.agent_id(text(h.get("CC-Agent"), "CC-Agent")), "CC-Agent")
            answered = epoch(answered_text, "CC-Agent-Answered-Time")
            if not c.answered:
                joined = epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
                recovered.append(
                    self._answered(_Call(c.queue, c.call_id, c.gen, c.since), agent_id, answered, joined, answered)
                )
            if not c.ended:
                leaving = epoch_or(h, "CC-Member-Leaving-Time", ts)
                recovered.append(
                    CallEnded(
                        self.call_event_id(c.queue, c.call_id, c.gen, "ended"),
                        self.source,
                        ts,
                        c.queue,
                        c.call_id,
                        agent_id,
                        duration(answered, leaving, "talk"),
                    )
                )
        out = self.expire(ts)
        self._calls.pop((c.queue, c.call_id), None)
        if recovered:
            out.extend(recovered)
        elif known and not c.answered:
            out.append(self._lost(c, ts))
        return out

    def _status(self, h: Mapping[str, str], ts: float) -> list[Event]:
        out: list[Event] = []
        self._agents.status(h, ts, out)
        return out

    def _state(self, h: Mapping[str, str], ts: float) -> list[Event]:
        out: list[Event] = []
        self._agents.state(h, ts, out)
        return out

    # ------------------------------------------------------------ resync

    def resync(
        self,
        members: Iterable[Mapping[str, str]],
        agents: Iterable[Mapping[str, str]],
        now: float,
        buffered: Iterable[Mapping[str, str]] = (),
    ) -> tuple[list[Event], list[str]]:
        """Events that bring the board in line with a snapshot, then the events buffered meanwhile.

        Returns the events and the reasons of rows or buffered events rejected.
        """
        believed = {key for key, c in self._calls.items() if not c.answered}
        out: list[Event] = []
        errors: list[str] = []
        present: set[Key] = set()
        for row in members:
            try:
                self._member_row(row, out, present, believed)
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                errors.append(f"member row: {exc}")
        listed: set[str] = set()
        for row in agents:
            try:
                self._agents.row(row, now, out, listed)
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                errors.append(f"agent row: {exc}")
        self._agents.unlisted(listed, now, out)
        for key in [k for k, c in self._calls.items() if c.answered and k not in present]:
            del self._calls[key]  # its bridge ended while we were away: nothing more will come of it
        for headers in buffered:
            try:
                out.extend(self.feed(headers, now, agents_current=False))
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                errors.append(f"event: {exc}")
        for key in believed - present:
            c = self._calls.get(key)
            if c is not None and not c.answered:
                del self._calls[key]
                out.append(self._lost(c, now))
        return out, errors

    def _member_row(self, row: Mapping[str, str], out: list[Event], present: set[Key], believed: set[Key]) -> None:
        queue = text(queue_name(row.get("queue", "")), "queue")
        call_id = text(row.get("uuid"), "uuid")
        state = row.get("state", "")
        joined = epoch(row.get("joined_epoch"), "joined_epoch")
        rejoined = epoch_column(row.get("rejoined_epoch"), "rejoined_epoch")
        gen = str(rejoined) if rejoined > 0 else ""
        since = float(rejoined) if rejoined > 0 else joined
        key = (queue, call_id)
        c = self._calls.get(key)
        if state in _WAITING_MEMBER:
            present.add(key)
            if c is None or c.gen != gen or c.answered:
                self._remember(_Call(queue, call_id, gen, since))
            out.append(
                CallQueued(self.call_event_id(queue, call_id, gen, "queued"), self.source, since, queue, call_id)
            )
        elif state == "Answered":
            present.add(key)
            if c is None or c.gen != gen:
                c = _Call(queue, call_id, gen, since)
                self._remember(c)
            if c.answered:
                return
            agent = row.get("serving_agent", "")
            bridged = epoch_column(row.get("bridge_epoch"), "bridge_epoch")
            if agent and bridged > 0:
                agent_id = text(self.agent_id(agent), "serving_agent")
                out.append(self._answered(c, agent_id, float(bridged), since, float(bridged)))
            elif key in believed:
                out.append(self._lost(c, since))
            c.answered = True
        # Abandoned (kept a while for a possible resume) or unknown: not waiting any more.


_Handler = Callable[[CallcenterTranslator, Mapping[str, str], float], list[Event]]
_ACTIONS: dict[str, _Handler] = {
    "member-queue-start": CallcenterTranslator._member_start,
    "member-queue-resume": CallcenterTranslator._member_start,
    "agent-offering": CallcenterTranslator._offering,
    "bridge-agent-start": CallcenterTranslator._bridge_start,
    "bridge-agent-fail": CallcenterTranslator._bridge_fail,
    "bridge-agent-end": CallcenterTranslator._bridge_end,
    "member-queue-end": CallcenterTranslator._member_end,
    "agent-status-change": CallcenterTranslator._status,
    "agent-state-change": CallcenterTranslator._state,
}
_AGENT_ONLY = {"agent-status-change", "agent-state-change", "agent-offering"}
