"""How many agents each team needs on the phones in each interval, by the product's Erlang model.

A team is a pool of agents serving its queues (:class:`Pool`). A queue's calls go to the
teams that serve it, split in proportion to each team's agents per queue served (a team of
12 on two queues weighs 6), and only to the narrowest of them (the fewest queues) — except
when the widest teams (those that serve the most queues, the config's night team) can take
the interval alone: while all they need is no more agents on shift than they can keep round
the clock (their agents × ``shift_hours`` / 24), the quiet hours go to them, and one
multi-skilled agent covers several quiet queues where each team would keep its own.

Teams that share a queue (and the teams sharing with those) answer each other's calls, so
they are staffed as one pool: the fewest agents on the phones with which the pool's calls
meet their queues' targets on average, weighted by calls (the wallboard's combined SL: every
call meets the same wait, each queue counts it by its own threshold and SL formula), and no
queue more than :data:`SLACK_PCT` points below its own target — no fewer than the most
lenient queue alone would need, no more than the strictest. The model is Erlang A
(:func:`wallboard.staffing.erlang_a`, the callers' mean patience ``patience_s``) or, with
``staffing_model: erlang_c``, Erlang C. The pool's agents are split between its teams in
proportion to their calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wallboard.collectors.simulator.options import Options
from wallboard.config import QueueConfig
from wallboard.staffing import agents_needed, agents_needed_erlang_a, erlang_a, service_level

#: In a pool of several queues, how far (percentage points) one queue may sit below its target.
SLACK_PCT = 5.0


@dataclass(frozen=True, slots=True)
class Pool:
    """A team as the roster sees it: the queues it serves and its agents (each agent in one team only)."""

    id: str
    queues: tuple[str, ...]
    agents: tuple[str, ...]


def needed_on_phones(
    teams: tuple[Pool, ...],
    rates: dict[str, list[float]],
    rules: dict[str, QueueConfig],
    aht_s: float,
    options: Options,
) -> dict[str, list[int]]:
    """Team → agents needed on the phones in each interval, for ``rates`` (queue → calls/s per interval)."""
    keep = 1.0 - options.shrinkage
    widest = max((len(p.queues) for p in teams), default=0)
    sustained = sum(len(p.agents) for p in teams if len(p.queues) == widest) * options.shift_hours / 24
    intervals = len(next(iter(rates.values()), []))
    needed = {p.id: [0] * intervals for p in teams}
    for i in range(intervals):
        now = {q: r[i] for q, r in rates.items()}
        best = _needs(teams, now, rules, aht_s, options, widest=True)
        if sum(n / keep for n in best.values()) > sustained + 1e-9:
            best = _needs(teams, now, rules, aht_s, options, widest=False)
        for team, n in best.items():
            needed[team][i] = n
    return needed


def _needs(
    teams: tuple[Pool, ...],
    rates: dict[str, float],
    rules: dict[str, QueueConfig],
    aht_s: float,
    options: Options,
    *,
    widest: bool,
) -> dict[str, int]:
    """Each team's agents needed on the phones when each queue's calls go to its narrowest (or widest) teams."""
    load: dict[str, dict[str, float]] = {p.id: {} for p in teams}
    for q, rate in rates.items():
        serving = [p for p in teams if q in p.queues]
        if rate <= 0 or not serving:
            continue
        width = (max if widest else min)(len(p.queues) for p in serving)
        serving = [p for p in serving if len(p.queues) == width]
        weights = [len(p.agents) / len(p.queues) for p in serving]
        for p, w in zip(serving, weights, strict=True):
            load[p.id][q] = rate * w / sum(weights)
    out = {p.id: 0 for p in teams}
    for group in _groups([p.id for p in teams if load[p.id]], load):
        pooled: dict[str, float] = {}
        for team in group:
            for q, rate in load[team].items():
                pooled[q] = pooled.get(q, 0.0) + rate
        need = pool_need(pooled, aht_s, rules, options)
        out.update(_share(need, {team: sum(load[team].values()) for team in group}))
    return out


def _groups(teams: list[str], load: dict[str, dict[str, float]]) -> list[list[str]]:
    """Teams that share a queue, and the teams sharing with those, …: each group one pool of agents."""
    groups: list[list[str]] = []
    for team in teams:
        joined = [g for g in groups if any(load[team].keys() & load[other].keys() for other in g)]
        merged = [team] + [t for g in joined for t in g]
        groups = [g for g in groups if g not in joined] + [sorted(merged, key=teams.index)]
    return groups


def _share(need: int, calls: dict[str, float]) -> dict[str, int]:
    """``need`` agents split between teams in proportion to their calls (largest remainders first)."""
    total = sum(calls.values())
    exact = {team: need * c / total for team, c in calls.items()}
    out = {team: math.floor(x) for team, x in exact.items()}
    order = sorted(exact, key=lambda t: (out[t] - exact[t], list(calls).index(t)))
    for team in order[: need - sum(out.values())]:
        out[team] += 1
    return out


def pool_need(rates: dict[str, float], aht_s: float, rules: dict[str, QueueConfig], options: Options) -> int:
    """Agents on the phones for one pool taking ``rates`` (queue → calls/s): see the module."""
    total = sum(rates.values())
    if total <= 0:
        return 0
    bounds = [_need(total, aht_s, rules[q], options) for q in rates]
    lo, hi = min(bounds), max(bounds)
    goal = sum(rate * rules[q].sl_target_pct / 100 for q, rate in rates.items())
    for n in range(max(lo, 1), hi):
        levels = {q: _service_level(n, total, aht_s, rules[q], options) for q in rates}
        on_average = sum(rate * levels[q] for q, rate in rates.items()) >= goal
        if on_average and all(levels[q] >= (rules[q].sl_target_pct - SLACK_PCT) / 100 for q in rates):
            return n
    return hi


def _service_level(n: int, rate_per_s: float, aht_s: float, queue: QueueConfig, options: Options) -> float:
    """The model's SL (a fraction) of ``queue``'s calls in a pool of ``n`` agents taking ``rate_per_s`` in all."""
    a = rate_per_s * aht_s
    if options.staffing_model == "erlang_c":
        return service_level(n, a, aht_s, queue.sl_threshold_s)
    model = erlang_a(n, a, aht_s, options.patience_s, queue.sl_threshold_s, queue.short_abandon_s)
    return model.service_level(queue.sl_formula)


def _need(rate_per_s: float, aht_s: float, queue: QueueConfig, options: Options) -> int:
    """Agents on the phones for ``queue``'s target alone with ``rate_per_s`` calls a second."""
    if options.staffing_model == "erlang_c":
        model = agents_needed(rate_per_s, aht_s, queue.sl_threshold_s, queue.sl_target_pct)
    else:
        model = agents_needed_erlang_a(
            rate_per_s,
            aht_s,
            queue.sl_threshold_s,
            queue.sl_target_pct,
            options.patience_s,
            sl_formula=queue.sl_formula,
            short_abandon_s=queue.short_abandon_s,
        )
    return 0 if model is None else model.needed
