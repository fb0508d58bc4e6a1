"""Typed events: the one vocabulary every source speaks and the fold understands.

Every event has a stable ``id`` (duplicates with the same id count once), the
``source`` that produced it and ``ts``, POSIX seconds (UTC by definition; the
fold works on floats for speed, aware datetimes appear only at the edges).
Events are plain slotted dataclasses, to be treated as immutable: frozen ones
cost seven times as much to build, on the hottest path of every source. How
they travel (on a stream, as JSON) and what values they may hold is
:mod:`wallboard.wire`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, TypeAlias


class AgentState(StrEnum):
    """Agent states normalised across sources (docs/SOURCES.md maps each source's states onto these)."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"


AGENT_STATES: tuple[str, ...] = tuple(s.value for s in AgentState)
#: Why a call left a queue unanswered without the caller hanging up.
EXIT_REASONS: tuple[str, ...] = ("timeout", "exit_key", "empty", "withdraw", "other")
CALL_DIRECTIONS: tuple[str, ...] = ("", "inbound", "outbound", "internal")


@dataclass(slots=True)
class Event:
    """Fields every event carries."""

    KIND: ClassVar[str] = ""
    id: str
    source: str
    ts: float


@dataclass(slots=True)
class CallQueued(Event):
    """A call entered a queue (it is now waiting)."""

    KIND: ClassVar[str] = "call.queued"
    queue: str
    call_id: str
    channel: str = "voice"


@dataclass(slots=True)
class CallAnswered(Event):
    """An agent answered a queued call after ``wait_s`` seconds in queue."""

    KIND: ClassVar[str] = "call.answered"
    queue: str
    call_id: str
    agent: str
    wait_s: float
    channel: str = "voice"


@dataclass(slots=True)
class CallAbandoned(Event):
    """The caller hung up while waiting, after ``wait_s`` seconds."""

    KIND: ClassVar[str] = "call.abandoned"
    queue: str
    call_id: str
    wait_s: float
    channel: str = "voice"


@dataclass(slots=True)
class CallExited(Event):
    """The call left the queue unanswered for a reason other than hanging up."""

    KIND: ClassVar[str] = "call.exited"
    queue: str
    call_id: str
    wait_s: float
    reason: str
    channel: str = "voice"


@dataclass(slots=True)
class CallLost(Event):
    """The source lost sight of a waiting call (it left while the link was down):
    it is no longer waiting, and no outcome is counted because none is known."""

    KIND: ClassVar[str] = "call.lost"
    queue: str
    call_id: str


@dataclass(slots=True)
class CallEnded(Event):
    """A call handled by ``agent`` ended (talk excludes hold where the source knows hold)."""

    KIND: ClassVar[str] = "call.ended"
    queue: str
    call_id: str
    agent: str
    talk_s: float
    hold_s: float = 0.0
    channel: str = "voice"


@dataclass(slots=True)
class CallTransferred(Event):
    """The agent transferred the call away; its handling by this agent ended."""

    KIND: ClassVar[str] = "call.transferred"
    queue: str
    call_id: str
    agent: str
    talk_s: float
    hold_s: float = 0.0
    target: str = ""
    channel: str = "voice"


@dataclass(slots=True)
class AgentLogin(Event):
    """An agent joined ``queue`` (empty: logged in, queues unknown)."""

    KIND: ClassVar[str] = "agent.login"
    agent: str
    queue: str = ""


@dataclass(slots=True)
class AgentLogout(Event):
    """An agent left ``queue`` (empty: logged out of everything)."""

    KIND: ClassVar[str] = "agent.logout"
    agent: str
    queue: str = ""


@dataclass(slots=True)
class AgentStateChanged(Event):
    """An agent's normalised state changed (reason code for not_ready)."""

    KIND: ClassVar[str] = "agent.state"
    agent: str
    state: str
    reason: str = ""
    direction: str = ""


@dataclass(slots=True)
class SourceReset(Event):
    """The source's phone system restarted: calls it had waiting are gone."""

    KIND: ClassVar[str] = "source.reset"


AnyEvent: TypeAlias = (
    CallQueued
    | CallAnswered
    | CallAbandoned
    | CallExited
    | CallLost
    | CallEnded
    | CallTransferred
    | AgentLogin
    | AgentLogout
    | AgentStateChanged
    | SourceReset
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        CallQueued,
        CallAnswered,
        CallAbandoned,
        CallExited,
        CallLost,
        CallEnded,
        CallTransferred,
        AgentLogin,
        AgentLogout,
        AgentStateChanged,
        SourceReset,
    )
}
