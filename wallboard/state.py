"""The centre state the fold builds: per queue, per agent, and the fold's own bookkeeping.

Plain slotted records, no behaviour beyond creating an entry on first use: the
fold (:mod:`wallboard.fold`) changes them, the snapshot (:mod:`wallboard.snapshot`)
reads them, and :mod:`wallboard.checkpoint` saves and restores them.

What a queue keeps: calls waiting now, counters per local interval (by outcome
time), and the outcome records of the longest rolling window, so a rolling window
is exact to the second. What an agent keeps: its live state since when, its queue
membership, and counters per interval (calls, handle time, seconds per state).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from wallboard.counters import AgentCounters, QueueCounters
from wallboard.events import AgentState

# ------------------------------------------------- rolling-window records
# One per outcome within the longest rolling window, oldest first; each kind has
# a one-letter TAG (how a checkpoint writes it) and its values in a fixed order.


@dataclass(slots=True)
class Answered:
    """A call answered after ``wait`` seconds (``within_sl``: at most the queue's threshold)."""

    TAG: ClassVar[str] = "a"
    ts: float
    wait: float
    within_sl: bool


@dataclass(slots=True)
class Abandoned:
    """A call abandoned after ``wait`` seconds (``short``: within the short-abandon threshold)."""

    TAG: ClassVar[str] = "b"
    ts: float
    wait: float
    within_sl: bool
    short: bool


@dataclass(slots=True)
class Exited:
    """A call that left the queue unanswered for ``reason`` (timeout, exit key, …) after ``wait`` seconds."""

    TAG: ClassVar[str] = "x"
    ts: float
    wait: float
    reason: str
    within_sl: bool


@dataclass(slots=True)
class Handled:
    """The end of an agent's handling of a call; ``wrap`` grows when the agent's wrap-up ends."""

    TAG: ClassVar[str] = "e"
    ts: float
    talk: float
    hold: float
    wrap: float
    call_id: str
    transferred: bool


WindowRecord: TypeAlias = Answered | Abandoned | Exited | Handled
#: Every kind of window record, by its tag.
RECORD_TYPES: dict[str, type[WindowRecord]] = {cls.TAG: cls for cls in (Answered, Abandoned, Exited, Handled)}


@dataclass(slots=True)
class Waiting:
    """A call waiting in a queue: since when, and the source that reported it (a reset clears its calls)."""

    since: float
    source: str


@dataclass(slots=True)
class LastCall:
    """The call an agent handled last, where its wrap-up is to be counted."""

    queue: str
    call_id: str
    #: Start of the interval the call ended in.
    start: int


# --------------------------------------------------------------- entries


@dataclass(slots=True)
class QueueState:
    """One queue: calls waiting, outcomes seen recently, interval counters, window records."""

    waiting: dict[str, Waiting] = field(default_factory=dict)  # by call id
    #: call id -> outcome time, in two generations (this one and the one before), rotated with the
    #: remembered event ids: an outcome that arrives before its queued event keeps the call from waiting.
    finished: dict[str, float] = field(default_factory=dict)
    finished_old: dict[str, float] = field(default_factory=dict)
    buckets: dict[int, QueueCounters] = field(default_factory=dict)  # by interval start
    recent: deque[WindowRecord] = field(default_factory=deque)

    def bucket(self, start: int) -> QueueCounters:
        c = self.buckets.get(start)
        if c is None:
            c = self.buckets[start] = QueueCounters()
        return c


@dataclass(slots=True)
class AgentEntry:
    """One agent: its live state (an :class:`~wallboard.events.AgentState` value) and its counters."""

    state: str = AgentState.LOGGED_OUT
    reason: str = ""
    direction: str = ""
    since: float = 0.0
    queues: set[str] = field(default_factory=set)
    last_call: LastCall | None = None
    buckets: dict[int, AgentCounters] = field(default_factory=dict)  # by interval start

    def bucket(self, start: int) -> AgentCounters:
        c = self.buckets.get(start)
        if c is None:
            c = self.buckets[start] = AgentCounters()
        return c


@dataclass(slots=True)
class CentreState:
    """Everything the fold keeps: queues, agents, and what it needs to admit the next event."""

    queues: dict[str, QueueState] = field(default_factory=dict)
    agents: dict[str, AgentEntry] = field(default_factory=dict)
    # Event ids for de-duplication, in two generations rotated every dedup horizon of event
    # time, or when one holds dedup_max_ids: an id is remembered while newer events span less
    # than that (or that many newer ids came), with no per-id bookkeeping.
    seen: set[str] = field(default_factory=set)
    seen_old: set[str] = field(default_factory=set)
    generation_start: float = 0.0
    sources: dict[str, float] = field(default_factory=dict)  # source -> newest event ts
    max_ts: float = 0.0
    #: The newest clock given to apply (or, without one, the newest event time): housekeeping follows it.
    now: float = 0.0
    pruned_at: float = 0.0
    applied: int = 0
    duplicates: int = 0
    refused: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> verdict -> count
    # Names that were refused (a bounded number of each), with how often, and those discovered.
    unconfigured_queues: dict[str, int] = field(default_factory=dict)
    unconfigured_agents: dict[str, int] = field(default_factory=dict)
    discovered_queues: set[str] = field(default_factory=set)
    discovered_agents: set[str] = field(default_factory=set)

    def queue(self, queue_id: str) -> QueueState:
        q = self.queues.get(queue_id)
        if q is None:
            q = self.queues[queue_id] = QueueState()
        return q

    def agent(self, agent_id: str) -> AgentEntry:
        a = self.agents.get(agent_id)
        if a is None:
            a = self.agents[agent_id] = AgentEntry()
        return a
