"""The simulated centre itself: pure and reproducible from its seed (see the package)."""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from wallboard.clock import LocalIntervals
from wallboard.collectors.common.agents import AgentStates, Shown
from wallboard.collectors.simulator import incidents
from wallboard.collectors.simulator.demand import HOLD_S, RING_S, peak_per_hour, profile
from wallboard.collectors.simulator.options import Options
from wallboard.collectors.simulator.roster import Roster, Shift, make_roster
from wallboard.collectors.simulator.shifts import as_taken, late_by
from wallboard.config import Config
from wallboard.events import (
    AgentState,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallQueued,
    CallTransferred,
    Event,
)


@dataclass(slots=True)
class _Call:
    id: str
    queue: str
    arrived: float
    patience: float
    status: str = "waiting"  # waiting | ringing | talking | done


@dataclass(slots=True)
class _Agent:
    id: str
    #: The queues the agent is logged in to, and the team it works for, in its current shift.
    skills: tuple[str, ...]
    pool: str
    call: _Call | None = None
    #: Pauses due, oldest first, taken as soon as the agent is free: (reason or "logout", seconds).
    pending: list[tuple[str, float]] = field(default_factory=list)
    #: What the board shows of this agent: the emitter's own record, read at every dispatch.
    shown: Shown = field(default_factory=Shown)


