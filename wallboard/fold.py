"""The fold: events in, centre state out. Pure: no Redis, no clock, no logging.

State depends only on the events applied (and their order only where BRIEF
allows it to), so a checkpoint of it plus the events after the checkpoint gives
exactly the state of an uninterrupted run.

Time: the caller's clock is "now" (the aggregator passes its own). Event time
only places an event in its interval: an event later than now plus
``FoldSettings.max_skew_s`` is refused (a wrong clock at the source must not
become the centre's now), one older than the retained history is refused as
late, and forgetting old records and intervals follows the given clock. Remembered
ids rotate by event time, which the refusal of future events keeps honest. Without
a clock (a report of a file) the newest event time stands in for it.

Names: when ``FoldSettings.queues``/``agents`` are given (the live wallboard),
an event naming a queue or agent outside them is refused, unless its source may
discover names (then under a hard cap), so no source can grow the state beyond
what the config bounds. A call event whose queue is known but whose agent is
not still counts for the queue; only the agent's part is left out.

What the state keeps, per queue: calls waiting now, counters per local interval
(by outcome time), and the outcome records of the longest rolling window, so a
rolling window is exact to the second. Per agent: live state since when, queue
membership, and counters per interval (calls, handle time, seconds per state).
A report needs only the queues' interval counters: with ``FoldSettings.live``
false the rest is not kept (a third of the fold's time).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from wallboard.clock import LocalIntervals
from wallboard.config import Config
from wallboard.counters import AgentCounters, QueueCounters
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
    SourceReset,
)

STATE_VERSION = 3
_READABLE_VERSIONS = (2, 3)  # version 2 lacks the clock and refusal fields: they start empty
_PRUNE_EVERY_S = 60.0
#: Unconfigured names remembered for health (each counted); further ones are only counted.
NAMES_KEPT = 20


class Verdict(StrEnum):
    """What :func:`apply` did with an event; true only when the event was applied."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    FUTURE = "future"
    LATE = "late"
    UNCONFIGURED_QUEUE = "unconfigured_queue"
    UNCONFIGURED_AGENT = "unconfigured_agent"

    def __bool__(self) -> bool:
        return self is Verdict.APPLIED


_APPLIED, _DUPLICATE = Verdict.APPLIED, Verdict.DUPLICATE  # (a member look-up costs, per event)
#: The verdicts that refuse an event (counted per source in ``CentreState.refused``).
REFUSALS: tuple[Verdict, ...] = (Verdict.FUTURE, Verdict.LATE, Verdict.UNCONFIGURED_QUEUE, Verdict.UNCONFIGURED_AGENT)


@dataclass(frozen=True, slots=True)
class QueueRules:
    """What the fold needs of a queue: its thresholds in seconds."""

    sl_threshold_s: float
    short_abandon_s: float


@dataclass(frozen=True, slots=True)
class FoldSettings:
    """Everything the fold depends on besides the events."""

    intervals: LocalIntervals
    rules: Mapping[str, QueueRules]
    default_rules: QueueRules
    recent_s: float = 3600.0
    dedup_horizon_s: float = 3600.0
    #: ... or fewer: a generation of ids also ends once it holds this many (a burst or a replay
    #: must not grow the state and its checkpoint without bound).
    dedup_max_ids: int = 250_000
    retain_s: float | None = 2 * 86_400.0
    #: False: only the queues' interval counters are kept (a report); calls waiting,
    #: rolling-window records and everything about agents are left out.
    live: bool = True
    #: How far an event may be ahead of the clock given to :func:`apply` (sources' clocks drift).
    max_skew_s: float = 120.0
    #: The queues and agents events may name; None: any (a report of a file).
    queues: frozenset[str] | None = None
    agents: frozenset[str] | None = None
    #: Sources whose unconfigured names are admitted, up to the caps below, in all.
    discover: frozenset[str] = frozenset()
    max_discovered_queues: int = 50
    max_discovered_agents: int = 500

    def rules_for(self, queue: str) -> QueueRules:
        return self.rules.get(queue, self.default_rules)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        interval_minutes: int | None = None,
        retain_s: float | Literal["config"] | None = "config",
        live: bool = True,
    ) -> FoldSettings:
        """Settings of ``config``; ``retain_s`` None keeps every interval (a report of a file)."""
        minutes = interval_minutes or config.interval_minutes
        d = config.queue_defaults
        e = config.events
        return cls(
            intervals=LocalIntervals(config.zone, minutes * 60),
            rules={q.id: QueueRules(q.sl_threshold_s, q.short_abandon_s) for q in config.queues},
            default_rules=QueueRules(d.sl_threshold_s, d.short_abandon_s),
            recent_s=max(config.windows) * 60.0,
            retain_s=config.events.retain_days * 86_400.0 if retain_s == "config" else retain_s,
            live=live,
            max_skew_s=e.max_clock_skew_s,
            queues=frozenset(q.id for q in config.queues) if live else None,
            agents=frozenset(a.id for a in config.agents) if live else None,
            discover=frozenset(c.source for c in config.collectors if c.discover),
            max_discovered_queues=e.max_discovered_queues,
            max_discovered_agents=e.max_discovered_agents,
        )


