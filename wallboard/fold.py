"""The fold: events in, centre state out. Pure: no Redis, no clock, no logging.

State depends only on the events applied (and on their order only where an
event's meaning depends on it, such as an agent's state changes), so a
checkpoint of it plus the events after the checkpoint gives exactly the state
of an uninterrupted run.

Time: the caller's clock is "now" (the aggregator passes its own). Event time
only places an event in its interval: an event later than now plus
``FoldSettings.max_skew_s`` is refused (a wrong clock at the source must not
become the centre's now), one older than the retained history is refused as
late, and forgetting old records and intervals follows the given clock. Remembered
ids rotate by event time, which the refusal of future events keeps honest. Without
a clock (a report of a file) the newest event time stands in for it.

Names: an event naming a queue or agent the config does not list is refused
(:mod:`wallboard.admission` says when a source may add names). A call event
whose queue is known but whose agent is not still counts for the queue; only
the agent's part is left out.

What the state keeps is :mod:`wallboard.state`. A report needs only the queues'
interval counters: with ``FoldSettings.live`` false the rest is not kept (a
third of the fold's time).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from wallboard.admission import AGENT_ONLY, Verdict, call_agent, names_admitted, refuse
from wallboard.clock import LocalIntervals
from wallboard.counters import AgentCounters
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentState,
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
from wallboard.fold_settings import FoldSettings
from wallboard.state import (
    Abandoned,
    AgentEntry,
    Answered,
    CentreState,
    Exited,
    Handled,
    LastCall,
    QueueState,
    Waiting,
)

_PRUNE_EVERY_S = 60.0
_APPLIED, _DUPLICATE = Verdict.APPLIED, Verdict.DUPLICATE  # (a member look-up costs, per event)
_LOGGED_OUT, _WRAP_UP = AgentState.LOGGED_OUT, AgentState.WRAP_UP


# ------------------------------------------------------------------ the fold


def apply(state: CentreState, settings: FoldSettings, event: Event, now: float | None = None) -> Verdict:
    """Fold one event into ``state`` at clock ``now``; the verdict is true only if it was applied.

    A refused event (see :data:`wallboard.admission.REFUSALS`) changes nothing but its source's refusal
    count; a duplicate (same id seen) only the duplicate count.
    """
    ts = event.ts
    if now is None:
        clock = ts if ts > state.now else state.now
    else:
        clock = now
        if ts > now + settings.max_skew_s:
            return refuse(state, event.source, Verdict.FUTURE)
        if settings.retain_s is not None and ts < now - settings.retain_s:
            return refuse(state, event.source, Verdict.LATE)
    kind = type(event)
    known_queues = settings.queues
    if known_queues is not None:
        # Inline first test: nearly every event names a configured queue (and agent).
        if kind in AGENT_ONLY:
            agents = settings.agents
            known = agents is None or event.agent in agents  # type: ignore[attr-defined]
            queue = event.queue if kind is not AgentStateChanged else ""  # type: ignore[attr-defined]
            known = known and (not queue or queue in known_queues)
        else:
            known = kind is SourceReset or event.queue in known_queues  # type: ignore[attr-defined]
        if not known:
            verdict = names_admitted(state, settings, event)
            if verdict is not _APPLIED:
                return refuse(state, event.source, verdict)
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
        if ts < current.since:
            current.since = ts
        return
    finished = q.finished.get(call_id)  # the newer generation holds the latest outcome
    if finished is None:
        finished = q.finished_old.get(call_id)
    if finished is not None and finished >= ts:
        return  # its outcome arrived first (out of order): it is not waiting
    q.waiting[call_id] = Waiting(ts, e.source)


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
        q.recent.append(Answered(e.ts, e.wait_s, within))
    agents = settings.agents
    agent = state.agent(e.agent) if agents is None or e.agent in agents else call_agent(state, settings, e)
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
            q.recent.append(Abandoned(e.ts, e.wait_s, within, short))


def _exited(state: CentreState, settings: FoldSettings, e: CallExited) -> None:
    q = state.queues.get(e.queue) or state.queue(e.queue)
    within = e.wait_s <= settings.rules_for(e.queue).sl_threshold_s
    q.bucket(settings.intervals.floor(e.ts)).add_exited(e.wait_s, e.reason, within)
    if settings.live:
        _leave(q, e.call_id, e.ts)
        if e.ts >= state.now - settings.recent_s - _PRUNE_EVERY_S:
            q.recent.append(Exited(e.ts, e.wait_s, e.reason, within))


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
        q.recent.append(Handled(e.ts, e.talk_s, e.hold_s, 0.0, e.call_id, transferred))
    agents = settings.agents
    agent = state.agent(e.agent) if agents is None or e.agent in agents else call_agent(state, settings, e)
    if agent is None:
        return
    ac = agent.bucket(start)
    ac.handled += 1
    ac.talk_sum += e.talk_s
    ac.hold_sum += e.hold_s
    if transferred:
        ac.transferred += 1
    agent.last_call = LastCall(e.queue, e.call_id, start)


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
    if agent.state == _LOGGED_OUT:
        _transition(state, settings, e.agent, e.ts, AgentState.AVAILABLE, "", "")


def _logout(state: CentreState, settings: FoldSettings, e: AgentLogout) -> None:
    if not settings.live:
        return
    agent = state.agent(e.agent)
    if e.queue:
        agent.queues.discard(e.queue)
    else:
        agent.queues.clear()
    if not agent.queues and agent.state != _LOGGED_OUT:
        _transition(state, settings, e.agent, e.ts, _LOGGED_OUT, "", "")


def _reset(state: CentreState, settings: FoldSettings, e: SourceReset) -> None:
    for q in state.queues.values():
        gone = [cid for cid, w in q.waiting.items() if w.source == e.source and w.since <= e.ts]
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
    if agent.state != _LOGGED_OUT:
        account_time(agent, settings.intervals, agent.since, ts)
    if agent.state == _WRAP_UP and agent.last_call is not None:
        _attribute_wrap(state, agent, ts - agent.since)
    agent.state, agent.reason, agent.direction, agent.since = new_state, reason, direction, ts


def account_time(
    agent: AgentEntry, intervals: LocalIntervals, start: float, end: float, into: dict[int, AgentCounters] | None = None
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


def _attribute_wrap(state: CentreState, agent: AgentEntry, wrap: float) -> None:
    """Wrap-up belongs to the handle time of the call it followed (in that call's interval)."""
    assert agent.last_call is not None
    last = agent.last_call
    call_id, start = last.call_id, last.start
    q = state.queues.get(last.queue)
    if q is not None:
        if start in q.buckets:
            q.buckets[start].wrap_sum += wrap
        for rec in reversed(q.recent):
            if type(rec) is Handled and rec.call_id == call_id:
                rec.wrap += wrap
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
        while q.recent and q.recent[0].ts < recent_cut:
            q.recent.popleft()
        if bucket_cut is not None:
            for start in [s for s in q.buckets if s < bucket_cut]:
                del q.buckets[start]
    if bucket_cut is not None:
        for a in state.agents.values():
            for start in [s for s in a.buckets if s < bucket_cut]:
                del a.buckets[start]


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
