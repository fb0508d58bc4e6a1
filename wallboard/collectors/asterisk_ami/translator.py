"""AMI messages in, events out: the pure part of the collector (no sockets).

:class:`AmiTranslator` hands each known event to the calls (:mod:`.calls`) or
the agents (:mod:`.agents`), or to both for an answer and its end; brings both
in line with a ``QueueStatus`` list on every (re)connect; and keeps what must
survive a restart (the calls believed waiting, the memberships) in a cursor.
A known event with a missing or mistyped field is counted and skipped; unknown
events are counted per name in :attr:`AmiTranslator.stats`, not as errors.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wallboard.collectors.asterisk_ami.agents import BUSY_DEVICES, Agents, Membership
from wallboard.collectors.asterisk_ami.calls import Call, Calls, Key
from wallboard.collectors.asterisk_ami.connected import Connected
from wallboard.collectors.asterisk_ami.permissions import EventClasses
from wallboard.collectors.asterisk_ami.protocol import AmiError, Message, event_time, seconds, text, wait
from wallboard.events import CallAnswered, CallEnded, CallTransferred, Event

_MAX_ERRORS_KEPT = 50
#: Fields of the caller channel in an agent event: Asterisk leaves them all out when that channel is gone.
_CALLER_FIELDS = ("uniqueid", "channel", "linkedid", "calleridnum")


@dataclass(slots=True)
class AmiStats:
    """What the translator has seen."""

    malformed: int = 0
    late_connects: int = 0
    by_event: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


class AmiTranslator:
    """Stateful translation of AMI events into events for one source (see the package docstring)."""

    def __init__(
        self,
        source: str,
        agent_aliases: Mapping[str, str] | None = None,
        pause_codes: Mapping[str, str] | None = None,
        *,
        grace_s: float = 3.0,
        reject: Callable[[str], None] | None = None,
        system: str = "",
    ) -> None:
        """``system``: the PBX's name shared with its queue_log collector, for one call identity
        (see :mod:`wallboard.collectors.common.callids`); "" keeps ids of this source's own."""
        self.source = source
        self.stats = AmiStats()
        self._on_reject = reject
        self._agents = Agents(source, dict(agent_aliases or {}), dict(pause_codes or {}))
        self._calls = Calls(source, grace_s, self._call_closed, system)
        self._connected = Connected()
        #: The event classes the current session has received (see :mod:`.permissions`).
        self.classes = EventClasses()

    @property
    def dirty(self) -> bool:
        """True when the calls believed waiting or the memberships changed since :meth:`snapshot`."""
        return self._calls.dirty or self._agents.dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self._calls.dirty = self._agents.dirty = value

    def _call_closed(self, call: Call, ts: float, outcome: str) -> list[Event]:
        if call.joined_live and outcome != "lost":
            self.classes.call_ended()
        return self._agents.call_ended(call.queue, call.uid, ts)

    def _reject(self, reason: str) -> None:
        self.stats.malformed += 1
        if len(self.stats.errors) < _MAX_ERRORS_KEPT:
            self.stats.errors.append(reason)
        if self._on_reject is not None:
            self._on_reject(reason)

    # ------------------------------------------------------------ public

    def feed(self, m: Message, received: float | None = None) -> list[Event]:
        """Events of one AMI event message (``[]`` for an ignored or malformed one)."""
        received = time.time() if received is None else received
        self.classes.note(m)
        name = m.get("event", "")
        handler = _HANDLERS.get(name.lower())
        if handler is None:
            if name:
                self.stats.ignored[name[:60]] += 1
            else:
                self._reject("AMI message without an Event name skipped")
            return []
        self.stats.by_event[name] += 1
        try:
            events = handler(self, m, event_time(m, received), received)
        except (AmiError, ValueError) as exc:  # ValueError: a field no check foresaw; counted, never fatal
            self._reject(f"{name}: {exc}")
            return []
        return events

    def new_session(self) -> None:
        """A new AMI session logged in: what it receives is judged afresh (its user may have other rights)."""
        self.classes = EventClasses()
        for call in self._calls.open.values():
            call.joined_live = False

    def resync(self, items: Iterable[Message], now: float, settled: Collection[str] = ()) -> list[Event]:
        """Events that bring the state in line with a ``QueueStatus`` list taken at ``now``.

        ``settled``: caller Uniqueids with an outcome among the live events kept
        during the list (they are applied next, so those calls are not lost).
        """
        entries: dict[Key, float] = {}
        present: set[Key] = set()  # listed, even if its Wait was unreadable
        rows: dict[str, dict[str, Membership]] = {}
        devices: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for m in items:
            name = m.get("event", "")
            try:
                if name.lower() == "queueentry":
                    queue, uid = text(m, "Queue"), text(m, "Uniqueid")
                    present.add((queue, uid))
                    entries[(queue, uid)] = wait(m, "Wait")
                elif name.lower() == "queuemember":
                    queue, agent_id = text(m, "Queue"), self._agents.agent_id(m)
                    device, paused, code, in_call, wrap = self._agents.member_fields(m)
                    membership = Membership(bool(paused), code if paused else "", bool(in_call), wrap or 0.0)
                    if in_call is None:  # Asterisk 11 does not say: keep what we knew, unless the device is idle
                        known = self._agents.by_id.get(agent_id)
                        old = known.queues.get(queue) if known else None
                        membership.in_call = bool(old and old.in_call and device not in (0, 1, 4, 5))
                    rows.setdefault(agent_id, {})[queue] = membership
                    if device is not None:
                        devices[agent_id] = device
                    if paused and code:
                        reasons[agent_id] = code
                elif name.lower() != "queueparams":
                    self.stats.ignored[f"{name[:60]} (in QueueStatus)"] += 1
            except (AmiError, ValueError) as exc:  # ValueError: a field no check foresaw; counted, never fatal
                self._reject(f"QueueStatus {name[:60]}: {exc}")
        out: list[Event] = []
        self._connected.keep_only({(q, a) for a, listed in rows.items() for q, ms in listed.items() if ms.in_call})
        self._agents.resync(rows, devices, reasons, now, out)
        out.extend(self._calls.resync(entries, present, settled, now))
        self.dirty = True
        return out

    def expire(self, now: float) -> list[Event]:
        """Events that fall due by wall-clock time ``now``: undecided leaves, ends of wrap-up."""
        out = self._calls.expire(now)
        out.extend(self._agents.expire(now))
        return out

    def next_due(self) -> float | None:
        """Wall-clock time :meth:`expire` next has something to do (None: nothing pending)."""
        dues = self._calls.dues() + self._agents.dues()
        return min(dues) if dues else None

    def waiting(self) -> list[tuple[str, str]]:
        """(queue, Uniqueid) of the calls believed waiting now."""
        return self._calls.waiting()

    def members(self) -> dict[str, list[str]]:
        """Agent id → the queues it is believed a member of."""
        return self._agents.members()

    def snapshot(self) -> dict[str, Any]:
        """What must survive a collector restart (see :meth:`restore`)."""
        return {"version": 1, "calls": self._calls.snapshot(), "members": self.members()}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot` (anything malformed in it is skipped)."""
        if data.get("version") != 1:
            return
        self._calls.restore(data.get("calls"), time.time())
        self._agents.restore(data.get("members"))
        self.dirty = False

    # ---------------------------------------------------------- handlers
    # Each takes the message, its event time and the wall-clock time it arrived.
    # Every field is parsed before any state changes, so a bad message leaves no trace.

    def _join(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._calls.join(m, ts, clock)

    def _leave(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._calls.leave(m, ts, clock)

    def _abandon(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._calls.abandon(m, ts, clock)

    def _hangup(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._calls.hangup(m, ts, clock)

    def _varset(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._calls.varset(m, ts, clock)

    def _called(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = text(m, "Queue"), text(m, "Uniqueid"), self._agents.agent_id(m)
        return self._agents.called(queue, uid, agent_id, ts, clock)

    def _ring_ended(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = text(m, "Queue"), text(m, "Uniqueid"), self._agents.agent_id(m)
        seconds(m, "RingTime", required=False)  # milliseconds; validated, not counted
        return self._agents.ring_ended(queue, uid, agent_id, ts)

    def _connect(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = text(m, "Queue"), text(m, "Uniqueid"), self._agents.agent_id(m)
        wait_s, member_channel = wait(m, "HoldTime"), text(m, "DestUniqueid", required=False)
        out: list[Event] = []
        agents, calls = self._agents, self._calls
        self._connected.connect(queue, agent_id, uid, member_channel)
        a = agents.agent(agent_id)
        ms = agents.join_queue(agent_id, a, queue, ts, out)
        ms.in_call = True
        a.wrap_until = a.wrap_due = None
        agents.stop_ringing(agent_id, a, (queue, uid))
        call = calls.open.get((queue, uid))
        closed = calls.closed.get((queue, uid))
        if call is None and closed is not None:
            if closed[1] == "exit_key":
                self.stats.late_connects += 1  # already counted as an exit with key: no second outcome
        else:
            if call is None:
                call = calls.start(queue, uid, ts - wait_s)  # joined before we could see it
            out.append(CallAnswered(f"{call.key}:answer", self.source, ts, queue, uid, agent_id, wait_s))
            out.extend(calls.close(call, ts, "answered", clock))
        agents.show(agent_id, a, ts, out)
        return out

    def _complete(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, agent_id, talk = text(m, "Queue"), self._agents.agent_id(m), wait(m, "TalkTime")
        if any(m.get(key) for key in _CALLER_FIELDS):
            uid = text(m, "Uniqueid")
        else:  # the caller channel is gone (none of its fields): the call is the one its member was connected to
            uid = self._connected.find(queue, agent_id, text(m, "DestUniqueid", required=False)) or ""
            if not uid:
                raise AmiError("missing Uniqueid, and no single call is known connected to its member in its queue")
        self._connected.complete(queue, agent_id, uid)
        out: list[Event] = self._answer_missed(m, queue, uid, agent_id, ts - talk, clock)
        key = self._calls.key(queue, uid)
        event: Event
        if m.get("reason", "").lower() == "transfer":
            event = CallTransferred(f"{key}:end", self.source, ts, queue, uid, agent_id, talk)
        else:
            event = CallEnded(f"{key}:end", self.source, ts, queue, uid, agent_id, talk)
        out.append(event)
        a = self._agents.agent(agent_id)
        if a.device in BUSY_DEVICES:
            a.device = 1  # the device was busy with this call; its next state report says otherwise
        ms = a.queues.get(queue)
        if ms is not None:
            ms.in_call = False
            if ms.wrapuptime > 0:
                a.wrap_until, a.wrap_due = ts + ms.wrapuptime, clock + ms.wrapuptime
        self._agents.show(agent_id, a, ts, out)
        return out

    def _answer_missed(
        self, m: Message, queue: str, uid: str, agent_id: str, answered: float, clock: float
    ) -> list[Event]:
        """The answer of a call whose end arrives without this session having seen it answered: it
        was answered while the link was down (the resync then found it gone: lost) or before the
        collector could see it. ``AgentComplete`` says it was, by whom and after what wait
        (``HoldTime``), so the answer is counted, at the end's time less the talk time."""
        calls = self._calls
        call = calls.open.get((queue, uid))
        closed = calls.closed.get((queue, uid))
        if call is None and closed is not None and closed[1] != "lost":
            return []  # seen answered (or left unanswered: not for the end to overrule)
        wait_s = wait(m, "HoldTime")
        if call is None and closed is not None:  # lost: the same entry, now known answered
            calls.closed[(queue, uid)] = (clock, "answered")
            return [
                CallAnswered(f"{calls.key(queue, uid)}:answer", self.source, answered, queue, uid, agent_id, wait_s)
            ]
        if call is None:
            call = calls.start(queue, uid, answered - wait_s)
        out: list[Event] = [CallAnswered(f"{call.key}:answer", self.source, answered, queue, uid, agent_id, wait_s)]
        out.extend(calls.close(call, answered, "answered", clock))
        return out

    def _member_update(self, m: Message, ts: float, *, pause_event: bool) -> list[Event]:
        queue, agent_id = text(m, "Queue"), self._agents.agent_id(m)
        fields = self._agents.member_fields(m)
        if pause_event and fields[1] is None:
            raise AmiError("missing Paused")
        return self._agents.update(m, queue, agent_id, fields, ts)

    def _member_status(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._member_update(m, ts, pause_event=False)

    def _member_pause(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._member_update(m, ts, pause_event=True)

    def _member_removed(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, agent_id = text(m, "Queue"), self._agents.agent_id(m)
        out: list[Event] = []
        self._agents.leave_queue(agent_id, self._agents.agent(agent_id), queue, ts, out)
        return out

    def _nothing(self, m: Message, ts: float, clock: float) -> list[Event]:
        return []


_Handler = Callable[[AmiTranslator, Message, float, float], list[Event]]
_HANDLERS: dict[str, _Handler] = {
    "queuecallerjoin": AmiTranslator._join,
    "join": AmiTranslator._join,  # Asterisk ≤ 11
    "queuecallerleave": AmiTranslator._leave,
    "leave": AmiTranslator._leave,  # Asterisk ≤ 11
    "queuecallerabandon": AmiTranslator._abandon,
    "agentcalled": AmiTranslator._called,
    "agentringnoanswer": AmiTranslator._ring_ended,
    "agentdump": AmiTranslator._ring_ended,
    "agentconnect": AmiTranslator._connect,
    "agentcomplete": AmiTranslator._complete,
    "queuememberadded": AmiTranslator._member_status,
    "queuememberstatus": AmiTranslator._member_status,
    "queuememberpause": AmiTranslator._member_pause,
    "queuememberpaused": AmiTranslator._member_pause,  # Asterisk ≤ 11
    "queuememberremoved": AmiTranslator._member_removed,
    "hangup": AmiTranslator._hangup,
    "hanguprequest": AmiTranslator._hangup,
    "softhanguprequest": AmiTranslator._hangup,
    "varset": AmiTranslator._varset,
    # Rows of a QueueStatus list arriving outside one, and its end: nothing to do.
    "queueparams": AmiTranslator._nothing,
    "queuemember": AmiTranslator._nothing,
    "queueentry": AmiTranslator._nothing,
    "queuestatuscomplete": AmiTranslator._nothing,
}