# Outcome records of the rolling windows: [tag, ts, ...]
#   ["a", ts, wait, within_sl]                              answered
#   ["b", ts, wait, within_sl, short]                       abandoned
#   ["x", ts, wait, reason]                                 other exit
#   ["e", ts, talk, hold, wrap, call_id, transferred]       handling ended (wrap grows later)
Record = list[Any]


@dataclass(slots=True)
class QueueState:
    waiting: dict[str, list[Any]] = field(default_factory=dict)  # call_id -> [since, source]
    finished: dict[str, float] = field(default_factory=dict)  # call_id -> outcome ts (this generation)
    finished_old: dict[str, float] = field(default_factory=dict)  # … and the one before
    buckets: dict[int, QueueCounters] = field(default_factory=dict)
    recent: deque[Record] = field(default_factory=deque)

    def bucket(self, start: int) -> QueueCounters:
        c = self.buckets.get(start)
        if c is None:
            c = self.buckets[start] = QueueCounters()
        return c


@dataclass(slots=True)
class AgentState:
    state: str = "logged_out"
    reason: str = ""
    direction: str = ""
    since: float = 0.0
    queues: set[str] = field(default_factory=set)
    last_call: list[Any] | None = None  # [queue, call_id, bucket start of the call's end]
    buckets: dict[int, AgentCounters] = field(default_factory=dict)

    def bucket(self, start: int) -> AgentCounters:
        c = self.buckets.get(start)
        if c is None:
            c = self.buckets[start] = AgentCounters()
        return c


@dataclass(slots=True)
class CentreState:
    queues: dict[str, QueueState] = field(default_factory=dict)
    agents: dict[str, AgentState] = field(default_factory=dict)
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
    # Names that were refused (at most NAMES_KEPT of each), with how often, and those discovered.
    unconfigured_queues: dict[str, int] = field(default_factory=dict)
    unconfigured_agents: dict[str, int] = field(default_factory=dict)
    discovered_queues: set[str] = field(default_factory=set)
    discovered_agents: set[str] = field(default_factory=set)

    def queue(self, queue_id: str) -> QueueState:
        q = self.queues.get(queue_id)
        if q is None:
            q = self.queues[queue_id] = QueueState()
        return q

    def agent(self, agent_id: str) -> AgentState:
        a = self.agents.get(agent_id)
        if a is None:
            a = self.agents[agent_id] = AgentState()
        return a


# ------------------------------------------------------------------ the fold