class Simulation:
    """Discrete-event simulation of one centre from ``start`` on (POSIX seconds)."""

    def __init__(self, config: Config, options: Options, start: float, source: str = "simulator") -> None:
        self.config = config
        self.options = options
        self.source = source
        self.now = start
        self._rng = random.Random(f"{options.seed}:{int(start)}")
        self._id_prefix = f"{source}:{int(start)}:"
        self._n = 0
        self._seq = 0
        self._heap: list[tuple[float, int, str, Any]] = []
        self._out: list[Event] = []
        self._waiting: dict[str, deque[_Call]] = {}
        self._clock = LocalIntervals(config.zone, 900)
        self._reasons = {r.id for r in config.pause_reasons}
        #: Team → when its meeting ends (while one is on).
        self._meetings: dict[str, float] = {}
        #: What each agent is doing, as the board sees it: the events say it, by the fold's rules.
        self._states = AgentStates(source)
        queue_ids = [q.id for q in config.queues] or ["default"]
        #: The roster every day follows (the same each day), and the day's incidents.
        self.roster: Roster = make_roster(config, options, queue_ids)
        self.incidents = incidents.choose(options, self.roster.pools, queue_ids)
        self._agents = {aid: _Agent(aid, pool.queues, pool.id) for pool in self.roster.pools for aid in pool.agents}
        for agent in self._agents.values():
            agent.shown = self._states[agent.id]
        for qid in queue_ids:
            self._waiting[qid] = deque()
            self._schedule_arrival(qid, start)
        first = datetime.fromtimestamp(start, config.zone).date()
        self._plan_day(first - timedelta(days=1), start)
        self._plan_day(first, start)

    # --------------------------------------------------------------- days

    def _at(self, day: date, local_s: float) -> float:
        """POSIX seconds of ``local_s`` seconds of wall-clock time after ``day``'s local midnight."""
        wall = datetime.combine(day, time(0)) + timedelta(seconds=local_s)
        return wall.replace(tzinfo=self.config.zone).timestamp()

    def _plan_day(self, day: date, start: float) -> None:
        """Push the shifts of ``day`` that end after ``start`` (those running at ``start`` log in then),
        its meeting, and the planning of the next day at its midnight."""
        rng = self._rng
        for i, shift in enumerate(self.roster.shifts):
            begins = self._at(day, shift.start_s)
            ends = self._at(day, shift.start_s + shift.length_s)
            if ends <= start:
                continue
            login = begins + late_by(rng)
            if login < start:
                login = start + rng.uniform(0, 30) + i * 0.01
            self._push(login, "login", (shift, begins, ends))
        meeting = self._at(day, incidents.MEETING_AT_S)
        if self.incidents.meeting_team is not None and meeting >= start:
            self._push(meeting, "meeting", self.incidents.meeting_team)
        if day >= datetime.fromtimestamp(start, self.config.zone).date():
            self._push(self._at(day, 86_400), "day", day + timedelta(days=1))

    def _on_day(self, day: date) -> None:
        self._plan_day(day, self.now)

    def _on_meeting(self, team: str) -> None:
        """The meeting of everyone working for ``team`` (its own agents and its floaters) begins:
        each joins it when free (now, after the call, back from a pause, or logging in) until it ends."""
        self._meetings[team] = self.now + incidents.MEETING_S
        for agent in sorted(self._agents.values(), key=lambda a: a.id):
            if agent.pool == team and self._state(agent) is AgentState.AVAILABLE:
                self._ready_or_pause(agent)

    def _reason(self, wanted: str) -> str:
        return wanted if not self._reasons or wanted in self._reasons else next(iter(sorted(self._reasons)))

    # ---------------------------------------------------------- machinery

    def _push(self, at: float, kind: str, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, payload))

    def _id(self) -> str:
        self._n += 1
        return f"{self._id_prefix}{self._n}"

    def _emit(self, event: Event) -> None:
        self._out.append(event)

    def advance(self, until: float) -> list[Event]:
        """Run the simulation up to ``until``; the events that happened, in time order."""
        heap = self._heap
        while heap and heap[0][0] < until:
            at, _, kind, payload = heapq.heappop(heap)
            self.now = at
            getattr(self, "_on_" + kind)(payload)
        self.now = max(self.now, until)
        out, self._out = self._out, []
        return out

    def events(self, until: float | None = None, step: float = 300.0) -> Iterator[Event]:
        """All events from the start, lazily, up to ``until`` (or for ever)."""
        t = self.now
        while until is None or t < until:
            t = t + step if until is None else min(until, t + step)
            yield from self.advance(t)

    # ------------------------------------------------------------- calls

    def _rate_per_s(self, queue: str) -> float:
        """The most calls a second ``queue`` ever gets: its peak, times its surge if it has one."""
        return peak_per_hour(self.options, queue) * self.incidents.peak_factor(queue) / 3600.0

    def _demand(self, queue: str, at: float) -> float:
        """Calls of ``queue`` at ``at`` relative to :meth:`_rate_per_s` (the profile, and the surge)."""
        local_s = (at + self._clock.offset(at)) % 86_400.0
        factor = self.incidents.demand_factor(queue, local_s)
        return profile(local_s) * factor / self.incidents.peak_factor(queue)

    def _schedule_arrival(self, queue: str, after: float) -> None:
        rate = self._rate_per_s(queue)
        if rate <= 0:
            return
        self._push(after + self._rng.expovariate(rate), "arrival", queue)

    def _on_arrival(self, queue: str) -> None:
        self._schedule_arrival(queue, self.now)
        if self._rng.random() > self._demand(queue, self.now):
            return  # thinning: demand is lower at this hour
        o = self.options
        patience = self._rng.lognormvariate(math.log(o.patience_s) - 0.5, 1.0)
        call = _Call(f"{int(self.now)}.{self._n + 1}", queue, self.now, patience)
        self._emit(CallQueued(self._id(), self.source, self.now, queue, call.id))
        self._waiting[queue].append(call)
        self._push(self.now + min(patience, o.max_wait_s), "give_up", call)
        self._dispatch()

    def _on_give_up(self, call: _Call) -> None:
        if call.status != "waiting":
            return
        call.status = "done"
        self._waiting[call.queue].remove(call)
        wait = self.now - call.arrived
        if call.patience < self.options.max_wait_s:
            self._emit(CallAbandoned(self._id(), self.source, self.now, call.queue, call.id, round(wait, 3)))
        else:
            self._emit(CallExited(self._id(), self.source, self.now, call.queue, call.id, round(wait, 3), "timeout"))

    def _dispatch(self) -> None:
        """Give waiting calls to available agents, oldest call first within each agent's skills."""
        available = AgentState.AVAILABLE  # (an enum member read once: this loop runs for every agent at every event)
        for agent in sorted(self._agents.values(), key=lambda a: a.id):
            if agent.shown.state is not available:
                continue
            best: _Call | None = None
            for qid in agent.skills:
                waiting = self._waiting.get(qid)
                if waiting and (best is None or waiting[0].arrived < best.arrived):
                    best = waiting[0]
            if best is None:
                continue
            self._waiting[best.queue].popleft()
            best.status = "ringing"
            agent.call = best
            self._set_state(agent, AgentState.RINGING)
            self._push(self.now + self._rng.uniform(*RING_S), "answer", agent.id)

    def _on_answer(self, agent_id: str) -> None:
        agent = self._agents[agent_id]
        call = agent.call
        assert call is not None
        call.status = "talking"
        wait = round(self.now - call.arrived, 3)
        self._emit(CallAnswered(self._id(), self.source, self.now, call.queue, call.id, agent.id, wait))
        self._set_state(agent, AgentState.ON_CALL, direction="inbound")
        o = self.options
        talk = self._rng.lognormvariate(math.log(o.talk_s) - 0.18, 0.6)
        hold = 0.0
        if self._rng.random() < o.hold_probability:
            hold = self._rng.uniform(*HOLD_S)
            self._push(self.now + talk * 0.5, "hold", (agent.id, hold))
        self._push(self.now + talk + hold, "hangup", (agent.id, talk, hold))

    def _on_hold(self, payload: tuple[str, float]) -> None:
        agent_id, hold = payload
        agent = self._agents[agent_id]
        self._set_state(agent, AgentState.ON_HOLD, direction="inbound")
        self._push(self.now + hold, "unhold", agent_id)

    def _on_unhold(self, agent_id: str) -> None:
        self._set_state(self._agents[agent_id], AgentState.ON_CALL, direction="inbound")

    def _on_hangup(self, payload: tuple[str, float, float]) -> None:
        agent_id, talk, hold = payload
        agent = self._agents[agent_id]
        call = agent.call
        assert call is not None
        call.status = "done"
        agent.call = None
        if self._rng.random() < self.options.transfer_probability:
            self._emit(
                CallTransferred(
                    self._id(),
                    self.source,
                    self.now,
                    call.queue,
                    call.id,
                    agent.id,
                    round(talk, 3),
                    round(hold, 3),
                    "supervisor",
                )
            )
        else:
            self._emit(
                CallEnded(
                    self._id(), self.source, self.now, call.queue, call.id, agent.id, round(talk, 3), round(hold, 3)
                )
            )
        self._set_state(agent, AgentState.WRAP_UP)
        wrap = self._rng.lognormvariate(math.log(max(self.options.wrap_s, 1.0)) - 0.12, 0.5)
        self._push(self.now + wrap, "wrapped", agent_id)

    def _on_wrapped(self, agent_id: str) -> None:
        self._ready_or_pause(self._agents[agent_id])

    # ------------------------------------------------------------- agents

    def _state(self, agent: _Agent) -> AgentState:
        return agent.shown.state

    def _set_state(self, agent: _Agent, state: AgentState, reason: str = "", direction: str = "") -> None:
        # Every transition takes a number, sent or not (the same state again is not): call ids
        # come from the same counter, and the day a seed makes must not depend on what is sent.
        event_id = self._id()
        event = self._states.show(lambda: event_id, self.now, agent.id, state, reason, direction)
        if event is not None:
            self._emit(event)

    def _ready_or_pause(self, agent: _Agent) -> None:
        """The agent is free: log out if the shift is over, else join the team's meeting if one
        is on, else take the next pause due, else take calls."""
        if any(reason == "logout" for reason, _ in agent.pending):
            agent.pending.clear()
            self._logout(agent)
            return
        meeting_ends = self._meetings.get(agent.pool, 0.0)
        if self.now < meeting_ends:
            self._set_state(agent, AgentState.NOT_READY, self._reason("meeting"))
            self._push(meeting_ends, "back", agent.id)
            return
        if agent.pending:
            reason, seconds = agent.pending.pop(0)
            self._set_state(agent, AgentState.NOT_READY, self._reason(reason))
            self._push(self.now + seconds, "back", agent.id)
            return
        self._set_state(agent, AgentState.AVAILABLE)
        self._dispatch()

    def _on_login(self, payload: tuple[Shift, float, float]) -> None:
        shift, begins, ends = payload
        agent = self._agents[shift.agent]
        if self._state(agent) is not AgentState.LOGGED_OUT:
            return
        agent.skills, agent.pool = shift.queues, shift.pool
        for qid in agent.skills:  # (the first login makes the agent available)
            self._emit(self._states.login(self._id(), self.now, agent.id, qid))
        for planned in shift.pauses:
            pause = as_taken(planned, self._rng)
            if begins + pause.at_s >= self.now:
                self._push(begins + pause.at_s, "pause_due", (agent.id, pause.reason, pause.seconds))
        self._push(max(self.now, ends), "pause_due", (agent.id, "logout", 0.0))
        self._ready_or_pause(agent)

    def _on_pause_due(self, payload: tuple[str, str, float]) -> None:
        agent_id, reason, seconds = payload
        agent = self._agents[agent_id]
        if self._state(agent) is AgentState.LOGGED_OUT:
            return
        agent.pending.append((reason, seconds))
        if self._state(agent) is AgentState.AVAILABLE:
            self._ready_or_pause(agent)

    def _on_back(self, agent_id: str) -> None:
        agent = self._agents[agent_id]
        if self._state(agent) is AgentState.NOT_READY:
            self._ready_or_pause(agent)

    def _logout(self, agent: _Agent) -> None:
        self._emit(self._states.logout(self._id(), self.now, agent.id))
