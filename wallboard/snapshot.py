"""Views of the centre state at an instant: the KPIs every screen shows.

Pure: takes the state, the config and ``now``; returns JSON-ready data. The
aggregator adds ``seq``, ``generated_at`` and source health around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wallboard.clock import day_start_at
from wallboard.config import Config, QueueConfig, QueueDefaults
from wallboard.counters import AgentCounters, QueueCounters
from wallboard.events import AGENT_STATES, AgentState
from wallboard.fold import account_time
from wallboard.fold_settings import FoldSettings
from wallboard.kpi import agent_kpis, aht, combined_service_level, interval_kpis, queue_kpis
from wallboard.staffing import gap, queue_staffing
from wallboard.state import Abandoned, AgentEntry, Answered, CentreState, Exited, QueueState, WindowRecord


def window_counters(records: Iterable[WindowRecord], since: float, until: float) -> QueueCounters:
    """Counters of the outcomes with since < ts ≤ until, from rolling-window records."""
    c = QueueCounters()
    for rec in records:
        ts = rec.ts
        if ts <= since or ts > until:
            continue
        if isinstance(rec, Answered):
            c.add_answered(rec.wait, rec.within_sl)
        elif isinstance(rec, Abandoned):
            c.add_abandoned(rec.wait, rec.within_sl, rec.short)
        elif isinstance(rec, Exited):
            c.add_exited(rec.wait, rec.reason, rec.within_sl)
        else:
            c.add_ended(rec.talk, rec.hold, rec.transferred)
            c.wrap_sum += rec.wrap
    return c


def buckets_since(buckets: dict[int, QueueCounters], start: float, until: float) -> QueueCounters:
    """Merge of the interval counters from ``start`` up to ``until``."""
    c = QueueCounters()
    for b, counters in buckets.items():
        if start <= b <= until:
            c.merge(counters)
    return c


def agent_since(agent: AgentEntry, settings: FoldSettings, start: float, now: float) -> AgentCounters:
    """An agent's counters from ``start`` to ``now``, including the state still open."""
    total = AgentCounters()
    for b, counters in agent.buckets.items():
        if start <= b <= now:
            total.merge(counters)
    if agent.state != AgentState.LOGGED_OUT and now > agent.since:
        open_part: dict[int, AgentCounters] = {}
        account_time(agent, settings.intervals, max(agent.since, start), now, into=open_part)
        for counters in open_part.values():
            total.merge(counters)
    return total


def _waiting_view(queues: Iterable[QueueState], now: float) -> dict[str, Any]:
    oldest: float | None = None
    n = 0
    for q in queues:
        n += len(q.waiting)
        for w in q.waiting.values():
            if oldest is None or w.since < oldest:
                oldest = w.since
    return {
        "waiting": n,
        "oldest_since": oldest,
        "longest_wait_s": None if oldest is None else round(max(0.0, now - oldest), 1),
    }


def _by_state(agents: Iterable[AgentEntry]) -> dict[str, int]:
    counts = dict.fromkeys(AGENT_STATES, 0)
    for a in agents:
        counts[a.state] += 1
    return counts


#: Agents who count as staffed for a queue: logged in and not on a break.
STAFFED_STATES = ("available", "ringing", "on_call", "on_hold", "wrap_up")


def staffing_window(windows: Iterable[int]) -> int:
    """The rolling window (minutes) staffing is computed from: the longest up to 30 min (enough
    calls for a rate, recent enough to act on), else the shortest configured."""
    ws = sorted(windows)
    fitting = [w for w in ws if w <= 30]
    return fitting[-1] if fitting else ws[0]


def staffing_view(
    recent: QueueCounters, window_s: float, queue: QueueConfig, by_state: dict[str, int], today: dict[str, Any]
) -> dict[str, Any]:
    """The agents a queue needs now for its target (Erlang C, or Erlang A when the window's abandons
    give the callers' patience: :mod:`wallboard.staffing`) against the agents staffed now.

    ``gap`` = needed − staffed: positive, agents missing ("faltan"); negative, to spare ("sobran");
    ``None`` with no traffic in the window (no number to show)."""
    handle = aht(recent.handled, recent.talk_sum, recent.hold_sum, recent.wrap_sum)
    if handle is None:
        handle = today.get("aht_s")  # no call ended in the window yet: the day's handle time
    model = queue_staffing(
        offered=recent.offered,
        window_s=window_s,
        aht_s=handle,
        threshold_s=queue.sl_threshold_s,
        target_pct=queue.sl_target_pct,
        abandoned=recent.abandoned,
        answered_wait_s=recent.answer_wait_sum,
        abandoned_wait_s=recent.abandon_wait_sum,
        sl_formula=queue.sl_formula,
        short_abandon_s=queue.short_abandon_s,
    )
    staffed = sum(by_state.get(s, 0) for s in STAFFED_STATES)
    out: dict[str, Any] = {
        "window_min": round(window_s / 60),
        "staffed": staffed,
        "available": by_state.get("available", 0),
    }
    if model is None:
        return {**out, "needed": None, "gap": None, "model": None}
    return {
        **out,
        "needed": model.needed,
        "gap": gap(model.needed, staffed),
        "capped": model.capped,
        "model": model.model,
        "traffic_erlangs": round(model.traffic_erlangs, 2),
        "patience_s": None if model.patience_s is None else round(model.patience_s, 1),
    }