def apply(state: CentreState, settings: FoldSettings, event: Event, now: float | None = None) -> Verdict:
    """Fold one event into ``state`` at clock ``now``; the verdict is true only if it was applied.

    A refused event (see :data:`REFUSALS`) changes nothing but its source's refusal
    count; a duplicate (same id seen) only the duplicate count.
    """
    ts = event.ts
    if now is None:
        clock = ts if ts > state.now else state.now
    else:
        clock = now
        if ts > now + settings.max_skew_s:
            return _refuse(state, event.source, Verdict.FUTURE)
        if settings.retain_s is not None and ts < now - settings.retain_s:
            return _refuse(state, event.source, Verdict.LATE)
    kind = type(event)
    known_queues = settings.queues
    if known_queues is not None:
        # Inline first test: nearly every event names a configured queue (and agent).
        if kind in _AGENT_ONLY:
            agents = settings.agents
            known = agents is None or event.agent in agents  # type: ignore[attr-defined]
            queue = event.queue if kind is not AgentStateChanged else ""  # type: ignore[attr-defined]
            known = known and (not queue or queue in known_queues)
        else:
            known = kind is SourceReset or event.queue in known_queues  # type: ignore[attr-defined]
        if not known:
            verdict = _names_admitted(state, settings, event)
            if verdict is not _APPLIED:
                return _refuse(state, event.source, verdict)
    eid, seen = event.id, state.seen
    if eid in seen or eid in state.seen_old:
        state.duplicates += 1
        return _DUPLICATE
    seen.add(eid)
    if len(seen) >= settings.dedup_max_ids:
        state.seen_old, state.seen = seen, set()
    state.applied += 1
    sources = state.sources
    if ts > state.max_ts:
        state.max_ts = ts
        if ts - state.generation_start >= settings.dedup_horizon_s:
            _rotate_generations(state, ts)
    if ts > sources.get(event.source, 0.0):
        sources[event.source] = ts
    if now is not None or clock > state.now:
        state.now = clock  # a given clock is trusted even when it steps back
    _HANDLERS[kind](state, settings, event)
    if not 0.0 <= state.now - state.pruned_at < _PRUNE_EVERY_S:
        prune(state, settings)
    return _APPLIED


def _refuse(state: CentreState, source: str, verdict: Verdict) -> Verdict:
    counts = state.refused.get(source)
    if counts is None:
        counts = state.refused[source] = {}
    counts[verdict.value] = counts.get(verdict.value, 0) + 1
    return verdict


_AGENT_ONLY = frozenset({AgentStateChanged, AgentLogin, AgentLogout})


def _names_admitted(state: CentreState, settings: FoldSettings, event: Event) -> Verdict:
    """APPLIED if the event names only known (or discoverable) queues and agents."""
    queue = "" if isinstance(event, (AgentStateChanged, SourceReset)) else event.queue  # type: ignore[attr-defined]
    if queue and not _known(state, settings, queue, event.source, agent=False):
        return Verdict.UNCONFIGURED_QUEUE
    if type(event) in _AGENT_ONLY and not _known(
        state,
        settings,
        event.agent,  # type: ignore[attr-defined]
        event.source,
        agent=True,
    ):
        return Verdict.UNCONFIGURED_AGENT
    return Verdict.APPLIED


def _known(state: CentreState, settings: FoldSettings, name: str, source: str, *, agent: bool) -> bool:
    configured = settings.agents if agent else settings.queues
    if configured is None or name in configured:
        return True
    discovered = state.discovered_agents if agent else state.discovered_queues
    if name in discovered:
        return True
    cap = settings.max_discovered_agents if agent else settings.max_discovered_queues
    if source in settings.discover and len(discovered) < cap:
        discovered.add(name)
        return True
    named = state.unconfigured_agents if agent else state.unconfigured_queues
    if name in named or len(named) < NAMES_KEPT:
        named[name] = named.get(name, 0) + 1
    return False


def _agent_of_call(
    state: CentreState, settings: FoldSettings, e: CallAnswered | CallEnded | CallTransferred
) -> AgentState | None:
    """The agent of a call event, or None when the agent is not one the config admits
    (the queue still counts the call: refusing it would leave it waiting for ever)."""
    agents = settings.agents
    if agents is not None and e.agent not in agents and not _known(state, settings, e.agent, e.source, agent=True):
        _refuse(state, e.source, Verdict.UNCONFIGURED_AGENT)
        return None
    return state.agent(e.agent)


def apply_all(state: CentreState, settings: FoldSettings, events: Iterable[Event], now: float | None = None) -> int:
    """Fold many events; returns how many were applied."""
    n = 0
    for event in events:
        if apply(state, settings, event, now):
            n += 1
    return n


