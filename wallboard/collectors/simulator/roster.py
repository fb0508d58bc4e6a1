"""The simulated centre's roster: who works when, staffed to each queue's target by Erlang.

Made once from the config and the options, the same every day (a fixed roster), by the
steps a workforce planner takes:

1. **Forecast**: each queue's calls per 15-minute local interval (:mod:`.demand`: the
   intraday profile × ``calls_per_hour``) and the handle time (ringing + talk + hold +
   wrap-up). The incidents (:mod:`.incidents`) are not in the forecast.
2. **Need**: the agents each team needs on the phones per interval, by Erlang A (or C) with
   every queue's own threshold, target and SL formula, teams that share queues pooled
   (:mod:`.need`).
3. **Shrinkage**: an agent on shift is off the phones for ``shrinkage`` of it (late
   log-ins, breaks, lunch, training or coaching: :mod:`.shifts`), so a team wants
   ⌈need / (1 − shrinkage)⌉ agents on shift in each interval.
4. **Shifts**: each team's agents, in their order in the config, take shifts that cover
   what the team wants (:func:`.schedule.fit`: full, three-quarter and half-length shifts);
   agents left over have the day off (logged out).
5. **Floaters**: agents of the widest teams (those serving the most queues) left without a
   shift work one for another team, logged in to that team's queues: first for the teams
   still short (the one lacking the most first), then, one by one, as a buffer for the team
   with the most intervals that leave less than one agent to spare over the need (a queue
   of a few calls a quarter hour is in alert after two slow answers).
6. **Pauses**: every shift's breaks, lunch and session are put inside their windows where
   they leave the most agents on the phones above the need (:func:`.schedule.place`).

With too few agents for the demand, every team's roster is scaled down evenly: the day is
understaffed all through, never just at its end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wallboard.collectors.simulator import schedule
from wallboard.collectors.simulator.demand import INTERVAL_S, INTERVALS, forecast_per_s, handle_time_s
from wallboard.collectors.simulator.need import Pool, needed_on_phones
from wallboard.collectors.simulator.options import Options
from wallboard.collectors.simulator.shifts import Pause, pause_slots
from wallboard.config import Config

#: Agents made up when the config lists none.
DEFAULT_AGENTS = tuple(f"agent{i:02d}" for i in range(1, 13))

__all__ = ["DEFAULT_AGENTS", "Pool", "Roster", "Shift", "make_roster", "pools"]


@dataclass(frozen=True, slots=True)
class Shift:
    """One agent's working hours every day: from ``start_s`` seconds after local midnight, ``length_s`` long."""

    agent: str
    #: The team whose need the shift covers (a floater's is another team's) and the queues
    #: the agent logs in to for it: that team's.
    pool: str
    queues: tuple[str, ...]
    start_s: int
    length_s: int
    #: Its breaks, lunch and session, in time order (``at_s`` from ``start_s``).
    pauses: tuple[Pause, ...] = ()


@dataclass(frozen=True, slots=True)
class Roster:
    """The day's plan: every shift, and per team and local 15-minute interval (0 = 00:00) the
    agents needed on the phones, on shift, and on the phones as planned (on shift, not paused)."""

    pools: tuple[Pool, ...]
    shifts: tuple[Shift, ...]
    needed: Mapping[str, tuple[int, ...]]
    rostered: Mapping[str, tuple[int, ...]]
    on_phones: Mapping[str, tuple[float, ...]]


def pools(config: Config, queue_ids: list[str]) -> tuple[Pool, ...]:
    """The teams with their queues and agents; agents of no team (or of a team with no agents'
    queues) form one pool serving every queue."""
    team_of = config.team_of()
    agent_ids = [a.id for a in config.agents] or list(DEFAULT_AGENTS)
    out: list[Pool] = []
    for team in config.teams:
        members = tuple(a for a in agent_ids if team_of.get(a) == team.id)
        queues = tuple(q for q in (team.queues or queue_ids) if q in queue_ids)
        if members and queues:
            out.append(Pool(team.id, queues, members))
    placed = {a for p in out for a in p.agents}
    rest = tuple(a for a in agent_ids if a not in placed)
    if rest:
        out.append(Pool("", tuple(queue_ids), rest))
    return tuple(out)