def pooled_staffing(
    config: Config, ids: list[str], recent: Iterable[QueueCounters], window_s: float, by_state: dict[str, int]
) -> dict[str, Any]:
    """A screen of several queues, served by agents shared between them: one pool (the queues'
    arrivals summed, their handle times weighted by calls) held to the strictest of their rules —
    the shortest threshold, the highest target, ``offered`` when their formulas differ — against
    the agents staffed for any of them, each counted once. (Adding each queue's own need would
    ignore that one agent takes the next call of whichever queue.) ``recent``: each queue's
    counters over the window."""
    merged = QueueCounters()
    for c in recent:
        merged.merge(c)
    rules = [config.queue(q) for q in ids]
    formulas = {r.sl_formula for r in rules}
    strictest = QueueConfig(
        id="pool",
        sl_threshold_s=min(r.sl_threshold_s for r in rules),
        sl_target_pct=max(r.sl_target_pct for r in rules),
        short_abandon_s=min(r.short_abandon_s for r in rules),
        sl_formula=formulas.pop() if len(formulas) == 1 else "offered",
    )
    return staffing_view(merged, window_s, strictest, by_state, {})


def sl_rules(config: Config, ids: Iterable[str]) -> dict[str, Any]:
    """How a block of queues' service level is labelled: the formula, threshold and target they
    share, or ``"mixed"`` (and ``None``) where they differ. Never one queue's rules (or the
    defaults') on a blend."""
    rules: list[QueueDefaults] = [config.queue(q) for q in ids] or [config.queue_defaults]
    formulas = {r.sl_formula for r in rules}
    thresholds = {r.sl_threshold_s for r in rules}
    targets = {r.sl_target_pct for r in rules}
    mixed = len(formulas) > 1 or len(thresholds) > 1
    return {
        "sl_formula": "mixed" if mixed else rules[0].sl_formula,
        "sl_threshold_s": None if mixed else rules[0].sl_threshold_s,
        "sl_target_pct": rules[0].sl_target_pct if len(targets) == 1 else None,
        "sl_mixed": mixed,
    }