def _queued(state: CentreState, settings: FoldSettings, e: CallQueued) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    ts, call_id = e.ts, e.call_id
    q.bucket(settings.intervals.floor(ts)).entered += 1
    if not settings.live:
        return
    current = q.waiting.get(call_id)
    if current is not None:
        if ts < current[0]:
            current[0] = ts
        return
    finished = q.finished.get(call_id)  # the newer generation holds the latest outcome
    if finished is None:
        finished = q.finished_old.get(call_id)
    if finished is not None and finished >= ts:
        return  # its outcome arrived first (out of order): it is not waiting
    q.waiting[call_id] = [ts, e.source]


def _leave(q: QueueState, call_id: str, ts: float) -> None:
    q.waiting.pop(call_id, None)
    q.finished[call_id] = ts


def _answered(state: CentreState, settings: FoldSettings, e: CallAnswered) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    start = settings.intervals.floor(e.ts)
    within = e.wait_s <= settings.rules_for(e.queue).sl_threshold_s
    q.bucket(start).add_answered(e.wait_s, within)
    if not settings.live:
        return
    _leave(q, e.call_id, e.ts)
    if e.ts >= state.now - settings.recent_s - _PRUNE_EVERY_S:  # (else in no window: as prune() cuts)
        q.recent.append(["a", e.ts, e.wait_s, within])
    agents = settings.agents
    agent = state.agent(e.agent) if agents is None or e.agent in agents else _agent_of_call(state, settings, e)
    if agent is not None:
        ac = agent.bucket(start)
        ac.answered += 1
        ac.answer_wait_sum += e.wait_s


def _abandoned(state: CentreState, settings: FoldSettings, e: CallAbandoned) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    rules = settings.rules_for(e.queue)
    within = e.wait_s <= rules.sl_threshold_s
    short = e.wait_s <= rules.short_abandon_s
    q.bucket(settings.intervals.floor(e.ts)).add_abandoned(e.wait_s, within, short)
    if settings.live:
        _leave(q, e.call_id, e.ts)
        if e.ts >= state.now - settings.recent_s - _PRUNE_EVERY_S:
            q.recent.append(["b", e.ts, e.wait_s, within, short])


def _exited(state: CentreState, settings: FoldSettings, e: CallExited) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    q.bucket(settings.intervals.floor(e.ts)).add_exited(e.wait_s, e.reason)
    if settings.live:
        _leave(q, e.call_id, e.ts)
        if e.ts >= state.now - settings.recent_s - _PRUNE_EVERY_S:
            q.recent.append(["x", e.ts, e.wait_s, e.reason])


def _lost(state: CentreState, settings: FoldSettings, e: CallLost) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    if settings.live:
        _leave(q, e.call_id, e.ts)


def _ended(state: CentreState, settings: FoldSettings, e: CallEnded | CallTransferred) -> None:
    transferred = isinstance(e, CallTransferred)
    q = state.queue(e.queue)
    start = settings.intervals.floor(e.ts)
    q.bucket(start).add_ended(e.talk_s, e.hold_s, transferred)
    if not settings.live:
        return
    if e.ts >= state.now - settings.recent_s - _PRUNE_EVERY_S:
        q.recent.append(["e", e.ts, e.talk_s, e.hold_s, 0.0, e.call_id, transferred])
    agents = settings.agents
    agent = state.agent(e.agent) if agents is None or e.agent in agents else _agent_of_call(state, settings, e)
    if agent is None:
        return
    ac = agent.bucket(start)
    ac.handled += 1
    ac.talk_sum += e.talk_s
    ac.hold_sum += e.hold_s
    if transferred:
        ac.transferred += 1
    agent.last_call = [e.queue, e.call_id, start]


def _state_changed(state: CentreState, settings: FoldSettings, e: AgentStateChanged) -> None:
    if not settings.live:
        return
    _transition(state, settings, e.agent, e.ts, e.state, e.reason, e.direction)


