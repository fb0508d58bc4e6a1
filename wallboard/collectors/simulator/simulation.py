"""The simulated centre itself: pure and reproducible from its seed (see the package)."""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wallboard.clock import LocalIntervals
from wallboard.collectors.common.agents import AgentStates, Shown
from wallboard.collectors.simulator.options import Options
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

# Relative demand by local hour: quiet nights, peaks around 11:00 and 17:00.
_PROFILE = [
    0.12,
    0.08,
    0.06,
    0.05,
    0.06,
    0.1,
    0.2,
    0.45,
    0.75,
    0.9,
    1.0,
    1.0,
    0.85,
    0.7,
    0.75,
    0.85,
    0.95,
    0.9,
    0.7,
    0.5,
    0.38,
    0.3,
    0.22,
    0.16,
]


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
    skills: tuple[str, ...]
    shift_start: float
    call: _Call | None = None
    pending_pause: tuple[str, float] | None = None  # (reason or "logout", seconds)
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
        #: What each agent is doing, as the board sees it: the events say it, by the fold's rules.
        self._states = AgentStates(source)
        queue_ids = [q.id for q in config.queues] or ["default"]
        for qid in queue_ids:
            self._waiting[qid] = deque()
            self._schedule_arrival(qid, start)
        self._agents = self._make_agents(queue_ids, start)
        for agent in self._agents.values():
            agent.shown = self._states[agent.id]

    # --------------------------------------------------------------- setup

    def _make_agents(self, queue_ids: list[str], start: float) -> dict[str, _Agent]:
        team_queues = {t.id: t.queues or tuple(queue_ids) for t in self.config.teams}
        team_of = self.config.team_of()
        ids = [a.id for a in self.config.agents] or [f"agent{i:02d}" for i in range(1, 13)]
        agents: dict[str, _Agent] = {}
        for i, aid in enumerate(ids):
            skills = tuple(team_queues.get(team_of.get(aid, ""), tuple(queue_ids)))
            # Staggered shifts cover the clock; more agents start in the morning.
            frac = (i * 0.618034) % 1.0
            offset_h = 6.0 + frac * 14.0 if i % 4 else (frac * 24.0)
            shift = start - 86_400.0 + offset_h * 3600.0
            while shift + self.options.shift_hours * 3600.0 <= start:
                shift += 86_400.0
            agent = _Agent(aid, skills, shift)
            agents[aid] = agent
            self._push(max(start, shift) + self._rng.uniform(0, 30) + i * 0.01, "login", aid)
        return agents

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
        peak = self.options.calls_per_hour.get(queue, self.options.default_calls_per_hour)
        return peak / 3600.0

    def _profile(self, at: float) -> float:
        local_hour = ((at + self._clock.offset(at)) % 86_400.0) / 3600.0
        h = int(local_hour)
        frac = local_hour - h
        return _PROFILE[h] * (1 - frac) + _PROFILE[(h + 1) % 24] * frac

    def _schedule_arrival(self, queue: str, after: float) -> None:
        rate = self._rate_per_s(queue)
        if rate <= 0:
            return
        self._push(after + self._rng.expovariate(rate), "arrival", queue)

    def _on_arrival(self, queue: str) -> None:
        self._schedule_arrival(queue, self.now)
        if self._rng.random() > self._profile(self.now):
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
            self._push(self.now + self._rng.uniform(2.0, 7.0), "answer", agent.id)

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
            hold = self._rng.uniform(15.0, 90.0)
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
        if agent.pending_pause is not None:
            (reason, seconds), agent.pending_pause = agent.pending_pause, None
            if reason == "logout":
                self._logout(agent)
                return
            self._set_state(agent, AgentState.NOT_READY, self._reason(reason))
            self._push(self.now + seconds, "back", agent.id)
            return
        self._set_state(agent, AgentState.AVAILABLE)
        self._dispatch()

    def _on_login(self, agent_id: str) -> None:
        agent = self._agents[agent_id]
        if self._state(agent) is not AgentState.LOGGED_OUT:
            return
        for qid in agent.skills:  # (the first login makes the agent available)
            self._emit(self._states.login(self._id(), self.now, agent.id, qid))
        rng = self._rng
        length = self.options.shift_hours * 3600.0
        start = self.now
        plan = [
            (0.25, "break", 600.0 + rng.uniform(0, 420)),
            (0.5, "lunch", 1800.0 + rng.uniform(0, 900)),
            (0.78, "break", 600.0 + rng.uniform(0, 300)),
        ]
        if rng.random() < 0.15:
            plan.append((rng.uniform(0.3, 0.7), rng.choice(["training", "meeting", "coaching"]), 1800.0))
        for frac, reason, seconds in plan:
            self._push(start + frac * length + rng.uniform(-900, 900), "pause_due", (agent.id, reason, seconds))
        self._push(start + length, "pause_due", (agent.id, "logout", 0.0))
        self._dispatch()

    def _on_pause_due(self, payload: tuple[str, str, float]) -> None:
        agent_id, reason, seconds = payload
        agent = self._agents[agent_id]
        if self._state(agent) is AgentState.LOGGED_OUT:
            return
        agent.pending_pause = (reason, seconds)
        if self._state(agent) is AgentState.AVAILABLE:
            self._ready_or_pause(agent)

    def _on_back(self, agent_id: str) -> None:
        agent = self._agents[agent_id]
        if self._state(agent) is AgentState.NOT_READY:
            self._ready_or_pause(agent)

    def _logout(self, agent: _Agent) -> None:
        self._emit(self._states.logout(self._id(), self.now, agent.id))
        agent.shift_start += 86_400.0
        self._push(agent.shift_start + self._rng.uniform(0, 120), "login", agent.id)
