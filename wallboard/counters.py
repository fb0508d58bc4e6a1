"""Raw counters, kept per queue and per agent for each interval.

Every KPI is derived from these (see :mod:`wallboard.kpi`), so every variant
can be shown for any window by merging counters. Within-SL flags are decided at
fold time against the queue's threshold in force then: for answers, abandons and
(by reason) the other exits, which Asterisk's SL2 counts as abandons.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from wallboard.events import AgentState


@dataclass(slots=True)
class QueueCounters:
    """Call outcomes in one queue over one span of time (by outcome time)."""

    entered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    answer_wait_sum: float = 0.0
    abandoned: int = 0
    abandoned_within_sl: int = 0
    short_abandoned: int = 0
    abandon_wait_sum: float = 0.0
    other_exits: int = 0
    exits: dict[str, int] = field(default_factory=dict)
    max_wait: float = 0.0
    handled: int = 0
    transferred: int = 0
    talk_sum: float = 0.0
    hold_sum: float = 0.0
    wrap_sum: float = 0.0
    #: Other exits with wait ≤ T, by reason (last: counters saved before it existed still load).
    exits_within_sl: dict[str, int] = field(default_factory=dict)

    @property
    def offered(self) -> int:
        """Off = A + Ab + other exits: calls whose outcome fell in the span."""
        return self.answered + self.abandoned + self.other_exits

    def add_answered(self, wait: float, within_sl: bool) -> None:
        self.answered += 1
        self.answer_wait_sum += wait
        if within_sl:
            self.answered_within_sl += 1
        if wait > self.max_wait:
            self.max_wait = wait

    def add_abandoned(self, wait: float, within_sl: bool, short: bool) -> None:
        self.abandoned += 1
        self.abandon_wait_sum += wait
        if within_sl:
            self.abandoned_within_sl += 1
        if short:
            self.short_abandoned += 1
        if wait > self.max_wait:
            self.max_wait = wait

    def add_exited(self, wait: float, reason: str, within_sl: bool) -> None:
        self.other_exits += 1
        self.exits[reason] = self.exits.get(reason, 0) + 1
        if within_sl:
            self.exits_within_sl[reason] = self.exits_within_sl.get(reason, 0) + 1
        if wait > self.max_wait:
            self.max_wait = wait

    def add_ended(self, talk: float, hold: float, transferred: bool) -> None:
        self.handled += 1
        self.talk_sum += talk
        self.hold_sum += hold
        if transferred:
            self.transferred += 1

    def merge(self, other: QueueCounters) -> None:
        """Add ``other`` into this one (max for max_wait)."""
        for name in _SUMMED_QUEUE_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.exits.items():
            self.exits[reason] = self.exits.get(reason, 0) + n
        for reason, n in other.exits_within_sl.items():
            self.exits_within_sl[reason] = self.exits_within_sl.get(reason, 0) + n
        if other.max_wait > self.max_wait:
            self.max_wait = other.max_wait

    def to_list(self) -> list[Any]:
        return list(_QUEUE_VALUES(self))

    @classmethod
    def from_list(cls, values: list[Any]) -> QueueCounters:
        """Counters from their values in field order; a list saved without the newest fields leaves them empty."""
        return cls(*values)


_SUMMED_QUEUE_FIELDS = tuple(
    f.name for f in fields(QueueCounters) if f.name not in ("exits", "exits_within_sl", "max_wait")
)
_QUEUE_VALUES = attrgetter(*(f.name for f in fields(QueueCounters)))


@dataclass(slots=True)
class AgentCounters:
    """One agent's work over one span: calls and seconds in each state."""

    answered: int = 0
    answer_wait_sum: float = 0.0
    handled: int = 0
    transferred: int = 0
    talk_sum: float = 0.0
    hold_sum: float = 0.0
    wrap_sum: float = 0.0
    state_s: dict[str, float] = field(default_factory=dict)
    pause_s: dict[str, float] = field(default_factory=dict)

    def add_time(self, state: str, reason: str, seconds: float) -> None:
        self.state_s[state] = self.state_s.get(state, 0.0) + seconds
        if state == _NOT_READY:
            key = reason or "unspecified"
            self.pause_s[key] = self.pause_s.get(key, 0.0) + seconds

    def merge(self, other: AgentCounters) -> None:
        for name in _SUMMED_AGENT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, s in other.state_s.items():
            self.state_s[state] = self.state_s.get(state, 0.0) + s
        for reason, s in other.pause_s.items():
            self.pause_s[reason] = self.pause_s.get(reason, 0.0) + s

    def to_list(self) -> list[Any]:
        return list(_AGENT_VALUES(self))

    @classmethod
    def from_list(cls, values: list[Any]) -> AgentCounters:
        return cls(*values)


_NOT_READY = AgentState.NOT_READY  # (a member look-up costs, per state change)
_SUMMED_AGENT_FIELDS = tuple(f.name for f in fields(AgentCounters) if f.name not in ("state_s", "pause_s"))
_AGENT_VALUES = attrgetter(*(f.name for f in fields(AgentCounters)))