def _login(state: CentreState, settings: FoldSettings, e: AgentLogin) -> None:
    if not settings.live:
        return
    agent = state.agent(e.agent)
    if e.queue:
        agent.queues.add(e.queue)
    if agent.state == "logged_out":
        _transition(state, settings, e.agent, e.ts, "available", "", "")


def _logout(state: CentreState, settings: FoldSettings, e: AgentLogout) -> None:
    if not settings.live:
        return
    agent = state.agent(e.agent)
    if e.queue:
        agent.queues.discard(e.queue)
    else:
        agent.queues.clear()
    if not agent.queues and agent.state != "logged_out":
        _transition(state, settings, e.agent, e.ts, "logged_out", "", "")


def _reset(state: CentreState, settings: FoldSettings, e: SourceReset) -> None:
    for q in state.queues.values():
        gone = [cid for cid, (since, source) in q.waiting.items() if source == e.source and since <= e.ts]
        for cid in gone:
            del q.waiting[cid]


_HANDLERS: dict[type[Event], Callable[[CentreState, FoldSettings, Any], None]] = {
    CallQueued: _queued,
    CallAnswered: _answered,
    CallAbandoned: _abandoned,
    CallExited: _exited,
    CallLost: _lost,
    CallEnded: _ended,
    CallTransferred: _ended,
    AgentStateChanged: _state_changed,
    AgentLogin: _login,
    AgentLogout: _logout,
    SourceReset: _reset,
}


def _transition(
    state: CentreState, settings: FoldSettings, agent_id: str, ts: float, new_state: str, reason: str, direction: str
) -> None:
    agent = state.agent(agent_id)
    if ts < agent.since:
        return  # older than the state we hold: arrived out of order, superseded
    if agent.state == new_state and agent.reason == reason and agent.direction == direction:
        return
    if agent.state != "logged_out":
        account_time(agent, settings.intervals, agent.since, ts)
    if agent.state == "wrap_up" and agent.last_call is not None:
        _attribute_wrap(state, agent, ts - agent.since)
    agent.state, agent.reason, agent.direction, agent.since = new_state, reason, direction, ts


def account_time(
    agent: AgentState, intervals: LocalIntervals, start: float, end: float, into: dict[int, AgentCounters] | None = None
) -> None:
    """Add the seconds of the agent's current state between start and end, split by interval.

    With ``into`` the seconds go into that dict of counters (used to add the
    still-open state at read time without touching the state).
    """
    buckets = agent.buckets if into is None else into
    while start < end:
        b = intervals.floor(start)
        stop = min(end, intervals.next(b))
        c = buckets.get(b)
        if c is None:
            c = buckets[b] = AgentCounters()
        c.add_time(agent.state, agent.reason, stop - start)
        start = stop


def _attribute_wrap(state: CentreState, agent: AgentState, wrap: float) -> None:
    """Wrap-up belongs to the handle time of the call it followed (in that call's interval)."""
    assert agent.last_call is not None
    queue_id, call_id, start = agent.last_call
    q = state.queues.get(queue_id)
    if q is not None:
        if start in q.buckets:
            q.buckets[start].wrap_sum += wrap
        for rec in reversed(q.recent):
            if rec[0] == "e" and rec[5] == call_id:
                rec[4] += wrap
                break
    if start in agent.buckets:
        agent.buckets[start].wrap_sum += wrap


def _rotate_generations(state: CentreState, ts: float) -> None:
    """Start a new generation of remembered ids (and finished calls); the oldest is forgotten.

    Driven by event time, which can no longer run ahead of the clock (future events are
    refused): a replay of old events then remembers an hour of them, not all of them.
    """
    state.seen_old, state.seen = state.seen, set()
    state.generation_start = ts
    for q in state.queues.values():
        q.finished_old, q.finished = q.finished, {}


