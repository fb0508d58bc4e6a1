"""The simulator's roster, shifts and incidents: pure functions, expected values worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from wallboard.collectors.simulator import Options, Simulation, schedule
from wallboard.collectors.simulator.demand import forecast_per_s, handle_time_s, profile
from wallboard.collectors.simulator.incidents import choose
from wallboard.collectors.simulator.roster import make_roster, pools
from wallboard.collectors.simulator.shifts import LATE_MEAN_S, PauseSlot, pause_slots
from wallboard.config import load_config, parse_config
from wallboard.events import AgentLogin, CallQueued
from wallboard.staffing import agents_needed, agents_needed_erlang_a

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_config(ROOT / "config.yaml", env={})
DEMO_OPTIONS = Options.model_validate(DEMO.collectors[0].options)
START = 1_773_097_200.0  # 2026-03-10 00:00 Europe/Madrid


def one_queue(agents: int = 30, **queue: Any) -> Any:
    return parse_config(
        {
            "timezone": "Europe/Madrid",
            "queues": [{"id": "q", "sl_threshold_s": 20, "sl_target_pct": 80, "sl_formula": "offered", **queue}],
            "teams": [{"id": "t", "queues": ["q"]}],
            "agents": [{"id": f"a{i:02d}", "team": "t"} for i in range(agents)],
        },
        env={},
    )


def test_handle_time_and_late_log_ins_by_hand() -> None:
    # ringing (2 + 7) / 2 + talk 200 + 15 % of a (15 + 90) / 2 s hold + wrap-up 20
    assert handle_time_s(Options()) == pytest.approx(4.5 + 200 + 0.15 * 52.5 + 20)
    # 70 % uniform(-120, 30), 25 % uniform(120, 480), 5 % uniform(600, 1200): -31.5 + 75 + 45
    assert pytest.approx(88.5) == LATE_MEAN_S


def test_the_forecast_is_the_profile_times_the_peak() -> None:
    options = Options(calls_per_hour={"q": 60})
    # 10:00-10:15, at 10:07:30: the 10:00 and 11:00 hours are both 1.0
    assert forecast_per_s(options, "q", 40) == pytest.approx(60 / 3600)
    # 03:00-03:15 at 03:07:30: 0.05 → 0.06 linearly, 1/8 of the way
    assert profile(3 * 3600 + 450) == pytest.approx(0.05 + 0.01 / 8)
    assert forecast_per_s(options, "other", 40) == pytest.approx(45 / 3600)  # default_calls_per_hour


@pytest.mark.parametrize("model", ["erlang_a", "erlang_c"])
def test_a_lone_queue_is_staffed_by_the_products_erlang_model(model: str) -> None:
    config = one_queue()
    options = Options(calls_per_hour={"q": 120}, staffing_model=model)  # type: ignore[arg-type]
    roster = make_roster(config, options, ["q"])
    aht = handle_time_s(options)
    for i in (12, 40, 70):  # 03:00, 10:00, 17:30
        lam = forecast_per_s(options, "q", i)
        if model == "erlang_c":
            expected = agents_needed(lam, aht, 20, 80)
        else:
            expected = agents_needed_erlang_a(lam, aht, 20, 80, 80.0, sl_formula="offered")
        assert expected is not None
        assert roster.needed["t"][i] == expected.needed
    # 10:00 by Erlang C from the textbook sums: 120 calls/h × 232.375 s = 7.746 Erlangs; P(wait) with
    # 10 agents 0.355, SL(20 s) 70.8 %; with 11 agents 0.208, SL 84.3 % → 11
    if model == "erlang_c":
        assert roster.needed["t"][40] == 11


def test_the_roster_covers_the_need_grossed_up_by_shrinkage() -> None:
    config = one_queue(agents=40)
    options = Options(calls_per_hour={"q": 120}, shrinkage=0.25)
    roster = make_roster(config, options, ["q"])
    for i, need in enumerate(roster.needed["t"]):
        assert roster.rostered["t"][i] >= math.ceil(need / 0.75), i
    assert len({s.agent for s in roster.shifts}) == len(roster.shifts) <= 40  # one shift an agent at most
    # the planned pauses take the shrinkage: 25 % of every shift, the late log-in's 88.5 s aside
    for shift in roster.shifts:
        paused = sum(p.seconds for p in shift.pauses)
        assert paused == pytest.approx(0.25 * shift.length_s - LATE_MEAN_S)
        assert all(p.at_s >= 0 and p.at_s + p.seconds <= shift.length_s for p in shift.pauses)


def test_too_few_agents_understaff_the_whole_day_evenly() -> None:
    config = one_queue(agents=6)
    roster = make_roster(config, Options(calls_per_hour={"q": 300}), ["q"])
    assert len(roster.shifts) == 6
    # the evening is staffed too, not only the morning: the roster was scaled down, not cut off
    assert roster.rostered["t"][int(9.5 * 4)] > 0 and roster.rostered["t"][int(19.5 * 4)] > 0


def test_pause_sizes_by_hand() -> None:
    # 8 h at 20 %: 5 760 s − 88.5 s late = 5 671.5 s: two 900 s breaks, 1 800 s lunch, 2 071.5 s session
    slots = pause_slots(8 * 3600, 0.2)
    assert [(s.reason, s.seconds) for s in slots] == [
        ("break", 900.0),
        ("break", 900.0),
        ("lunch", 1800.0),
        ("training", pytest.approx(2071.5)),
    ]
    # 4 h at 20 %: 2 880 − 88.5 = 2 791.5: one break, no lunch, 1 891.5 s session
    assert [(s.reason, s.seconds) for s in pause_slots(4 * 3600, 0.2, "coaching")] == [
        ("break", 900.0),
        ("coaching", pytest.approx(1891.5)),
    ]
    # 8 h at 14 %: 4 032 − 88.5 = 3 943.5; the 343.5 s left is under 10 minutes, so the breaks take it
    assert [s.seconds for s in pause_slots(8 * 3600, 0.14)] == [pytest.approx(1071.75)] * 2 + [1800.0]
    # 8 h at 10 %: 2 791.5 s for 3 600 s of breaks and lunch: each cut to 2 791.5 / 3 600
    assert [s.seconds for s in pause_slots(8 * 3600, 0.1)] == pytest.approx([697.875, 697.875, 1395.75])
    assert pause_slots(8 * 3600, 0.0) == []


def test_shift_lengths_follow_what_is_still_short() -> None:
    assert schedule.lengths(8) == (32, 24, 16)
    # one agent wanted from 08:00 to 11:00 (12 intervals): a full 8 h shift would be needed in
    # 12 of its 32 intervals (< half), a three-quarter one in 12 of 24 (half): that one
    want = [0] * 96
    want[32:44] = [1] * 12
    assert schedule.fit(want, 5, (32, 24, 16)) == [(32, 24)]
    # 08:00 to 16:00: one full shift
    want = [0] * 96
    want[32:64] = [1] * 32
    assert schedule.fit(want, 5, (32, 24, 16)) == [(32, 32)]
    # a shift from 20:00 runs past midnight and covers the early morning
    assert schedule.cover([(80, 32)])[:16] == [1] * 16 and schedule.cover([(80, 32)])[16] == 0


def test_pauses_of_agents_starting_together_do_not_fall_together() -> None:
    on = [0.0] * 96
    for j in range(32, 64):
        on[j] = 2.0  # two agents on shift 08:00–16:00
    goal = [1] * 96
    slot = PauseSlot("break", 900.0, 0.2, 0.33)
    first = schedule.place(slot, 32, 32, on, goal)
    second = schedule.place(slot, 32, 32, on, goal)
    # the window starts 0.2 × 32 = 6.4 → interval 39 (09:45); the first takes it, the second the next
    assert (first.at_s, second.at_s) == (7 * 900, 8 * 900)
    assert on[39] == on[40] == 1.0


def test_every_agent_counts_once_and_floaters_serve_queues_they_have() -> None:
    roster = make_roster(DEMO, DEMO_OPTIONS, [q.id for q in DEMO.queues])
    assert len({s.agent for s in roster.shifts}) == len(roster.shifts)
    team_queues = {p.id: set(p.queues) for p in pools(DEMO, [q.id for q in DEMO.queues])}
    own = DEMO.team_of()
    floaters = [s for s in roster.shifts if own[s.agent] != s.pool]
    assert floaters and all(own[s.agent] == "noche" for s in floaters)  # the team serving every queue
    for shift in roster.shifts:
        assert set(shift.queues) <= team_queues[own[shift.agent]]


def test_the_incidents_are_the_busiest_queue_and_the_largest_other_team() -> None:
    teams = pools(DEMO, [q.id for q in DEMO.queues])
    chosen = choose(DEMO_OPTIONS, teams, [q.id for q in DEMO.queues])
    # ventas has the most calls per hour; norte (14) and noche (13) serve it; sur (13) > empresas (12)
    assert (chosen.surge_queue, chosen.meeting_team) == ("ventas", "sur")
    assert chosen.demand_factor("ventas", 11 * 3600 + 60) == 3.0
    assert chosen.demand_factor("ventas", 11.5 * 3600) == 1.0 and chosen.demand_factor("soporte", 11 * 3600) == 1.0
    off = choose(DEMO_OPTIONS.model_copy(update={"incidents": False}), teams, [q.id for q in DEMO.queues])
    assert (off.surge_queue, off.meeting_team) == (None, None)


def test_a_spring_forward_day_runs_its_shifts() -> None:
    start = 1_774_738_800.0  # 2026-03-29 00:00 Europe/Madrid, 23 hours long
    sim = Simulation(DEMO, DEMO_OPTIONS, start)
    events = list(sim.events(until=start + 23 * 3600))
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    logged_in = {e.agent for e in events if isinstance(e, AgentLogin)}
    assert logged_in == {s.agent for s in sim.roster.shifts}
    assert sum(isinstance(e, CallQueued) for e in events) > 1_500


def test_a_centre_without_teams_or_agents_still_runs() -> None:
    config = parse_config({"timezone": "Europe/Madrid", "queues": [{"id": "a"}, {"id": "b"}]}, env={})
    sim = Simulation(config, Options(), START)
    events = list(sim.events(until=START + 12 * 3600))
    assert {e.agent for e in events if isinstance(e, AgentLogin)} <= {f"agent{i:02d}" for i in range(1, 13)}
    assert any(isinstance(e, AgentLogin) for e in events) and any(isinstance(e, CallQueued) for e in events)
