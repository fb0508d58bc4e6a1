"""FreeSWITCH mod_callcenter over the Event Socket (inbound mode, TCP 8021) → typed events.

The session (:func:`run`, kept up by :func:`keep_linked`): expect
``auth/request``, ``auth``, subscribe with ``event plain CUSTOM
callcenter::info``, then resynchronise from ``api callcenter_config`` (``queue
list``, ``queue list members <queue>`` for each, ``agent list``) before marking
the source up. Events arriving during the resync are buffered and applied after
the snapshot. ``api status`` is sent every ``keepalive_s``; no reply within
``timeout_s`` drops the link, which is rebuilt and resynchronised.

:class:`CallcenterTranslator` (no sockets; the clock only stands in for a missing
Event-Date-Timestamp) maps ``CC-Action``:

- member-queue-start / member-queue-resume → CallQueued (call id =
  CC-Member-UUID; queue = CC-Queue without ``@domain``; ts = Event-Date-Timestamp).
- agent-offering → agent ringing. bridge-agent-fail → agent back; nothing counted.
- bridge-agent-start → CallAnswered, wait = CC-Agent-Answered-Time −
  CC-Member-Joined-Time; agent on_call (inbound).
- bridge-agent-end → CallEnded, talk = CC-Bridge-Terminated-Time −
  CC-Agent-Answered-Time (mod_callcenter reports no hold: hold 0); the agent is
  in wrap_up for its ``wrap_up_time`` (from ``agent list``), then available.
- member-queue-end, CC-Cause ``Cancel``: CC-Cancel-Reason BREAK_OUT (hung up) →
  CallAbandoned, wait = CC-Member-Leaving-Time − CC-Member-Joined-Time; TIMEOUT,
  NO_AGENT_TIMEOUT → CallExited ``timeout``; EXIT_WITH_KEY → ``exit_key``;
  any other → ``other``.
- member-queue-end, CC-Cause ``Terminated``: mod_callcenter sends it only after
  a bridge ends (a caller hanging up while an agent rings is Cancel/BREAK_OUT),
  so it counts nothing new. It makes sure the answer and the end of that call
  are recorded, emitting from its own headers whichever this run has not
  emitted, under the same deterministic ids (a copy the fold has counts once).
  Without CC-Agent-Answered-Time, a call still believed waiting becomes CallLost.
- agent-status-change: Logged Out → AgentLogout; Available, Available (On
  Demand), On Break → logged in (AgentLogin once); On Break → not_ready with
  reason ``break`` mapped through the configured pause reasons.
- agent-state-change: Waiting → available; Receiving, Reserved → ringing; In a
  queue call → on_call; Idle → wrap_up when it follows a queue call (that is
  what mod_callcenter does to an "Available (On Demand)" agent after each call,
  until the agent sets Waiting again), else not_ready with reason ``idle``
  (through the pause reasons too).
- members-count and agent-*-get are ignored (counted); any other CC-Action is
  rejected, so a newer mod_callcenter shows up in the source's error count.

An agent's state is derived from its status, state, call and wrap-up, in this
priority: logged out > on call > ringing > wrap-up > on break > idle >
available, and emitted only when it changes. Agent names (``1001@default``) go
through the configured aliases: the full name first, then the part before ``@``.

Ids: call events are deterministic per (source, queue, member uuid,
generation, kind), the generation being the rejoin second of a resumed call,
so a call seen before a restart and re-discovered by a resync counts once.
Agent events are unique per run.

Resync: members Waiting/Trying → CallQueued (ts = joined, same ids as live);
members Answered → CallAnswered at bridge_epoch (same id as live); calls
believed waiting (by this run, or by the previous one through the durable
cursor) that are neither → CallLost, no outcome invented. Agents → login and
state as listed; agents no longer listed → logged out. Buffered agent status
and state changes are skipped: they are older than the agent snapshot, which
already shows their effect.

Dirty input never stops the collector: an event that cannot be understood
(missing CC-Queue, a time that is not epoch seconds, a truncated body, binary
garbage, an unknown CC-Action) is counted with ``ctx.reject`` and skipped; a
line over 64 KiB or a body over 4 MiB is skipped without being buffered; an
event with a bad Content-Length is skipped up to the blank line that ends it
(anywhere else the framing is lost, and the link is rebuilt).

Limits: queues of one name in two domains are merged; agents log in to no
queue in particular (tiers are not read), so per-queue agent counts stay empty
for this source; ``wrap_up_time`` changes
are learnt at the next resync; resync agent states are stamped with this
host's clock (keep FreeSWITCH and the collector NTP-synchronised); the waiting
calls of the durable cursor are saved after each batch, so a call queued in
the instant before a crash and gone before the restart may stay waiting on
the board; a resumed call whose rejoin second differs from its resume event's
second gets a second id after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field
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
    Event,
)

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

SUBSCRIBE = "event plain CUSTOM callcenter::info"
MAX_BODY = 4 * 1024 * 1024
_MAX_TEXT = 256
_MAX_DURATION_S = 30 * 86_400.0
_TS_MIN, _TS_MAX = 946_684_800.0, 4_102_444_800.0
_MAX_TRACKED_CALLS = 100_000
_LENGTH = re.compile(r"[0-9]{1,12}")
_MICROS = re.compile(r"[0-9]{1,19}")  # epoch microseconds: 16 digits until 2286
_EPOCH = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")

LOGGED_OUT, AVAILABLE, ON_DEMAND, ON_BREAK = "Logged Out", "Available", "Available (On Demand)", "On Break"
_STATUSES = {LOGGED_OUT, AVAILABLE, ON_DEMAND, ON_BREAK}
_STATES = {"Waiting", "Receiving", "In a queue call", "Idle", "Reserved"}
_WAITING_MEMBER = {"Waiting", "Trying"}
_EXIT_REASONS = {"TIMEOUT": "timeout", "NO_AGENT_TIMEOUT": "timeout", "EXIT_WITH_KEY": "exit_key"}
_IGNORED_ACTIONS = {"members-count", "agent-status-get", "agent-state-get", "agent-uuid-get"}


class Options(BaseModel):
    """``options:`` of a ``freeswitch`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8021, ge=1, le=65535)
    password: str = Field(min_length=1, repr=False)  # from the environment: ${FS_PASSWORD}
    keepalive_s: float = Field(default=20, gt=0)
    timeout_s: float = Field(default=10, gt=0)
    connect_timeout_s: float = Field(default=5, gt=0)


class CallcenterError(ValueError):
    """An event or table row that cannot be understood; the message says why."""


# ----------------------------------------------------------------- translator


@dataclass(slots=True)
class _Call:
    queue: str
    call_id: str
    gen: str  # "" for a first entry, the rejoin second of a resumed one
    since: float
    answered: bool = False  # CallAnswered emitted (or counted by an earlier run)
    ended: bool = False


@dataclass(slots=True)
class _Agent:
    status: str = ""  # mod_callcenter status, "" while unknown
    idle: bool = False  # state Idle
    in_call: bool = False
    offering: bool = False
    after_call: bool = False  # nothing has happened to the agent since its last bridge ended
    wrap_up_s: float = 0.0
    wrap_until: float | None = None
    logged_in: bool | None = None  # as last emitted; None: nothing emitted yet
    shown: tuple[str, str, str] = ("", "", "")  # state, reason, direction as last emitted


def queue_name(raw: str) -> str:
    """``ventas@default`` → ``ventas``."""
    return raw.split("@", 1)[0]


def _text(value: str | None, name: str) -> str:
    if not value:
        raise CallcenterError(f"{name} is missing")
    if len(value) > _MAX_TEXT:
        raise CallcenterError(f"{name} is longer than {_MAX_TEXT} characters")
    return value


def _epoch(value: str | None, name: str) -> float:
    """Epoch seconds from a header or column; CallcenterError naming it otherwise."""
    if value is None or value == "":
        raise CallcenterError(f"{name} is missing")
    if not _EPOCH.fullmatch(value) or not _TS_MIN <= float(value) < _TS_MAX:
        raise CallcenterError(f"{name} is not epoch seconds: {shown(value)}")
    return float(value)


def _epoch_or(h: Mapping[str, str], name: str, default: float) -> float:
    """An optional epoch header: ``default`` when absent, CallcenterError when not epoch seconds."""
    return _epoch(h[name], name) if h.get(name) else default


def _duration(start: float, end: float, name: str) -> float:
    seconds = max(0.0, end - start)  # whole-second stamps of one clock: never really negative
    if seconds > _MAX_DURATION_S:
        raise CallcenterError(f"{name} of {seconds:.0f} s is longer than 30 days")
    return seconds


def _epoch_column(value: str | None, name: str) -> int:
    """A table's optional epoch column: 0 when empty or 0, else whole epoch seconds (CallcenterError if not)."""
    number = _int(value, name)
    if number != 0 and not _TS_MIN <= number < _TS_MAX:  # it becomes an event's time
        raise CallcenterError(f"{name} is not epoch seconds: {number}")
    return number


def _int(value: str | None, name: str) -> int:
    if not value:
        return 0
    if not re.fullmatch(r"-?[0-9]{1,15}", value):
        raise CallcenterError(f"{name} is not a whole number: {shown(value)}")
    return int(value)


class CallcenterTranslator:
    """Stateful translation of mod_callcenter events and tables into events for one source."""

    def __init__(
        self, source: str, agent_aliases: Mapping[str, str] | None = None, pause_codes: Mapping[str, str] | None = None
    ) -> None:
        self.source = source
        self.ignored: Counter[str] = Counter()
        self._aliases = dict(agent_aliases or {})
        codes = pause_codes or {}
        self._break_reason = codes.get("on break") or codes.get("break") or "break"
        self._idle_reason = codes.get("idle") or "idle"
        self._calls: dict[tuple[str, str], _Call] = {}
        self._agents: dict[str, _Agent] = {}
        self._run = uuid.uuid4().hex[:12]
        self._n = 0

    # ------------------------------------------------------------ ids, names

    def call_event_id(self, queue: str, call_id: str, gen: str, kind: str) -> str:
        """The id of a call event: the same in every run for the same call and kind."""
        # surrogatepass: the same bytes as before for any text off the wire (which holds no surrogate),
        # and no crash on a str that does
        key = "\x1f".join((queue, call_id, gen, kind)).encode("utf-8", "surrogatepass")
        return f"{self.source}:cc:{hashlib.blake2b(key, digest_size=12).hexdigest()}"

    def _agent_event_id(self) -> str:
        self._n += 1
        return f"{self.source}:{self._run}:{self._n}"

    def agent_id(self, name: str) -> str:
        """A source-side agent name through the aliases (full name, then the part before ``@``)."""
        found = self._aliases.get(name)
        if found is None:
            found = self._aliases.get(name.split("@", 1)[0], name)
        return found

    def _agent_of(self, raw: str | None, name: str = "CC-Agent") -> tuple[str, _Agent]:
        agent_id = _text(self.agent_id(_text(raw, name)), name)
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = _Agent()
        return agent_id, agent

    # ------------------------------------------------------------ agent state

    def _derive(self, a: _Agent, ts: float) -> tuple[str, str, str]:
        if a.status == LOGGED_OUT:
            return "logged_out", "", ""
        if a.in_call:
            return "on_call", "", "inbound"
        if a.offering:
            return "ringing", "", ""
        if a.wrap_until is not None and ts < a.wrap_until:
            return "wrap_up", "", ""
        if a.status == ON_BREAK:
            return "not_ready", self._break_reason, ""
        if a.idle:
            return ("wrap_up", "", "") if a.after_call else ("not_ready", self._idle_reason, "")
        return "available", "", ""

    def _show(self, agent_id: str, a: _Agent, ts: float, out: list[Event]) -> None:
        """Emit the agent's derived state (and login/logout) if it changed."""
        shown = self._derive(a, ts)
        if shown[0] == "logged_out":
            if a.logged_in is not False:
                out.append(AgentLogout(self._agent_event_id(), self.source, ts, agent_id, ""))
                a.logged_in, a.shown = False, shown
            return
        if not a.logged_in:
            out.append(AgentLogin(self._agent_event_id(), self.source, ts, agent_id, ""))
            a.logged_in, a.shown = True, ("available", "", "")  # what the fold makes of a login
        if shown != a.shown:
            out.append(AgentStateChanged(self._agent_event_id(), self.source, ts, agent_id, *shown))
            a.shown = shown

    def expire(self, now: float) -> list[Event]:
        """Agents whose wrap-up ended by ``now``: their next state, stamped when the wrap-up ended."""
        out: list[Event] = []
        for agent_id, a in self._agents.items():
            if a.wrap_until is not None and a.wrap_until <= now:
                due, a.wrap_until = a.wrap_until, None
                self._show(agent_id, a, due, out)
        return out

    def next_due(self) -> float | None:
        """When the next wrap-up ends (epoch seconds), if any is running."""
        dues = [a.wrap_until for a in self._agents.values() if a.wrap_until is not None]
        return min(dues) if dues else None

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
                and all(isinstance(x, str) and len(x) <= _MAX_TEXT for x in e[:3])
                and e[0]
                and e[1]
                and not isinstance(e[3], bool)
                and isinstance(e[3], (int, float))
                and -_TS_MAX < e[3] < _TS_MAX
            ):  # (compared as it is: a huge int would overflow float())
                self._calls[(e[0], e[1])] = _Call(e[0], e[1], e[2], float(e[3]))

    def _remember(self, call: _Call) -> None:
        if len(self._calls) >= _MAX_TRACKED_CALLS:
            for old in list(self._calls)[: _MAX_TRACKED_CALLS // 10]:
                del self._calls[old]
        self._calls[(call.queue, call.call_id)] = call

    def _call_of(self, h: Mapping[str, str]) -> tuple[str, str]:
        raw = _text(h.get("CC-Queue"), "CC-Queue")
        return _text(queue_name(raw), "CC-Queue"), _text(h.get("CC-Member-UUID"), "CC-Member-UUID")

    def _answered(self, c: _Call, agent_id: str, answered: float, joined: float, ts: float) -> Event:
        if c.gen:  # resumed: wait from the rejoin, not from the first entry
            joined = max(joined, math.floor(c.since))
        wait = _duration(joined, answered, "wait")
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
        stamp = h.get("Event-Date-Timestamp")
        if stamp:
            # (a regex, not str.isdigit, which takes '²'; and bounded, as a 400-digit int overflows a float)
            if not _MICROS.fullmatch(stamp) or not _TS_MIN <= int(stamp) / 1e6 < _TS_MAX:
                raise CallcenterError(f"Event-Date-Timestamp is not epoch microseconds: {shown(stamp)}")
            ts = int(stamp) / 1e6
        else:
            ts = time.time() if now is None else now
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
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        out = self.expire(ts)
        a.offering, a.after_call = True, False
        self._show(agent_id, a, ts, out)
        return out

    def _bridge_start(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        answered = _epoch(h.get("CC-Agent-Answered-Time"), "CC-Agent-Answered-Time")
        joined = _epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
        c = self._calls.get((queue, call_id)) or _Call(queue, call_id, "", joined)
        answer = self._answered(_Call(queue, call_id, c.gen, c.since), agent_id, answered, joined, ts)
        out = self.expire(ts)
        if not c.answered:
            out.append(answer)
        c.answered = True
        self._remember(c)
        a.in_call, a.offering, a.idle, a.after_call, a.wrap_until = True, False, False, False, None
        self._show(agent_id, a, ts, out)
        return out

    def _bridge_fail(self, h: Mapping[str, str], ts: float) -> list[Event]:
        self._call_of(h)
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        out = self.expire(ts)
        # mod_callcenter then sets the agent Waiting (Idle if "Available (On Demand)").
        a.offering, a.idle = False, a.status == ON_DEMAND
        self._show(agent_id, a, ts, out)
        return out

    def _bridge_end(self, h: Mapping[str, str], ts: float) -> list[Event]:
        queue, call_id = self._call_of(h)
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        answered = _epoch(h.get("CC-Agent-Answered-Time"), "CC-Agent-Answered-Time")
        talk = _duration(answered, _epoch(h.get("CC-Bridge-Terminated-Time"), "CC-Bridge-Terminated-Time"), "talk")
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
        self._show(agent_id, a, ts, out)
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
        leaving = _epoch_or(h, "CC-Member-Leaving-Time", ts)
        if c is None:
            joined = _epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
        else:
            joined = _epoch_or(h, "CC-Member-Joined-Time", math.floor(c.since))
            if c.gen:  # resumed: its wait runs from the rejoin, as for an answer
                joined = max(joined, math.floor(c.since))
        wait = _duration(joined, leaving, "wait")
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
            agent_id = _text(self.agent_id(_text(h.get("CC-Agent"), "CC-Agent")), "CC-Agent")
            answered = _epoch(answered_text, "CC-Agent-Answered-Time")
            if not c.answered:
                joined = _epoch(h.get("CC-Member-Joined-Time"), "CC-Member-Joined-Time")
                recovered.append(
                    self._answered(_Call(c.queue, c.call_id, c.gen, c.since), agent_id, answered, joined, answered)
                )
            if not c.ended:
                leaving = _epoch_or(h, "CC-Member-Leaving-Time", ts)
                recovered.append(
                    CallEnded(
                        self.call_event_id(c.queue, c.call_id, c.gen, "ended"),
                        self.source,
                        ts,
                        c.queue,
                        c.call_id,
                        agent_id,
                        _duration(answered, leaving, "talk"),
                    )
                )
        out = self.expire(ts)
        self._calls.pop((c.queue, c.call_id), None)
        if recovered:
            out.extend(recovered)
        elif known and not c.answered:
            out.append(
                CallLost(self.call_event_id(c.queue, c.call_id, c.gen, "lost"), self.source, ts, c.queue, c.call_id)
            )
        return out

    def _status(self, h: Mapping[str, str], ts: float) -> list[Event]:
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        status = h.get("CC-Agent-Status", "")
        if status not in _STATUSES:
            raise CallcenterError(
                f"unknown CC-Agent-Status {shown(status)}" if status else "CC-Agent-Status is missing"
            )
        out = self.expire(ts)
        a.status, a.after_call = status, False
        self._show(agent_id, a, ts, out)
        return out

    def _state(self, h: Mapping[str, str], ts: float) -> list[Event]:
        agent_id, a = self._agent_of(h.get("CC-Agent"))
        state = h.get("CC-Agent-State", "")
        if state not in _STATES:
            raise CallcenterError(f"unknown CC-Agent-State {shown(state)}" if state else "CC-Agent-State is missing")
        out = self.expire(ts)
        self._set_state(a, state)
        self._show(agent_id, a, ts, out)
        return out

    @staticmethod
    def _set_state(a: _Agent, state: str) -> None:
        a.in_call = state == "In a queue call"
        a.offering = state in ("Receiving", "Reserved")
        a.idle = state == "Idle"
        if not a.idle:
            a.after_call = False

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
        present: set[tuple[str, str]] = set()
        for row in members:
            try:
                self._member_row(row, out, present, believed)
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                errors.append(f"member row: {exc}")
        listed: set[str] = set()
        for row in agents:
            try:
                self._agent_row(row, now, out, listed)
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                errors.append(f"agent row: {exc}")
        for agent_id, a in self._agents.items():
            if agent_id not in listed:  # deleted from mod_callcenter
                a.status, a.in_call, a.offering, a.wrap_until = LOGGED_OUT, False, False, None
                self._show(agent_id, a, now, out)
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
                out.append(
                    CallLost(
                        self.call_event_id(c.queue, c.call_id, c.gen, "lost"), self.source, now, c.queue, c.call_id
                    )
                )
        return out, errors

    def _member_row(
        self, row: Mapping[str, str], out: list[Event], present: set[tuple[str, str]], believed: set[tuple[str, str]]
    ) -> None:
        queue = _text(queue_name(row.get("queue", "")), "queue")
        call_id = _text(row.get("uuid"), "uuid")
        state = row.get("state", "")
        joined = _epoch(row.get("joined_epoch"), "joined_epoch")
        rejoined = _epoch_column(row.get("rejoined_epoch"), "rejoined_epoch")
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
            bridged = _epoch_column(row.get("bridge_epoch"), "bridge_epoch")
            if agent and bridged > 0:
                agent_id = _text(self.agent_id(agent), "serving_agent")
                out.append(self._answered(c, agent_id, float(bridged), since, float(bridged)))
            elif key in believed:
                out.append(
                    CallLost(self.call_event_id(queue, call_id, gen, "lost"), self.source, since, queue, call_id)
                )
            c.answered = True
        # Abandoned (kept a while for a possible resume) or unknown: not waiting any more.

    def _agent_row(self, row: Mapping[str, str], now: float, out: list[Event], listed: set[str]) -> None:
        agent_id, a = self._agent_of(row.get("name"), "name")
        listed.add(agent_id)  # a malformed row leaves the agent as it was, not logged out
        status, state = row.get("status", ""), row.get("state", "")
        if status not in _STATUSES:
            raise CallcenterError(f"unknown status {shown(status)}")  # (not the agent's name: personal data)
        if state not in _STATES:
            raise CallcenterError(f"unknown state {shown(state)}")
        wrap = _int(row.get("wrap_up_time"), "wrap_up_time")
        bridge_end = _int(row.get("last_bridge_end"), "last_bridge_end")
        status_change = _int(row.get("last_status_change"), "last_status_change")
        a.status, a.wrap_up_s = status, float(max(wrap, 0))
        self._set_state(a, state)
        a.after_call = a.idle and bridge_end > status_change
        until = float(bridge_end + wrap)
        a.wrap_until = until if wrap > 0 and bridge_end > 0 and until > now and not a.in_call else None
        self._show(agent_id, a, now, out)


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


# ------------------------------------------------------------ wire format


@dataclass(slots=True)
class Message:
    """One Event Socket message: its headers and (Content-Length) body."""

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class BadMessage(Exception):
    """A message that was skipped; the stream is positioned after it."""


async def read_message(reader: LineReader) -> Message:
    """The next message; :class:`BadMessage` after skipping a malformed one, ProtocolError if framing is lost."""
    headers: dict[str, str] = {}
    problem = ""
    while True:
        try:
            line = await reader.readline()
        except LineTooLong as exc:
            problem = problem or str(exc)
            continue
        if not line:
            if headers or problem:
                break
            continue  # blank lines between messages
        try:
            key, value = parse_header(line)
        except ProtocolError as exc:
            problem = problem or f"garbage where headers belong ({exc})"
            continue
        headers[key] = value
    body = b""
    length = headers.get("Content-Length")
    if length is not None:
        if not _LENGTH.fullmatch(length):
            if headers.get("Content-Type") != "text/event-plain":
                raise ProtocolError(f"bad Content-Length {shown(length)}: message framing lost")
            await _skip_block(reader)  # an event body ends with a blank line
            raise BadMessage(f"bad Content-Length {shown(length)}; the event was skipped")
        n = int(length)
        if n > MAX_BODY:
            while n > 0:  # skip without keeping it
                n -= len(await reader.readexactly(min(n, 65536)))
            raise BadMessage(f"a body of {length} bytes is over the {MAX_BODY}-byte limit; skipped")
        body = await reader.readexactly(n)
    if problem:
        raise BadMessage(problem)
    if "Content-Type" not in headers:
        raise BadMessage(f"a message without Content-Type ({len(headers)} headers)")
    return Message(headers, body)


async def _skip_block(reader: LineReader) -> None:
    while True:
        try:
            if not await reader.readline():
                return
        except LineTooLong:
            continue


def parse_event(body: bytes) -> dict[str, str]:
    """Headers of a ``text/event-plain`` body, URL-decoded; CallcenterError if it is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallcenterError("event body is not UTF-8 text") from None
    head, sep, _ = text.partition("\n\n")
    if not sep:
        raise CallcenterError(f"truncated event body: no blank line after its headers ({len(body)} bytes)")
    headers: dict[str, str] = {}
    for n, line in enumerate(head.split("\n"), 1):
        key, sep, value = line.rstrip("\r").partition(": ")
        if not sep or not key or key != key.strip():  # (never quoted: it may hold a caller's number)
            raise CallcenterError(f"event line {n} is not 'Name: value' ({len(line)} characters)")
        headers[key] = unquote(value)
    return headers


def _reply_line(body: bytes) -> str:
    """The ``+OK``/``-ERR`` line of a reply body, else only its size: a body may be a table of agents."""
    first = body.decode("utf-8", "replace").strip().split("\n", 1)[0]
    return first if first.startswith(("+OK", "-ERR", "-USAGE")) else f"a body of {len(body)} bytes"


def parse_table(
    body: str, what: str, required: Iterable[str], free_text: str = ""
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of a ``callcenter_config … list`` answer (``|``-separated, header line first, ``+OK`` last).

    ``free_text`` names the one column that may itself contain ``|``: extra
    fields are joined back into it. Returns the rows and the reasons of rows
    skipped; ProtocolError if the answer is not a table or lacks a required column.
    """
    lines = [line.rstrip("\r") for line in body.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[-1].strip() != "+OK":
        first = lines[0] if lines else ""
        raise ProtocolError(f"'{what}' did not answer a table: {first[:120]!r}")
    rows = [line for line in lines[:-1] if line]
    if not rows:
        return [], []
    header = rows[0].split("|")
    missing = [c for c in required if c not in header]
    if missing:
        raise ProtocolError(f"'{what}' has no column {', '.join(missing)} (columns: {'|'.join(header)[:200]})")
    out: list[dict[str, str]] = []
    errors: list[str] = []
    for line in rows[1:]:
        fields = line.split("|")
        extra = len(fields) - len(header)
        if extra > 0 and free_text in header:
            i = header.index(free_text)
            fields[i : i + extra + 1] = ["|".join(fields[i : i + extra + 1])]
        if len(fields) != len(header):
            # (the row itself is not quoted: it holds callers' numbers and names, agents' names)
            errors.append(f"{what}: a row of {len(fields)} fields under {len(header)} columns skipped")
            continue
        out.append({k: "" if v == "(null)" else v for k, v in zip(header, fields)})
    return out, errors


# ------------------------------------------------------------ the collector


class _Collector:
    """What outlives one connection: the translator and the last saved cursor."""

    def __init__(self, ctx: CollectorContext[Options], options: Options) -> None:
        self.ctx = ctx
        self.options = options
        self.translator = CallcenterTranslator(ctx.source, ctx.config.agent_aliases(), ctx.config.pause_reason_codes())
        self.saved: list[list[Any]] = []

    async def start(self) -> None:
        cursor = await self.ctx.load_cursor()
        self.translator.restore(cursor.get("waiting") or [])
        self.saved = self.translator.waiting()

    async def emit(self, events: list[Event]) -> None:
        if events:
            await self.ctx.emit(events)
        waiting = self.translator.waiting()
        if waiting != self.saved:
            try:
                await self.ctx.save_cursor({"waiting": waiting})
                self.saved = waiting
            except (RedisError, OSError) as exc:  # kept for the next batch; emit() reports Redis outages
                self.ctx.log.warning("could not save the waiting calls: %s", exc)

    async def session(self, reader: LineReader, writer: asyncio.StreamWriter) -> None:
        await _Session(self, reader, writer).run()


class _Session:
    """One connection: handshake, resync, then events and keep-alives until something breaks."""

    def __init__(self, owner: _Collector, reader: LineReader, writer: asyncio.StreamWriter) -> None:
        self.owner = owner
        self.ctx = owner.ctx
        self.options = owner.options
        self.translator = owner.translator
        self.reader = reader
        self.writer = writer
        self.inbox: asyncio.Queue[Message | BadMessage | BaseException] = asyncio.Queue(maxsize=10_000)
        self.buffered: list[dict[str, str]] = []
        self.ping_due: float | None = None  # loop time by which `api status` must be answered

    async def run(self) -> None:
        pump = asyncio.create_task(self._pump())
        try:
            await self._handshake()
            await self._resync()
            await self._stream()
        finally:
            pump.cancel()
            await asyncio.wait([pump])  # never raises the pump's CancelledError, so never hides our own

    async def _pump(self) -> None:
        """Read messages into the inbox; the error that ends the link is its last item."""
        while True:
            item: Message | BadMessage | BaseException
            try:
                item = await read_message(self.reader)
            except BadMessage as exc:
                item = exc
            except Exception as exc:  # the link is closed or its framing lost: the session ends with it
                await self.inbox.put(exc)
                return
            await self.inbox.put(item)

    async def _send(self, command: str) -> None:
        self.writer.write(command.encode() + b"\n\n")
        await self.writer.drain()

    async def _next(self, timeout: float) -> Message | BadMessage | None:
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the item does, and the collector would never stop.
            async with asyncio.timeout(max(0.0, timeout)):
                item = await self.inbox.get()
        except TimeoutError:
            return None
        if isinstance(item, BaseException) and not isinstance(item, BadMessage):
            raise item
        return item

    async def _reply(self, content_type: str, what: str) -> Message:
        """The reply to the command just sent, buffering events that come first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.timeout_s
        while True:
            item = await self._next(deadline - loop.time())
            if item is None:
                raise ProtocolError(f"no reply to {what} within {self.options.timeout_s:g} s")
            if isinstance(item, BadMessage):
                self.ctx.reject(str(item))
                continue
            ct = item.content_type
            if ct == content_type:
                return item
            if ct == "text/event-plain":
                try:
                    self.buffered.append(parse_event(item.body))
                except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                    self.ctx.reject(f"event: {exc}")
            elif ct in (
                "command/reply",
                "api/response",
                "auth/request",
                "text/disconnect-notice",
                "text/rude-rejection",
            ):
                detail = item.headers.get("Reply-Text") or _reply_line(item.body)
                raise ProtocolError(f"expected {content_type} to {what}, got {ct}: {detail[:120]!r}")

    async def _handshake(self) -> None:
        first = await self._next(self.options.timeout_s)
        if first is None:
            raise ProtocolError(f"no auth/request within {self.options.timeout_s:g} s of connecting")
        if isinstance(first, BadMessage):
            raise ProtocolError(f"expected auth/request on connect, got {first}")
        if first.content_type != "auth/request":  # e.g. text/rude-rejection: "Access Denied, go away."
            body = first.body[:80].decode("utf-8", "replace")
            raise ProtocolError(f"expected auth/request on connect, got {first.content_type!r} {body!r}")
        await self._send(f"auth {self.options.password}")
        text = (await self._reply("command/reply", "auth")).headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise ProtocolError(f"auth refused by FreeSWITCH: {text[:80] or 'no Reply-Text'}")
        await self._send(SUBSCRIBE)
        text = (await self._reply("command/reply", "the event subscription")).headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise ProtocolError(f"event subscription refused: {text[:80] or 'no Reply-Text'}")

    async def _api(self, command: str, required: Iterable[str], free_text: str = "") -> list[dict[str, str]]:
        await self._send(f"api {command}")
        reply = await self._reply("api/response", f"'api {command}'")
        rows, errors = parse_table(reply.body.decode("utf-8", "replace"), command, required, free_text)
        for error in errors:
            self.ctx.reject(error)
        return rows

    async def _resync(self) -> None:
        queues = await self._api("callcenter_config queue list", ["name"])
        members: list[dict[str, str]] = []
        for q in queues:
            name = q["name"]
            if not name or any(ch.isspace() for ch in name):
                self.ctx.reject(f"queue list: unusable queue name {name[:60]!r}")
                continue
            members += await self._api(
                f"callcenter_config queue list members {name}", ["queue", "uuid", "joined_epoch", "state"], "cid_name"
            )
        agents = await self._api("callcenter_config agent list", ["name", "status", "state"], "contact")
        events, errors = self.translator.resync(members, agents, time.time(), self.buffered)
        self.buffered = []
        for error in errors:
            self.ctx.reject(error)
        await self.owner.emit(events)
        self.ctx.set_connected(True)
        await self.ctx.heartbeat(force=True)
        self.ctx.log.info("resynchronised: %d queues, %d members, %d agents", len(queues), len(members), len(agents))

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        keepalive, timeout = self.options.keepalive_s, self.options.timeout_s
        next_ping = loop.time() + keepalive
        while True:
            wake = next_ping if self.ping_due is None else self.ping_due
            due = self.translator.next_due()
            wait = wake - loop.time()
            if due is not None:
                wait = min(wait, due - time.time())
            item = await self._next(wait)
            if item is not None:
                await self._handle(item)
            if self.ping_due is not None and loop.time() >= self.ping_due:
                while not self.inbox.empty():  # a reply may be queued behind a slow emit
                    queued = await self._next(0)
                    if queued is not None:
                        await self._handle(queued)
                if self.ping_due is not None:
                    raise ProtocolError(f"no reply to keep-alive 'api status' within {timeout:g} s")
            now = loop.time()
            if self.ping_due is None and now >= next_ping:
                await self._send("api status")
                self.ping_due, next_ping = now + timeout, now + keepalive
            expired = self.translator.expire(time.time())
            if expired:
                await self.owner.emit(expired)

    async def _handle(self, item: Message | BadMessage) -> None:
        if isinstance(item, BadMessage):
            self.ctx.reject(str(item))
            return
        ct = item.content_type
        if ct == "text/event-plain":
            try:
                events = self.translator.feed(parse_event(item.body))
            except (CallcenterError, ValueError) as exc:  # ValueError: unforeseen, counted
                self.ctx.reject(f"event: {exc}")
                return
            if events:
                await self.owner.emit(events)
        elif ct == "api/response":
            self.ping_due = None
        elif ct in ("text/disconnect-notice", "text/rude-rejection"):
            raise ProtocolError(f"FreeSWITCH closed the session: {item.body[:120].decode('utf-8', 'replace')!r}")
        elif ct == "auth/request":
            raise ProtocolError("FreeSWITCH asked to authenticate again in the middle of a session")
        # command/reply, log/data and the like carry nothing for the board


async def run(ctx: CollectorContext[Options]) -> None:
    """Keep an Event Socket session to FreeSWITCH up, emitting mod_callcenter's events."""
    options = ctx.options
    ctx.health.connected = False  # before the first await: the runner's heartbeat must not report it up yet
    collector = _Collector(ctx, options)
    await collector.start()
    await keep_linked(ctx, options.host, options.port, collector.session, connect_timeout_s=options.connect_timeout_s)