def prune(state: CentreState, settings: FoldSettings) -> None:
    """Forget what no window can need any more, judged by the state's clock."""
    now = state.now
    new_hour = int(now // 3600) != int(state.pruned_at // 3600)
    state.pruned_at = now
    if state.generation_start > state.max_ts:  # (a state saved with an event time now refused)
        _rotate_generations(state, state.max_ts)
    recent_cut = now - settings.recent_s - _PRUNE_EVERY_S
    # Interval counters are kept for days: looking for expired ones once an hour is enough.
    bucket_cut = None if settings.retain_s is None or not new_hour else now - settings.retain_s
    for q in state.queues.values():
        while q.recent and q.recent[0][1] < recent_cut:
            q.recent.popleft()
        if bucket_cut is not None:
            for start in [s for s in q.buckets if s < bucket_cut]:
                del q.buckets[start]
    if bucket_cut is not None:
        for a in state.agents.values():
            for start in [s for s in a.buckets if s < bucket_cut]:
                del a.buckets[start]


# ------------------------------------------------------------ checkpointing


def to_dict(state: CentreState) -> dict[str, Any]:
    """The whole state as JSON-ready data (see :func:`from_dict`)."""
    return {
        "version": STATE_VERSION,
        "queues": {
            qid: {
                "waiting": q.waiting,
                "finished": q.finished,
                "finished_old": q.finished_old,
                "buckets": {str(k): c.to_list() for k, c in q.buckets.items()},
                "recent": list(q.recent),
            }
            for qid, q in state.queues.items()
        },
        "agents": {
            aid: {
                "state": a.state,
                "reason": a.reason,
                "direction": a.direction,
                "since": a.since,
                "queues": sorted(a.queues),
                "last_call": a.last_call,
                "buckets": {str(k): c.to_list() for k, c in a.buckets.items()},
            }
            for aid, a in state.agents.items()
        },
        "seen": sorted(state.seen),
        "seen_old": sorted(state.seen_old),
        "generation_start": state.generation_start,
        "sources": state.sources,
        "max_ts": state.max_ts,
        "now": state.now,
        "pruned_at": state.pruned_at,
        "applied": state.applied,
        "duplicates": state.duplicates,
        "refused": state.refused,
        "unconfigured_queues": state.unconfigured_queues,
        "unconfigured_agents": state.unconfigured_agents,
        "discovered_queues": sorted(state.discovered_queues),
        "discovered_agents": sorted(state.discovered_agents),
    }


def from_dict(data: Mapping[str, Any]) -> CentreState:
    """Rebuild a state saved by :func:`to_dict`."""
    if data.get("version") not in _READABLE_VERSIONS:
        raise ValueError(f"checkpoint version {data.get('version')!r} is not {STATE_VERSION}")
    state = CentreState(
        seen=set(data["seen"]),
        seen_old=set(data["seen_old"]),
        generation_start=data["generation_start"],
        sources=dict(data["sources"]),
        max_ts=data["max_ts"],
        # A version-2 state was pruned by event time: its newest event time is its clock.
        now=data.get("now", data["max_ts"]),
        pruned_at=data["pruned_at"],
        applied=data["applied"],
        duplicates=data["duplicates"],
        refused={src: dict(counts) for src, counts in data.get("refused", {}).items()},
        unconfigured_queues=dict(data.get("unconfigured_queues", {})),
        unconfigured_agents=dict(data.get("unconfigured_agents", {})),
        discovered_queues=set(data.get("discovered_queues", ())),
        discovered_agents=set(data.get("discovered_agents", ())),
    )
    for qid, q in data["queues"].items():
        state.queues[qid] = QueueState(
            waiting={k: list(v) for k, v in q["waiting"].items()},
            finished=dict(q["finished"]),
            finished_old=dict(q["finished_old"]),
            buckets={int(k): QueueCounters.from_list(v) for k, v in q["buckets"].items()},
            recent=deque(list(r) for r in q["recent"]),
        )
    for aid, a in data["agents"].items():
        state.agents[aid] = AgentState(
            state=a["state"],
            reason=a["reason"],
            direction=a["direction"],
            since=a["since"],
            queues=set(a["queues"]),
            last_call=a["last_call"],
            buckets={int(k): AgentCounters.from_list(v) for k, v in a["buckets"].items()},
        )
    return state


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """The cyclic garbage collector paused around a fold of many events.

    Folding makes no reference cycles, but its many short-lived objects outlive young
    collections and bring on full ones, each walking the whole state (measured: a sixth of
    the aggregator's time, about 15 % of a report).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