def make_roster(config: Config, options: Options, queue_ids: list[str]) -> Roster:
    """The roster for ``queue_ids`` (see the module): pure, the same for the same config and options."""
    teams = pools(config, queue_ids)
    rules = {q: config.queue(q) for q in queue_ids}
    rates = {q: [forecast_per_s(options, q, i) for i in range(INTERVALS)] for q in queue_ids}
    needed = needed_on_phones(teams, rates, rules, handle_time_s(options), options)
    keep = 1.0 - options.shrinkage
    sizes = schedule.lengths(options.shift_hours)
    work: dict[str, list[_Work]] = {}
    short: dict[str, list[int]] = {}
    for p in teams:
        want = [math.ceil(n / keep - 1e-9) for n in needed[p.id]]
        plan = sorted(schedule.fit(want, len(p.agents), sizes))
        work[p.id] = [_Work(agent, start, length) for agent, (start, length) in zip(p.agents, plan, strict=False)]
        short[p.id] = [max(0, w - c) for w, c in zip(want, schedule.cover(plan), strict=True)]
    widest = max((len(p.queues) for p in teams), default=0)
    spare = [a for p in teams if len(p.queues) == widest for a in p.agents[len(work[p.id]) :]]
    # Floaters: first for the teams short of agents, the one lacking the most first.
    for p in sorted(teams, key=lambda p: -sum(short[p.id])):
        if spare and any(short[p.id]):
            plan = sorted(schedule.fit(short[p.id], len(spare), sizes))
            work[p.id] += [_Work(spare.pop(0), start, length) for start, length in plan]
    # Then, one at a time, where a team has the most intervals with less than one agent to spare.
    others = [p for p in teams if len(p.queues) < widest]
    while spare and others:
        thin = {p.id: _thin(needed[p.id], work[p.id], keep) for p in others}
        p = max(others, key=lambda p: (sum(thin[p.id]), -others.index(p)))
        if not any(thin[p.id]):
            break
        start, length = schedule.best_shift(thin[p.id], sizes[0])
        work[p.id].append(_Work(spare.pop(0), start, length))
    shifts: list[Shift] = []
    rostered: dict[str, tuple[int, ...]] = {}
    on_phones: dict[str, tuple[float, ...]] = {}
    for p in teams:
        plan_of = sorted(work[p.id], key=lambda w: (w.start, -w.length, w.agent))
        cover = schedule.cover([(w.start, w.length) for w in plan_of])
        on = [float(c) for c in cover]
        for k, w in enumerate(plan_of):
            session = "training" if k % 2 == 0 else "coaching"
            slots = sorted(pause_slots(w.length * INTERVAL_S, options.shrinkage, session), key=lambda s: -s.seconds)
            placed = sorted(
                (schedule.place(s, w.start, w.length, on, needed[p.id]) for s in slots), key=lambda x: x.at_s
            )
            shifts.append(Shift(w.agent, p.id, p.queues, w.start * INTERVAL_S, w.length * INTERVAL_S, tuple(placed)))
        rostered[p.id] = tuple(cover)
        on_phones[p.id] = tuple(round(x, 2) for x in on)
    return Roster(teams, tuple(shifts), {k: tuple(v) for k, v in needed.items()}, rostered, on_phones)


@dataclass(frozen=True, slots=True)
class _Work:
    """A shift being planned: an agent, its start interval and length in intervals."""

    agent: str
    start: int
    length: int


def _thin(needed: Sequence[int], work: list[_Work], keep: float) -> list[int]:
    """1 where a team's agents on shift, less shrinkage, leave less than one agent to spare over the need."""
    cover = schedule.cover([(w.start, w.length) for w in work])
    return [int(n > 0 and c * keep < n + 1) for n, c in zip(needed, cover, strict=True)]