def build_view(state: CentreState, config: Config, settings: FoldSettings, now: float) -> dict[str, Any]:
    """Everything the screens show, at ``now``: queues, teams, centre, agents, today's intervals."""
    today = day_start_at(now, config.zone, config.day_start_time)
    windows = config.windows
    team_of = config.team_of()
    names = {a.id: a.name for a in config.agents}
    queue_ids = [q.id for q in config.queues] + sorted(set(state.queues) - {q.id for q in config.queues})
    empty = QueueState()
    staffing_min = staffing_window(windows)
    current = settings.intervals.floor(now)
    # Each queue's counters for today and for each window, computed once: screens, the centre and
    # staffing read the same ones.
    today_of: dict[str, QueueCounters] = {}
    recent_of: dict[tuple[str, int], QueueCounters] = {}

    def today_counters(qid: str) -> QueueCounters:
        if qid not in today_of:
            today_of[qid] = buckets_since(state.queues.get(qid, empty).buckets, today, now)
        return today_of[qid]

    def recent_counters(qid: str, minutes: int) -> QueueCounters:
        key = (qid, minutes)
        if key not in recent_of:
            recent_of[key] = window_counters(state.queues.get(qid, empty).recent, now - minutes * 60, now)
        return recent_of[key]

    def call_block(ids: list[str]) -> dict[str, Any]:
        """Today's and each rolling window's counters and KPIs of these queues together, with
        ``sl``: each queue under its own formula, numerators over denominators (METRICS.md)."""
        queue_states = [state.queues.get(q, empty) for q in ids]
        formulas = [config.queue(q).sl_formula for q in ids]
        today_parts = [today_counters(q) for q in ids]
        today_c = QueueCounters()
        for c in today_parts:
            today_c.merge(c)
        block: dict[str, Any] = {"today": queue_kpis(today_c), "windows": {}}
        block["today"]["sl"] = combined_service_level(zip(today_parts, formulas, strict=True))
        # The current interval (a quarter hour by default), as the interval reports will show it.
        interval_parts = [state.queues.get(q, empty).buckets.get(current) or QueueCounters() for q in ids]
        ic = QueueCounters()
        for c in interval_parts:
            ic.merge(c)
        block["interval"] = {"start": current, **queue_kpis(ic)}
        block["interval"]["sl"] = combined_service_level(zip(interval_parts, formulas, strict=True))
        for w in windows:
            parts = [recent_counters(q, w) for q in ids]
            wc = QueueCounters()
            for c in parts:
                wc.merge(c)
            block["windows"][str(w)] = queue_kpis(wc)
            block["windows"][str(w)]["sl"] = combined_service_level(zip(parts, formulas, strict=True))
        block.update(_waiting_view(queue_states, now))
        block.update(sl_rules(config, ids))
        return block

    def interval_series(ids: list[str]) -> list[dict[str, Any]]:
        """Today's intervals of these queues together; ``sl_pct`` each queue by its own formula."""
        merged: dict[int, QueueCounters] = {}
        parts: dict[int, list[tuple[QueueCounters, str]]] = {}
        for qid in ids:
            formula = config.queue(qid).sl_formula
            for b, c in state.queues.get(qid, empty).buckets.items():
                if today <= b <= now:
                    merged.setdefault(b, QueueCounters()).merge(c)
                    parts.setdefault(b, []).append((c, formula))
        return [
            {"start": b, **interval_kpis(merged[b]), "sl_pct": combined_service_level(parts[b])["pct"]}
            for b in sorted(merged)
        ]

    queues: dict[str, Any] = {}
    for qid in queue_ids:
        qc = config.queue(qid)
        members = [a for a in state.agents.values() if qid in a.queues]
        by_state = _by_state(members)
        queues[qid] = {
            "name": qc.name or qid,
            "short_abandon_s": qc.short_abandon_s,
            **call_block([qid]),
            "agents": by_state,
            "intervals": interval_series([qid]),
        }
        recent = recent_counters(qid, staffing_min)
        queues[qid]["staffing"] = staffing_view(recent, staffing_min * 60, qc, by_state, queues[qid]["today"])

    agents: dict[str, Any] = {}
    agent_today: dict[str, AgentCounters] = {}
    nobody = AgentEntry()  # configured agents not seen yet: the roster is complete, logged out
    for aid in sorted(set(state.agents) | set(names)):
        a = state.agents.get(aid, nobody)
        counters = agent_today[aid] = agent_since(a, settings, today, now)
        agents[aid] = {
            "name": names.get(aid, aid),
            "team": team_of.get(aid, ""),
            "state": a.state,
            "reason": a.reason,
            "direction": a.direction,
            "since": a.since,
            "queues": sorted(a.queues),
            "today": agent_kpis(counters),
        }

    teams: dict[str, Any] = {}
    for team in config.teams:
        members_ids = [aid for aid, tid in team_of.items() if tid == team.id]
        total = AgentCounters()
        for aid in members_ids:
            if aid in agent_today:
                total.merge(agent_today[aid])
        teams[team.id] = {
            "name": team.name or team.id,
            "queues": list(team.queues),
            "agents": _by_state(state.agents.get(aid, nobody) for aid in members_ids),
            "today": agent_kpis(total),
        }

    screens: dict[str, Any] = {}
    for screen in config.screens:
        ids = list(screen.queues) or queue_ids
        wanted = set(ids)
        members = [a for a in state.agents.values() if a.queues & wanted]
        screen_agents = _by_state(members)
        screens[screen.id] = {
            "title": screen.title or screen.id,
            "queues": ids,
            "detail": screen.detail_queues(ids),  # the queues whose own blocks it draws
            **call_block(ids),
            "agents": screen_agents,
            "staffing": pooled_staffing(
                config, ids, [recent_counters(q, staffing_min) for q in ids], staffing_min * 60, screen_agents
            ),
        }

    centre_total = AgentCounters()
    for c in agent_today.values():
        centre_total.merge(c)
    centre_agents = _by_state(state.agents.values())
    centre_calls = call_block(queue_ids)
    centre = {
        **centre_calls,
        "agents": centre_agents,
        "work": agent_kpis(centre_total),
        "intervals": interval_series(queue_ids),
    }
    # ``/wall/all``: the whole centre as a screen.
    if queue_ids:
        screens.setdefault(
            "all",
            {
                "title": "",
                "queues": queue_ids,
                "detail": queue_ids if len(queue_ids) > 1 else [],
                **centre_calls,
                "agents": centre_agents,
                "staffing": pooled_staffing(
                    config,
                    queue_ids,
                    [recent_counters(q, staffing_min) for q in queue_ids],
                    staffing_min * 60,
                    centre_agents,
                ),
            },
        )
    return {
        "now": now,
        "day_start": today,
        "timezone": config.timezone,
        "interval_s": settings.intervals.seconds,
        "windows": list(windows),
        "centre": centre,
        "queues": queues,
        "teams": teams,
        "agents": agents,
        "screens": screens,
    }
