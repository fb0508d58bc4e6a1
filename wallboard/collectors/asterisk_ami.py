"""Asterisk Manager Interface (AMI): live queue and member events → typed events.

The collector logs in over TCP (``Events: on``), asks ``QueueStatus`` and only
after the whole list has arrived resynchronises and marks the source up; live
events that arrive during the list are kept and applied after it. ``Ping``
every ``ping_s``; no reply within ``timeout_s`` drops the link, and the shared
reconnect loop (:func:`~wallboard.collectors._link.keep_linked`) backs off and
starts again. :class:`AmiTranslator` is the pure part: AMI messages in, events
out, no sockets.

What AMI tells, and the rules used where it does not tell enough
-----------------------------------------------------------------

* **Answered**: ``AgentConnect`` (wait = ``HoldTime`` s). Asterisk sends
  ``QueueCallerLeave`` *before* ``AgentConnect`` (the caller leaves the queue
  once a member answers, and member macros/gosubs run in between), so a leave
  alone never decides anything.
* **Abandoned or another exit**: ``QueueCallerAbandon`` (wait = ``HoldTime``
  s) fires when the caller hangs up *and* on timeout, leave-when-empty and
  withdraw; the event carries no reason. The collector decides with the
  evidence Asterisk offers to managers that receive it:

  - a ``HangupRequest``/``SoftHangupRequest``/``Hangup`` of the caller's
    channel before the abandon → **abandoned** (needs ``call`` events; one after
    it proves nothing: the dialplan hangs up after a timeout too);
  - a ``VarSet`` of ``QUEUESTATUS`` on the caller's channel right after it
    leaves (needs ``dialplan`` events): ``TIMEOUT`` → exit *timeout*,
    ``LEAVEEMPTY``/``LEAVEUNAVAIL`` → exit *empty*, ``WITHDRAW`` → exit
    *withdraw*;
  - the same channel joining a queue again first → exit *other* (it did not
    hang up, and nothing said why it left);
  - no evidence within ``outcome_grace_s`` → **abandoned**, which is how
    Asterisk's own ``Abandoned`` counter counts it. With neither ``call`` nor
    ``dialplan`` events a timeout therefore counts as an abandon, and every
    abandon is published ``outcome_grace_s`` late.
* **Exit with key**: the only way out of a queue without ``QueueCallerAbandon``
  and without an answer, so a ``QueueCallerLeave`` followed by neither
  ``QueueCallerAbandon`` nor ``AgentConnect`` within ``outcome_grace_s`` →
  exit *exit_key* (wait = leave − join when the join is known, else 0). An
  ``AgentConnect`` later than that (a member gosub or AGI running longer than
  the grace) finds the call already counted: the agent goes on call but no
  second outcome is counted (``stats.late_connects``; raise the grace).
  Asterisk ≤ 11 sends ``Agent*`` events only with ``eventwhencalled=yes`` in
  queues.conf; without it every answered call would look like an exit with
  key there.
* AMI does not report a queue's ``timeout`` (not in ``QueueParams``), nor on
  whose side a timeout or withdraw was requested beyond the above.
* **Handled**: ``AgentComplete`` → call ended (talk = ``TalkTime`` s, which
  includes any hold: ``hold_s`` is 0 for this source; ``Reason: transfer`` →
  call transferred, target unknown). ``AgentDump`` counts nothing.
  ``AgentRingNoAnswer`` (``RingTime`` in **milliseconds**) counts nothing.

Agent state, per agent (all its queue memberships together), emitted only when
the derived (state, reason, direction) changes, in this order of precedence:
in a queue call (``AgentConnect`` until ``AgentComplete``, or ``InCall: 1``) →
``on_call`` inbound, ``on_hold`` if the device is on hold; paused in every
queue it is a member of → ``not_ready`` with the pause reason (``PausedReason``,
or ``Reason`` on Asterisk 11, mapped through the configured pause reasons);
being rung by a queue (``AgentCalled``, until it answers, does not answer, or
the call leaves) → ``ringing``; the device state (``Status``: 2 in use, 3 busy,
7 ring-in-use → ``on_call``; 8 → ``on_hold``; 6 → ``ringing``; 4 invalid,
5 unavailable → ``not_ready``/``unavailable``; 0 unknown and 1 not in use fall
through; a busy device state seen during a queue call is taken to be that
call's, so it is forgotten when the call completes); wrap-up after a call when
the member reports ``Wrapuptime`` > 0 (a queue-level wrapuptime is not visible
over AMI), ended by the collector when due; else ``available``. Agent id: the configured alias of ``MemberName``, else
of ``Interface`` (``Location``/``Member`` on Asterisk 11), else of
``StateInterface``, else ``MemberName`` itself.

Resynchronisation on every (re)connect, from ``QueueStatus``, as of the moment
the list began (live events kept meanwhile are newer and apply after it): each
``QueueEntry`` is a waiting call (joined ``Wait`` s before); calls the collector
believed waiting but absent, with no outcome among the events kept during the
list, are *lost* (they left while the link was down; no outcome is counted);
``QueueMember`` rows give logins per queue, removals of memberships no longer
listed, and each agent's state. Which members were ringing is not in the list
(the device state says it). The calls believed waiting and the memberships are
kept in the collector's durable cursor, so this diff also covers a collector
restart.

Ids: call events are ``<source>:<queue>:<Uniqueid>:<kind>`` (``#n`` after the
Uniqueid when the same channel enters the same queue again), so a join seen
before a restart and the same call found again by ``QueueStatus`` after it
have the same id and count once. Numbering re-entries restarts with the
collector: a channel re-entering a queue it already left before a restart may
reuse an id. Other events are unique per run.

Bad input never stops the collector: a malformed frame, an oversized line or a
known event with a missing or mistyped field is counted and logged through
``ctx.reject`` and skipped; unknown events are counted per name in
:attr:`AmiTranslator.stats`, not as errors. ``Timestamp:`` (``timestampevents
= yes``) is the event time when present, else the time the message arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from redis.exceptions import RedisError

from wallboard.collectors._link import LineReader, LineTooLong, ProtocolError, keep_linked, parse_header, shown
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallLost,
    CallQueued,
    CallTransferred,
    Event,
)

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

BANNER_PREFIX = "Asterisk Call Manager/"
_MAX_TEXT = 256
_MAX_ERRORS_KEPT = 50
_MAX_TRACKED_CALLS = 100_000
_CLOSED_MEMORY_S = 600.0  # how long a finished call is remembered, to ignore late duplicates
_RING_LIMIT_S = 300.0  # a ring nobody ended (events lost) stops counting after this
_TS_MIN, _TS_MAX = 946_684_800.0, 4_102_444_800.0
_MAX_DURATION_S = 30 * 86_400.0
_INBOX = 10_000
_BATCH = 500

Message = Mapping[str, str]  # one AMI message: case-folded keys, first value of a repeated key


class Options(BaseModel):
    """``options:`` of an ``asterisk_ami`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = Field(min_length=1)
    #: Write ``${AMI_SECRET}`` in config.yaml: the secret comes from the environment.
    secret: str = Field(repr=False)
    ping_s: float = Field(default=20.0, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: How long an unanswered leave waits for the evidence that decides its outcome.
    outcome_grace_s: float = Field(default=3.0, ge=0, le=60)

    @field_validator("username", "secret")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        return value


class AmiError(ValueError):
    """A known event that cannot be used; the message says which field and why."""


@dataclass(slots=True)
class AmiStats:
    """What the translator has seen."""

    events_in: int = 0
    events_out: int = 0
    malformed: int = 0
    late_connects: int = 0
    by_event: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Call:
    queue: str
    uid: str
    key: str  # id prefix of the call's events
    joined: float | None
    hung_up: bool = False  # the caller's channel was seen hanging up
    left: float | None = None  # QueueCallerLeave time
    abandoned: tuple[float, float] | None = None  # QueueCallerAbandon (time, wait), reason pending
    due: float | None = None  # wall-clock time a pending outcome is decided without more evidence

    @property
    def waiting(self) -> bool:
        return self.left is None and self.abandoned is None


@dataclass(slots=True)
class _Membership:
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    wrapuptime: float = 0.0


@dataclass(slots=True)
class _Agent:
    queues: dict[str, _Membership] = field(default_factory=dict)
    device: int = 0
    pause_reason: str = ""
    ringing: dict[tuple[str, str], float] = field(default_factory=dict)  # (queue, uid) → give-up time
    wrap_until: float | None = None  # event time the wrap-up ends
    wrap_due: float | None = None  # wall-clock time to end it
    shown: tuple[str, str, str] | None = None  # last emitted (state, reason, direction); None: unknown


_DEVICE_STATES: dict[int, tuple[str, str]] = {
    2: ("on_call", ""),
    3: ("on_call", ""),
    7: ("on_call", ""),
    8: ("on_hold", ""),
    6: ("ringing", ""),
    4: ("not_ready", "unavailable"),
    5: ("not_ready", "unavailable"),
}
_QUEUESTATUS_EXITS = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "empty",
    "LEAVEUNAVAIL": "empty",
    "JOINEMPTY": "empty",
    "JOINUNAVAIL": "empty",
    "WITHDRAW": "withdraw",
}
#: Events that settle a call: kept during the QueueStatus list, they spare it from being called lost.
OUTCOME_EVENTS = frozenset({"agentconnect", "queuecallerabandon", "queuecallerleave", "leave"})
_LOGGED_OUT = ("logged_out", "", "")


# ------------------------------------------------------------- parsing


def parse_message(text: str) -> dict[str, str]:
    """``Key: Value`` lines (``\\r\\n`` or ``\\n``) → a message with case-folded keys."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            key, value = parse_header(line.encode())
            out.setdefault(key.lower(), value)
    return out


def _text(m: Message, key: str) -> str:
    value = m.get(key.lower(), "")
    if not value:
        raise AmiError(f"missing {key}")
    if len(value) > _MAX_TEXT:
        raise AmiError(f"{key} longer than {_MAX_TEXT} characters")
    return value


def _seconds(m: Message, key: str, *, required: bool = True) -> float | None:
    raw = m.get(key.lower(), "")
    if not raw:
        if required:
            raise AmiError(f"missing {key}")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise AmiError(f"{key} is not a number: {shown(raw)}") from None
    if not math.isfinite(value) or not 0.0 <= value <= _MAX_DURATION_S:
        raise AmiError(f"{key} out of range: {shown(raw)}")
    return value


def _wait(m: Message, key: str) -> float:
    value = _seconds(m, key)
    assert value is not None
    return value


def _flag(m: Message, key: str, *, required: bool = False) -> bool | None:
    raw = m.get(key.lower(), "")
    if not raw:
        if required:
            raise AmiError(f"missing {key}")
        return None
    if raw not in ("0", "1"):
        raise AmiError(f"{key} is not 0 or 1: {shown(raw)}")
    return raw == "1"


def _device(m: Message) -> int | None:
    raw = m.get("status", "")
    if not raw:
        return None
    if len(raw) != 1 or raw not in "012345678":  # (str.isdigit also takes '²', which int() refuses)
        raise AmiError(f"Status is not a device state 0-8: {shown(raw)}")
    return int(raw)


def _stored_text(value: object) -> bool:
    """A name read back from the cursor is usable in an event (non-empty, at most 256 characters)."""
    return isinstance(value, str) and 0 < len(value) <= _MAX_TEXT


def _stored_number(value: object, low: float, high: float) -> float | None:
    """A number read back from the cursor (JSON), or None if it is not one in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and not low <= value <= high:  # (a huge int would overflow float())
        return None
    number = float(value)
    return number if low <= number <= high else None


def _stored_time(value: object) -> float | None:
    return _stored_number(value, -_TS_MAX, _TS_MAX)


def _event_time(m: Message, received: float) -> float:
    raw = m.get("timestamp")
    if raw:
        try:
            ts = float(raw)
        except ValueError:
            return received
        if _TS_MIN <= ts < _TS_MAX:
            return ts
    return received


# ---------------------------------------------------------- translator


class AmiTranslator:
    """Stateful translation of AMI events into events for one source (see the module docstring)."""

    def __init__(
        self,
        source: str,
        agent_aliases: Mapping[str, str] | None = None,
        pause_codes: Mapping[str, str] | None = None,
        *,
        grace_s: float = 3.0,
        reject: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.stats = AmiStats()
        #: True when the calls believed waiting or the memberships changed since :meth:`snapshot`.
        self.dirty = False
        self._aliases = dict(agent_aliases or {})
        self._pause_codes = dict(pause_codes or {})
        self._grace = grace_s
        self._on_reject = reject
        self._run = f"{source}:{int(time.time() * 1000)}"
        self._seq = itertools.count(1)
        self._calls: dict[tuple[str, str], _Call] = {}
        self._by_uid: dict[str, _Call] = {}
        self._entries: dict[tuple[str, str], int] = {}  # times each channel entered each queue
        self._closed: dict[tuple[str, str], tuple[float, str]] = {}  # → (wall time, outcome)
        self._agents: dict[str, _Agent] = {}
        self._ringing: dict[str, set[str]] = {}  # caller uid → agents being rung for it
        self._pruned_at = 0.0

    # ------------------------------------------------------------ public

    def feed(self, m: Message, received: float | None = None) -> list[Event]:
        """Events of one AMI event message (``[]`` for an ignored or malformed one)."""
        received = time.time() if received is None else received
        name = m.get("event", "")
        self.stats.events_in += 1
        handler = _HANDLERS.get(name.lower())
        if handler is None:
            if name:
                self.stats.ignored[name[:60]] += 1
            else:
                self._reject("AMI message without an Event name skipped")
            return []
        self.stats.by_event[name] += 1
        try:
            events = handler(self, m, _event_time(m, received), received)
        except (AmiError, ValueError) as exc:  # ValueError: a field no check foresaw; counted, never fatal
            self._reject(f"{name}: {exc}")
            return []
        self.stats.events_out += len(events)
        return events

    def resync(self, items: Iterable[Message], now: float, settled: Collection[str] = ()) -> list[Event]:
        """Events that bring the state in line with a ``QueueStatus`` list taken at ``now``.

        ``settled``: caller Uniqueids with an outcome among the live events kept
        during the list (they are applied next, so those calls are not lost).
        """
        entries: dict[tuple[str, str], float] = {}
        present: set[tuple[str, str]] = set()  # listed, even if its Wait was unreadable
        rows: dict[str, dict[str, _Membership]] = {}
        devices: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for m in items:
            name = m.get("event", "")
            try:
                if name.lower() == "queueentry":
                    queue, uid = _text(m, "Queue"), _text(m, "Uniqueid")
                    present.add((queue, uid))
                    entries[(queue, uid)] = _wait(m, "Wait")
                elif name.lower() == "queuemember":
                    queue, agent_id = _text(m, "Queue"), self._agent_id(m)
                    device, paused, code, in_call, wrap = self._member_fields(m)
                    membership = _Membership(bool(paused), code if paused else "", bool(in_call), wrap or 0.0)
                    if in_call is None:  # Asterisk 11 does not say: keep what we knew, unless the device is idle
                        known = self._agents.get(agent_id)
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
        self._resync_members(rows, devices, reasons, now, out)
        for (queue, uid), wait in entries.items():
            call = self._calls.get((queue, uid))
            if call is None:
                previous = self._by_uid.get(uid)
                if previous is not None and not previous.waiting:
                    out.extend(self._settle(previous, now, rejoined=True))
                call = self._open(queue, uid, now - wait)
                out.append(CallQueued(f"{call.key}:join", self.source, now - wait, queue, uid))
            elif call.joined is None:
                call.joined = now - wait
        for call in list(self._calls.values()):
            if call.waiting and (call.queue, call.uid) not in present and call.uid not in settled:
                out.append(CallLost(f"{call.key}:lost", self.source, now, call.queue, call.uid))
                out.extend(self._close(call, now, "lost", now))
        self.dirty = True
        self.stats.events_out += len(out)
        return out

    def expire(self, now: float) -> list[Event]:
        """Events that fall due by wall-clock time ``now``: undecided leaves, ends of wrap-up."""
        out: list[Event] = []
        for call in [c for c in self._calls.values() if c.due is not None and c.due <= now]:
            out.extend(self._settle(call, now, rejoined=False))
        for agent_id, a in self._agents.items():
            ts: float | None = None
            if a.wrap_due is not None and a.wrap_due <= now:
                ts = a.wrap_until
                a.wrap_until = a.wrap_due = None
            for key in [k for k, limit in a.ringing.items() if limit <= now]:
                self._stop_ringing(agent_id, a, key)
                ts = ts or now
            if ts is not None:
                self._show(agent_id, a, ts, out)
        if now - self._pruned_at >= 60.0:
            self._pruned_at = now
            self._closed = {k: v for k, v in self._closed.items() if now - v[0] < _CLOSED_MEMORY_S}
        self.stats.events_out += len(out)
        return out

    def next_due(self) -> float | None:
        """Wall-clock time :meth:`expire` next has something to do (None: nothing pending)."""
        dues = [c.due for c in self._calls.values() if c.due is not None]
        dues.extend(a.wrap_due for a in self._agents.values() if a.wrap_due is not None)
        return min(dues) if dues else None

    def waiting(self) -> list[tuple[str, str]]:
        """(queue, Uniqueid) of the calls believed waiting now."""
        return [(c.queue, c.uid) for c in self._calls.values() if c.waiting]

    def members(self) -> dict[str, list[str]]:
        """Agent id → the queues it is believed a member of."""
        return {aid: sorted(a.queues) for aid, a in self._agents.items() if a.queues}

    def snapshot(self) -> dict[str, Any]:
        """What must survive a collector restart (see :meth:`restore`)."""
        return {
            "version": 1,
            # a call with an outcome still pending keeps its evidence, so a restart decides it
            "calls": [
                [
                    c.queue,
                    c.uid,
                    self._entries.get((c.queue, c.uid), 1),
                    c.joined,
                    c.left,
                    None if c.abandoned is None else list(c.abandoned),
                    c.hung_up,
                ]
                for c in self._calls.values()
            ],
            "members": self.members(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back a :meth:`snapshot` (anything malformed in it is skipped)."""
        if data.get("version") != 1:
            return
        calls = data.get("calls")
        for row in calls if isinstance(calls, list) else []:
            if not (
                isinstance(row, list)
                and len(row) in (4, 7)
                and _stored_text(row[0])
                and _stored_text(row[1])
                and type(row[2]) is int
                and (row[3] is None or _stored_time(row[3]) is not None)
            ):
                continue
            queue, uid, n, joined = row[:4]
            self._entries[(queue, uid)] = max(0, min(n, _MAX_TRACKED_CALLS) - 1)
            call = self._open(queue, uid, _stored_time(joined))
            left, abandoned, hung_up = row[4:] if len(row) == 7 else (None, None, False)
            call.left = _stored_time(left)
            if isinstance(abandoned, list) and len(abandoned) == 2:
                ts, wait = _stored_time(abandoned[0]), _stored_number(abandoned[1], 0.0, _MAX_DURATION_S)
                if ts is not None and wait is not None:
                    call.abandoned = (ts, wait)
            call.hung_up = hung_up is True
            if not call.waiting:  # decided when the grace is over, counting from the restart
                call.due = time.time() + self._grace
        members = data.get("members")
        for agent_id, queues in members.items() if isinstance(members, dict) else []:
            if _stored_text(agent_id) and isinstance(queues, list):
                a = self._agent(agent_id)
                for queue in queues:
                    if _stored_text(queue):
                        a.queues.setdefault(queue, _Membership())
        self.dirty = False

    # ------------------------------------------------------------ helpers

    def _reject(self, reason: str) -> None:
        self.stats.malformed += 1
        if len(self.stats.errors) < _MAX_ERRORS_KEPT:
            self.stats.errors.append(reason)
        if self._on_reject is not None:
            self._on_reject(reason)

    def _next_id(self) -> str:
        return f"{self._run}:{next(self._seq)}"

    def _call_key(self, queue: str, uid: str, n: int) -> str:
        key = f"{self.source}:{queue}:{uid}" + (f"#{n}" if n > 1 else "")
        if len(key) > 200:  # event ids are at most 256 characters
            # surrogatepass: a str with a lone surrogate (never off the wire) must not crash the hash
            key = f"{self.source}:" + hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
        return key

    def _open(self, queue: str, uid: str, joined: float | None) -> _Call:
        n = self._entries.pop((queue, uid), 0) + 1
        if len(self._entries) >= _MAX_TRACKED_CALLS:
            for old in list(self._entries)[: _MAX_TRACKED_CALLS // 10]:
                del self._entries[old]
        self._entries[(queue, uid)] = n
        self._closed.pop((queue, uid), None)
        call = self._calls[(queue, uid)] = _Call(queue, uid, self._call_key(queue, uid, n), joined)
        self._by_uid[uid] = call
        self.dirty = True
        return call

    def _close(self, call: _Call, ts: float, outcome: str, clock: float) -> list[Event]:
        """Forget a call that has an outcome; members still ringing for it stop ringing."""
        self._calls.pop((call.queue, call.uid), None)
        if self._by_uid.get(call.uid) is call:
            del self._by_uid[call.uid]
        self._closed[(call.queue, call.uid)] = (clock, outcome)
        self.dirty = True
        out: list[Event] = []
        for agent_id in sorted(self._ringing.get(call.uid, ())):
            a = self._agents[agent_id]
            if (call.queue, call.uid) in a.ringing:
                self._stop_ringing(agent_id, a, (call.queue, call.uid))
                self._show(agent_id, a, ts, out)
        return out

    def _settle(self, call: _Call, clock: float, *, rejoined: bool) -> list[Event]:
        """Decide a pending outcome with the evidence there is (see the module docstring)."""
        if call.abandoned is not None:
            ts, wait = call.abandoned
            if rejoined:
                return self._exit(call, ts, wait, "other", clock)
            return self._abandon_now(call, clock)
        ts = call.left if call.left is not None else clock
        wait = max(0.0, ts - call.joined) if call.joined is not None else 0.0
        return self._exit(call, ts, wait, "exit_key", clock)

    def _abandon_now(self, call: _Call, clock: float) -> list[Event]:
        assert call.abandoned is not None
        ts, wait = call.abandoned
        out: list[Event] = [CallAbandoned(f"{call.key}:abandon", self.source, ts, call.queue, call.uid, wait)]
        out.extend(self._close(call, ts, "abandoned", clock))
        return out

    def _exit(self, call: _Call, ts: float, wait: float, reason: str, clock: float) -> list[Event]:
        out: list[Event] = [CallExited(f"{call.key}:exit", self.source, ts, call.queue, call.uid, wait, reason)]
        out.extend(self._close(call, ts, reason, clock))
        return out

    def _agent(self, agent_id: str) -> _Agent:
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agents[agent_id] = _Agent()
        return a

    def _agent_id(self, m: Message) -> str:
        name = m.get("membername") or m.get("name") or m.get("agentname") or ""
        interface = m.get("interface") or m.get("location") or m.get("member") or m.get("agentcalled") or ""
        state_interface = m.get("stateinterface") or ""
        for candidate in (name, interface, state_interface):
            if candidate and candidate in self._aliases:
                return self._aliases[candidate]
        agent_id = name or interface or state_interface
        if not agent_id:
            raise AmiError("missing MemberName and Interface")
        if len(agent_id) > _MAX_TEXT:
            raise AmiError(f"MemberName longer than {_MAX_TEXT} characters")
        return agent_id

    def _pause_code(self, text: str) -> str:
        return self._pause_codes.get(text.casefold(), text)[:_MAX_TEXT]

    def _member_fields(self, m: Message) -> tuple[int | None, bool | None, str, bool | None, float | None]:
        """(device state, paused, pause reason code, in call, wrap-up seconds) of a member event."""
        device = _device(m)
        paused = _flag(m, "Paused")
        code = self._pause_code(m.get("pausedreason") or m.get("reason") or "")
        return device, paused, code, _flag(m, "InCall"), _seconds(m, "Wrapuptime", required=False)

    def _derive(self, a: _Agent) -> tuple[str, str, str]:
        if not a.queues:
            return _LOGGED_OUT
        memberships = a.queues.values()
        if any(ms.in_call for ms in memberships):
            return ("on_hold" if a.device == 8 else "on_call", "", "inbound")
        if all(ms.paused for ms in memberships):
            return ("not_ready", a.pause_reason, "")
        if a.ringing:
            return ("ringing", "", "")
        state, reason = _DEVICE_STATES.get(a.device, ("available", ""))
        if state != "available":
            return (state, reason, "")
        if a.wrap_until is not None:
            return ("wrap_up", "", "")
        return ("available", "", "")

    def _show(self, agent_id: str, a: _Agent, ts: float, out: list[Event]) -> None:
        """Emit the agent's derived state if it changed."""
        derived = self._derive(a)
        if derived == a.shown:
            return
        a.shown = derived
        if derived != _LOGGED_OUT:  # logging out is said by AgentLogout
            out.append(AgentStateChanged(self._next_id(), self.source, ts, agent_id, *derived))

    def _join_queue(self, agent_id: str, a: _Agent, queue: str, ts: float, out: list[Event]) -> _Membership:
        ms = a.queues.get(queue)
        if ms is None:
            if not a.queues and a.shown == _LOGGED_OUT:
                a.shown = ("available", "", "")  # the fold makes an agent that logs in available
            ms = a.queues[queue] = _Membership()
            out.append(AgentLogin(self._next_id(), self.source, ts, agent_id, queue))
            self.dirty = True
        return ms

    def _leave_queue(
        self, agent_id: str, a: _Agent, queue: str, ts: float, out: list[Event], *, show: bool = True
    ) -> None:
        a.queues.pop(queue, None)
        out.append(AgentLogout(self._next_id(), self.source, ts, agent_id, queue))
        self.dirty = True
        if not a.queues:
            for key in list(a.ringing):
                self._stop_ringing(agent_id, a, key)
            a.wrap_until = a.wrap_due = None
            a.shown = _LOGGED_OUT
        elif show:
            self._show(agent_id, a, ts, out)

    def _start_ringing(self, agent_id: str, a: _Agent, key: tuple[str, str], clock: float) -> None:
        a.ringing[key] = clock + _RING_LIMIT_S
        self._ringing.setdefault(key[1], set()).add(agent_id)

    def _stop_ringing(self, agent_id: str, a: _Agent, key: tuple[str, str]) -> None:
        a.ringing.pop(key, None)
        agents = self._ringing.get(key[1])
        if agents is not None:
            agents.discard(agent_id)
            if not agents:
                del self._ringing[key[1]]

    def _resync_members(
        self,
        rows: dict[str, dict[str, _Membership]],
        devices: dict[str, int],
        reasons: dict[str, str],
        now: float,
        out: list[Event],
    ) -> None:
        for agent_id, a in self._agents.items():
            for key in list(a.ringing):  # who rings is not in the list; the device state says it
                self._stop_ringing(agent_id, a, key)
            for queue in sorted(set(a.queues) - set(rows.get(agent_id, {}))):
                self._leave_queue(agent_id, a, queue, now, out, show=False)  # shown once, below
        for agent_id, memberships in rows.items():
            a = self._agent(agent_id)
            for queue, fresh in memberships.items():
                ms = self._join_queue(agent_id, a, queue, now, out)
                ms.paused, ms.reason, ms.in_call, ms.wrapuptime = (
                    fresh.paused,
                    fresh.reason,
                    fresh.in_call,
                    fresh.wrapuptime,
                )
            a.device = devices.get(agent_id, 0)
            a.pause_reason = reasons.get(agent_id, a.pause_reason)
            if any(ms.in_call for ms in a.queues.values()):
                a.wrap_until = a.wrap_due = None
            self._show(agent_id, a, now, out)

    # ---------------------------------------------------------- handlers
    # Each takes the message, its event time and the wall-clock time it arrived.
    # Every field is parsed before any state changes, so a bad message leaves no trace.

    def _join(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid = _text(m, "Queue"), _text(m, "Uniqueid")
        out: list[Event] = []
        call = self._calls.get((queue, uid))
        if call is not None and call.waiting:
            return out  # already waiting (found by QueueStatus, or the event came twice)
        previous = call or self._by_uid.get(uid)
        if previous is not None and not previous.waiting:
            out.extend(self._settle(previous, clock, rejoined=True))  # it left without hanging up
        call = self._open(queue, uid, ts)
        out.append(CallQueued(f"{call.key}:join", self.source, ts, queue, uid))
        return out

    def _leave(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid = _text(m, "Queue"), _text(m, "Uniqueid")
        call = self._calls.get((queue, uid))
        if call is not None and call.left is None:
            call.left = ts
            if call.abandoned is None:  # answered (AgentConnect follows) or exit with key
                call.due = clock + self._grace
        return []

    def _abandon(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, wait = _text(m, "Queue"), _text(m, "Uniqueid"), _wait(m, "HoldTime")
        call = self._calls.get((queue, uid))
        if call is None:
            if (queue, uid) in self._closed:
                return []  # Asterisk may publish a second abandon for one call
            call = self._open(queue, uid, ts - wait)
        if call.abandoned is not None:
            return []
        call.abandoned = (ts, wait)
        if call.hung_up:
            return self._abandon_now(call, clock)
        call.due = clock + self._grace
        return []

    def _hangup(self, m: Message, ts: float, clock: float) -> list[Event]:
        call = self._by_uid.get(m.get("uniqueid", ""))
        if call is None:
            return []
        if call.abandoned is not None:
            return []  # after the abandon it says nothing: the dialplan hangs up after a timeout too
        if call.left is None:
            call.hung_up = True  # the abandon that follows is a hang-up
        return []

    def _varset(self, m: Message, ts: float, clock: float) -> list[Event]:
        if m.get("variable", "").upper() != "QUEUESTATUS":
            return []
        call = self._by_uid.get(m.get("uniqueid", ""))
        reason = _QUEUESTATUS_EXITS.get(m.get("value", "").upper())
        if call is None or call.abandoned is None or reason is None:
            return []
        ts, wait = call.abandoned
        return self._exit(call, ts, wait, reason, clock)

    def _called(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = _text(m, "Queue"), _text(m, "Uniqueid"), self._agent_id(m)
        out: list[Event] = []
        a = self._agent(agent_id)
        self._join_queue(agent_id, a, queue, ts, out)
        self._start_ringing(agent_id, a, (queue, uid), clock)
        self._show(agent_id, a, ts, out)
        return out

    def _ring_ended(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = _text(m, "Queue"), _text(m, "Uniqueid"), self._agent_id(m)
        _seconds(m, "RingTime", required=False)  # milliseconds; validated, not counted
        out: list[Event] = []
        a = self._agents.get(agent_id)
        if a is not None and (queue, uid) in a.ringing:
            self._stop_ringing(agent_id, a, (queue, uid))
            self._show(agent_id, a, ts, out)
        return out

    def _connect(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = _text(m, "Queue"), _text(m, "Uniqueid"), self._agent_id(m)
        wait = _wait(m, "HoldTime")
        out: list[Event] = []
        a = self._agent(agent_id)
        ms = self._join_queue(agent_id, a, queue, ts, out)
        ms.in_call = True
        a.wrap_until = a.wrap_due = None
        self._stop_ringing(agent_id, a, (queue, uid))
        call = self._calls.get((queue, uid))
        closed = self._closed.get((queue, uid))
        if call is None and closed is not None:
            if closed[1] == "exit_key":
                self.stats.late_connects += 1  # already counted as an exit with key: no second outcome
        else:
            if call is None:
                call = self._open(queue, uid, ts - wait)  # joined before we could see it
            out.append(CallAnswered(f"{call.key}:answer", self.source, ts, queue, uid, agent_id, wait))
            out.extend(self._close(call, ts, "answered", clock))
        self._show(agent_id, a, ts, out)
        return out

    def _complete(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, agent_id = _text(m, "Queue"), _text(m, "Uniqueid"), self._agent_id(m)
        talk = _wait(m, "TalkTime")
        key = self._call_key(queue, uid, self._entries.get((queue, uid), 1))
        event: Event
        if m.get("reason", "").lower() == "transfer":
            event = CallTransferred(f"{key}:end", self.source, ts, queue, uid, agent_id, talk)
        else:
            event = CallEnded(f"{key}:end", self.source, ts, queue, uid, agent_id, talk)
        out: list[Event] = [event]
        a = self._agent(agent_id)
        if a.device in (2, 3, 7, 8):
            a.device = 1  # the device was busy with this call; its next state report says otherwise
        ms = a.queues.get(queue)
        if ms is not None:
            ms.in_call = False
            if ms.wrapuptime > 0:
                a.wrap_until, a.wrap_due = ts + ms.wrapuptime, clock + ms.wrapuptime
        self._show(agent_id, a, ts, out)
        return out

    def _member_update(self, m: Message, ts: float, clock: float, *, pause_event: bool) -> list[Event]:
        queue, agent_id = _text(m, "Queue"), self._agent_id(m)
        device, paused, code, in_call, wrap = self._member_fields(m)
        if pause_event and paused is None:
            raise AmiError("missing Paused")
        out: list[Event] = []
        a = self._agent(agent_id)
        ms = self._join_queue(agent_id, a, queue, ts, out)
        if device is not None:
            a.device = device
        if paused is not None:
            # Asterisk 11 repeats Paused without the reason on device changes: keep the reason then.
            if paused and (not ms.paused or "pausedreason" in m or "reason" in m):
                ms.reason = a.pause_reason = code
            elif not paused:
                ms.reason = ""
            ms.paused = paused
        if in_call is not None:
            ms.in_call = in_call
        if wrap is not None:
            ms.wrapuptime = wrap
        self._show(agent_id, a, ts, out)
        return out

    def _member_status(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._member_update(m, ts, clock, pause_event=False)

    def _member_pause(self, m: Message, ts: float, clock: float) -> list[Event]:
        return self._member_update(m, ts, clock, pause_event=True)

    def _member_removed(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, agent_id = _text(m, "Queue"), self._agent_id(m)
        out: list[Event] = []
        self._leave_queue(agent_id, self._agent(agent_id), queue, ts, out)
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


# ---------------------------------------------------------------- link

Item = tuple[float, dict[str, str]]  # (wall-clock arrival, message)


class _Link:
    """One AMI connection: framed messages in (read by a task of its own), actions out."""

    def __init__(self, lines: LineReader, writer: asyncio.StreamWriter, reject: Callable[[str], None]) -> None:
        self._lines = lines
        self._writer = writer
        self._reject = reject
        self._inbox: asyncio.Queue[Item | Exception] = asyncio.Queue(maxsize=_INBOX)
        self._reader: asyncio.Task[None] | None = None
        self._failure: Exception | None = None
        self._carry: tuple[str, str] | None = None  # first line of a message that began without a blank line
        self._ids = itertools.count(1)

    async def banner(self, timeout: float) -> str:
        """The greeting line; ProtocolError unless it is Asterisk's."""
        try:
            async with asyncio.timeout(timeout):
                line = await self._lines.readline()
        except TimeoutError:
            raise ProtocolError(f"no banner within {timeout:g} s") from None
        except LineTooLong:
            raise ProtocolError("banner line too long: not an Asterisk manager") from None
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith(BANNER_PREFIX):
            raise ProtocolError(f"not an Asterisk manager: banner {text[:80]!r}")
        return text

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read_loop())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader})

    async def send(self, action: str, **fields: str) -> str:
        """Send an action; returns its ActionID."""
        action_id = f"wallboard-{next(self._ids)}"
        lines = [f"Action: {action}", f"ActionID: {action_id}", *(f"{k}: {v}" for k, v in fields.items())]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        return action_id

    async def receive(self, timeout: float) -> list[Item]:
        """The messages that have arrived (waiting up to ``timeout`` for the first); [] on timeout."""
        if self._failure is not None:
            raise self._failure
        try:
            item = self._inbox.get_nowait()
        except asyncio.QueueEmpty:
            try:
                async with asyncio.timeout(max(timeout, 0.0)):
                    item = await self._inbox.get()
            except TimeoutError:
                return []
        batch: list[Item] = []
        while True:
            if isinstance(item, Exception):
                if not batch:
                    raise item
                self._failure = item  # the messages before it are handled first
                return batch
            batch.append(item)
            if len(batch) >= _BATCH or self._inbox.empty():
                return batch
            item = self._inbox.get_nowait()

    async def _read_loop(self) -> None:
        try:
            while True:
                message = await self._read_message()
                if message is not None:
                    await self._inbox.put((time.time(), message))
        except Exception as exc:  # EOF or a socket error: the consumer ends the session with it
            await self._inbox.put(exc)

    async def _read_message(self) -> dict[str, str] | None:
        """The next message; None (after counting it) if it was malformed."""
        fields: dict[str, str] = {}
        problem = ""
        if self._carry is not None:
            fields[self._carry[0]] = self._carry[1]
            self._carry = None
        while True:
            try:
                line = await self._lines.readline()
            except LineTooLong as exc:
                problem = problem or str(exc)
                continue
            if not line.strip():
                if fields or problem:
                    break
                continue
            try:
                key, value = parse_header(line)
            except ProtocolError as exc:
                problem = problem or str(exc)
                continue
            key = key.lower()
            if key in ("event", "response") and (fields or problem):
                self._carry = (key, value)  # a new message began: the one before was cut short
                problem = problem or "message not ended by an empty line"
                break
            fields.setdefault(key, value)
        if problem:
            name = fields.get("event") or fields.get("response") or "unnamed"
            self._reject(f"malformed AMI message ({name[:40]}) skipped: {problem}")
            return None
        if "event" not in fields and "response" not in fields:
            # (the count, not the keys: a garbled line's key may be anything, a caller's number too)
            self._reject(f"AMI message with neither Event nor Response skipped ({len(fields)} fields)")
            return None
        return fields


# ------------------------------------------------------------- session


class _Session:
    """One connection's protocol: login, QueueStatus, resync, then follow events and keep alive."""

    def __init__(self, ctx: CollectorContext[Options], options: Options, translator: AmiTranslator) -> None:
        self._ctx = ctx
        self._options = options
        self._translator = translator

    async def __call__(self, lines: LineReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(lines, writer, self._ctx.reject)
        banner = await link.banner(self._options.timeout_s)
        link.start()
        try:
            kept: list[Item] = []  # live events that arrive before the resync, applied after it
            await self._login(link, kept)
            listed_at, items = await self._queue_status(link, kept)
            await self._resync(listed_at, items, kept, banner)
            await self._follow(link)
        finally:
            await link.close()

    async def _reply(self, link: _Link, action_id: str, what: str, kept: list[Item]) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.timeout_s
        reply: dict[str, str] | None = None
        while (remaining := deadline - loop.time()) > 0:
            for received, message in await link.receive(remaining):
                if reply is None and "response" in message and message.get("actionid", action_id) == action_id:
                    reply = message
                elif "event" in message:
                    kept.append((received, message))
            if reply is not None:
                return reply
        raise ProtocolError(f"no reply to {what} within {self._options.timeout_s:g} s")

    async def _login(self, link: _Link, kept: list[Item]) -> None:
        o = self._options
        action_id = await link.send("Login", Username=o.username, Secret=o.secret, Events="on")
        reply = await self._reply(link, action_id, "Login", kept)
        if reply["response"].lower() != "success":
            raise ProtocolError(f"login refused for user {o.username!r}: {reply.get('message') or reply['response']}")

    async def _queue_status(self, link: _Link, kept: list[Item]) -> tuple[float, list[dict[str, str]]]:
        """When the QueueStatus list began, and its rows; live events that arrive meanwhile go to ``kept``."""
        timeout = self._options.timeout_s
        listed_at = time.time()
        action_id = await link.send("QueueStatus")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        items: list[dict[str, str]] = []
        while (remaining := deadline - loop.time()) > 0:
            batch = await link.receive(remaining)
            for i, (received, message) in enumerate(batch):
                if message.get("actionid") != action_id:
                    if "event" in message:
                        kept.append((received, message))
                    continue
                deadline = loop.time() + timeout  # the list is progressing
                if "response" in message:
                    if message["response"].lower() != "success":
                        raise ProtocolError(f"QueueStatus refused: {message.get('message') or message['response']}")
                    listed_at = received
                elif message.get("event", "").lower() == "queuestatuscomplete":
                    announced = message.get("listitems", "")
                    if announced.isascii() and announced.isdigit() and int(announced) != len(items):
                        self._ctx.log.warning(
                            "QueueStatus announced %s items, %d usable arrived", announced, len(items)
                        )
                    kept.extend(item for item in batch[i + 1 :] if "event" in item[1])
                    return listed_at, items
                else:
                    items.append(message)
        raise ProtocolError(f"QueueStatus list not complete within {timeout:g} s")

    async def _resync(
        self, listed_at: float, items: Sequence[dict[str, str]], kept: Sequence[Item], banner: str
    ) -> None:
        tr = self._translator
        settled = {m.get("uniqueid", "") for _, m in kept if m.get("event", "").lower() in OUTCOME_EVENTS}
        # The list tells the state when it began: live events kept meanwhile are newer and apply on top.
        events = tr.resync(items, listed_at, settled)
        for received, message in kept:
            events.extend(tr.feed(message, received))
        events.extend(tr.expire(time.time()))
        await self._ctx.emit(events)
        self._ctx.set_connected(True)
        await self._ctx.heartbeat(force=True)
        await self._save()
        self._ctx.log.info(
            "%s: resynchronised, %d calls waiting, %d members", banner, len(tr.waiting()), len(tr.members())
        )

    async def _follow(self, link: _Link) -> None:
        ctx, o, tr = self._ctx, self._options, self._translator
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + o.ping_s
        ping_id: str | None = None
        ping_deadline = 0.0
        while True:
            now = loop.time()
            if ping_id is None and now >= next_ping:
                ping_id = await link.send("Ping")
                ping_deadline = now + o.timeout_s
            # Past the deadline, first handle what has already arrived (the Pong may be queued
            # behind events a slow emit held up): only an empty inbox means no reply.
            overdue = ping_id is not None and now >= ping_deadline
            wait = 0.0 if overdue else (ping_deadline if ping_id is not None else next_ping) - now
            due = tr.next_due()
            if due is not None:
                wait = min(wait, due - time.time())
            late = tr.stats.late_connects
            events: list[Event] = []
            batch = await link.receive(wait)
            if overdue and not batch:
                raise ProtocolError(f"no reply to Ping within {o.timeout_s:g} s")
            for received, message in batch:
                if "response" in message:
                    if ping_id is not None and message.get("actionid") == ping_id:
                        ping_id, next_ping = None, loop.time() + o.ping_s
                    continue
                events.extend(tr.feed(message, received))
            events.extend(tr.expire(time.time()))
            if events:
                await ctx.emit(events)
            if tr.stats.late_connects > late:
                ctx.log.warning(
                    "AgentConnect arrived after its call was counted as an exit with key; "
                    "raise outcome_grace_s (now %g s)",
                    o.outcome_grace_s,
                )
            await self._save()

    async def _save(self) -> None:
        """Keep the calls believed waiting and the memberships in the durable cursor, after every change."""
        tr = self._translator
        if not tr.dirty:
            return
        try:
            await self._ctx.save_cursor(tr.snapshot())
        except (RedisError, OSError) as exc:  # emit() reports Redis trouble; the next save catches up
            self._ctx.log.debug("cursor not saved: %s", exc)
            return
        tr.dirty = False


async def run(ctx: CollectorContext[Options]) -> None:
    """Follow one Asterisk over AMI for ever, reconnecting and resynchronising as needed."""
    ctx.health.connected = False  # before the first await: the runner's heartbeat must not report it up yet
    options = ctx.options
    if not isinstance(options, Options):
        raise TypeError(f"asterisk_ami needs its own Options, got {type(options).__name__}")
    translator = AmiTranslator(
        ctx.source,
        ctx.config.agent_aliases(),
        ctx.config.pause_reason_codes(),
        grace_s=options.outcome_grace_s,
        reject=ctx.reject,
    )
    translator.restore(await ctx.load_cursor())
    await keep_linked(
        ctx, options.host, options.port, _Session(ctx, options, translator), connect_timeout_s=options.connect_timeout_s
    )
