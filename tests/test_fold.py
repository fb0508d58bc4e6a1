"""The fold, scenario by scenario, with expected numbers worked out by hand."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from wallboard.checkpoint import from_dict, to_dict
from wallboard.config import Config
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
from wallboard.fold import apply, apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import CentreState

# 2026-03-10 09:00:00 Europe/Madrid (+01:00)
T0 = 1_773_129_600.0
_ids = itertools.count()


def eid() -> str:
    return f"e{next(_ids)}"


def queued(ts: float, call: str, queue: str = "ventas") -> CallQueued:
    return CallQueued(eid(), "pbx", ts, queue, call)


def answered(ts: float, call: str, wait: float, agent: str = "ana", queue: str = "ventas") -> CallAnswered:
    return CallAnswered(eid(), "pbx", ts, queue, call, agent, wait)


def abandoned(ts: float, call: str, wait: float, queue: str = "ventas") -> CallAbandoned:
    return CallAbandoned(eid(), "pbx", ts, queue, call, wait)


def ended(ts: float, call: str, talk: float, hold: float = 0.0, agent: str = "ana") -> CallEnded:
    return CallEnded(eid(), "pbx", ts, "ventas", call, agent, talk, hold)


def state(ts: float, st: str, reason: str = "", agent: str = "ana") -> AgentStateChanged:
    return AgentStateChanged(eid(), "pbx", ts, agent, st, reason)


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        queues=[
            {"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5, "sl_formula": "answered"},
            {"id": "soporte", "sl_threshold_s": 30, "short_abandon_s": 10},
        ],
        teams=[{"id": "norte", "queues": ["ventas"]}],
        agents=[{"id": "ana", "team": "norte"}, {"id": "luis", "team": "norte"}],
        windows=[15, 60],
    )


def fold(config: Config, events: list[Event]) -> tuple[CentreState, FoldSettings]:
    settings = FoldSettings.from_config(config)
    st = CentreState()
    apply_all(st, settings, events)
    return st, settings


def view(config: Config, events: list[Event], now: float) -> dict[str, Any]:
    st, settings = fold(config, events)
    return build_view(st, config, settings, now)


def test_waiting_now_and_longest_wait(config: Config) -> None:
    v = view(
        config,
        [queued(T0, "c1"), queued(T0 + 30, "c2"), queued(T0 + 40, "c3", "soporte"), answered(T0 + 50, "c2", 20)],
        now=T0 + 100,
    )
    assert v["queues"]["ventas"]["waiting"] == 1
    assert v["queues"]["ventas"]["longest_wait_s"] == 100.0
    assert v["queues"]["ventas"]["oldest_since"] == T0  # screens tick from this epoch
    assert v["queues"]["soporte"]["longest_wait_s"] == 60.0
    assert v["centre"]["waiting"] == 2 and v["centre"]["longest_wait_s"] == 100.0
    # a waiting call is in no window's counts
    assert v["queues"]["ventas"]["today"]["offered"] == 1


def test_sl_threshold_is_inclusive_and_per_queue(config: Config) -> None:
    events = [
        answered(T0 + 1, "a", 20),
        answered(T0 + 2, "b", 20.5),
        answered(T0 + 3, "c", 30, queue="soporte"),
        abandoned(T0 + 4, "d", 5),
        abandoned(T0 + 5, "e", 10, "soporte"),
    ]
    v = view(config, events, now=T0 + 60)
    ventas, soporte = v["queues"]["ventas"]["today"], v["queues"]["soporte"]["today"]
    assert (ventas["answered_within_sl"], ventas["short_abandoned"], ventas["abandoned_within_sl"]) == (1, 1, 1)
    assert (soporte["answered_within_sl"], soporte["short_abandoned"], soporte["abandoned_within_sl"]) == (1, 1, 1)
    assert ventas["service_level_pct"]["answered"] == 50.0
    # centre sums each call judged against its own queue's threshold: A=3, A≤T=2
    assert v["centre"]["today"]["service_level_pct"]["answered"] == pytest.approx(66.67)


def test_a_scenario_by_hand(config: Config) -> None:
    """Five calls in ventas; every KPI worked out by hand."""
    events = [
        queued(T0, "c1"),
        answered(T0 + 10, "c1", 10),
        ended(T0 + 190, "c1", 150, 30),
        queued(T0 + 20, "c2"),
        abandoned(T0 + 23, "c2", 3),
        queued(T0 + 30, "c3"),
        answered(T0 + 70, "c3", 40, agent="luis"),
        ended(T0 + 130, "c3", 60, agent="luis"),
        queued(T0 + 40, "c4"),
        abandoned(T0 + 100, "c4", 60),
        queued(T0 + 50, "c5"),
        CallExited(eid(), "pbx", T0 + 350, "ventas", "c5", 300, "timeout"),
    ]
    t = view(config, events, now=T0 + 600)["queues"]["ventas"]["today"]
    assert (t["offered"], t["answered"], t["abandoned"], t["other_exits"]) == (5, 2, 2, 1)
    assert t["exits"] == {"timeout": 1}
    assert t["asa_s"] == 25.0  # (10 + 40) / 2
    assert t["avg_abandon_wait_s"] == 31.5  # (3 + 60) / 2
    assert t["max_wait_s"] == 300.0
    assert t["aht_s"] == 120.0  # (150 + 30 + 60) / 2
    assert t["abandon_rate_pct"] == 40.0  # 2 / 5
    assert t["abandon_rate_excl_short_pct"] == 25.0  # 1 / 4
    sl = t["service_level_pct"]
    assert sl["answered"] == 50.0  # 1 / 2
    assert sl["asterisk_sl2"] == 40.0  # (1 + 1 + 0) / (2 + 2 + 1): the timeout (300 s > T) counts as an abandon
    assert sl["sl2_hangups"] == 50.0  # (1 + 1) / (2 + 2)
    assert sl["offered"] == 25.0  # 1 / 4
    assert sl["excl_short_abandons"] == pytest.approx(33.33)  # 1 / (4 - 1)
    assert sl["abandons_after_T"] == pytest.approx(33.33)  # 1 / (2 + 1)


def test_rolling_windows_are_exact_to_the_second(config: Config) -> None:
    now = T0 + 3600
    events = [
        answered(now - 15 * 60, "old", 10),  # exactly 15 min ago: outside (since < ts ≤ now)
        answered(now - 15 * 60 + 1, "in15", 30),
        answered(now - 60 * 60 + 1, "in60", 5),
        answered(now - 60 * 60, "out60", 5),
    ]
    w = view(config, events, now=now)["queues"]["ventas"]["windows"]
    assert w["15"]["answered"] == 1 and w["15"]["asa_s"] == 30.0
    assert w["60"]["answered"] == 3 and w["60"]["asa_s"] == 15.0


def test_duplicates_count_once(config: Config) -> None:
    e = answered(T0 + 5, "c1", 12)
    st, _ = fold(config, [e, e, e])
    assert st.duplicates == 2
    assert sum(c.answered for c in st.queues["ventas"].buckets.values()) == 1


def test_outcome_before_its_queued_event_is_not_left_waiting(config: Config) -> None:
    v = view(config, [answered(T0 + 12, "c1", 12), queued(T0, "c1")], now=T0 + 20)
    assert v["queues"]["ventas"]["waiting"] == 0
    assert v["queues"]["ventas"]["today"]["answered"] == 1


def test_call_reentering_another_queue_with_the_same_id(config: Config) -> None:
    events = [
        queued(T0, "c1"),
        CallExited(eid(), "pbx", T0 + 60, "ventas", "c1", 60, "exit_key"),
        queued(T0 + 60, "c1", "soporte"),
    ]
    v = view(config, events, now=T0 + 90)
    assert v["queues"]["ventas"]["waiting"] == 0
    assert v["queues"]["soporte"]["waiting"] == 1 and v["queues"]["soporte"]["longest_wait_s"] == 30.0


def test_source_reset_drops_only_that_sources_waiting_calls(config: Config) -> None:
    other = CallQueued(eid(), "http", T0, "ventas", "h1")
    v = view(config, [queued(T0, "c1"), other, SourceReset(eid(), "pbx", T0 + 10)], now=T0 + 20)
    assert v["queues"]["ventas"]["waiting"] == 1


def test_a_lost_call_stops_waiting_and_counts_no_outcome(config: Config) -> None:
    events = [
        queued(T0, "c1"),
        queued(T0 + 5, "c2"),
        CallLost(eid(), "pbx", T0 + 30, "ventas", "c1"),
        queued(T0, "c1"),
    ]  # a late copy of its queued event does not bring it back
    v = view(config, events, now=T0 + 40)
    ventas = v["queues"]["ventas"]
    assert ventas["waiting"] == 1 and ventas["longest_wait_s"] == 35.0
    assert (ventas["today"]["offered"], ventas["today"]["answered"], ventas["today"]["abandoned"]) == (0, 0, 0)


def test_agent_time_in_state_pause_and_wrap_in_aht(config: Config) -> None:
    events = [
        AgentLogin(eid(), "pbx", T0, "ana", "ventas"),  # available from T0
        state(T0 + 100, "ringing"),
        answered(T0 + 105, "c1", 15),
        state(T0 + 105, "on_call"),
        state(T0 + 205, "on_hold"),
        state(T0 + 235, "on_call"),
        ended(T0 + 305, "c1", 170, 30),
        state(T0 + 305, "wrap_up"),
        state(T0 + 345, "not_ready", "break"),  # 40 s wrap-up belongs to c1
        state(T0 + 645, "available"),
    ]
    v = view(config, events, now=T0 + 700)
    ana = v["agents"]["ana"]
    assert (ana["state"], ana["since"], ana["team"]) == ("available", T0 + 645, "norte")
    today = ana["today"]
    assert today["handled"] == 1
    assert today["aht_s"] == 240.0  # 170 talk + 30 hold + 40 wrap
    assert today["paused_s"] == 300.0
    assert today["pause_by_reason_s"] == {"break": 300.0}
    # available 100 + 55 (still open at now), ringing 5, on_call 170, on_hold 30, wrap 40
    assert today["state_s"] == {
        "available": 155.0,
        "not_ready": 300.0,
        "on_call": 170.0,
        "on_hold": 30.0,
        "ringing": 5.0,
        "wrap_up": 40.0,
    }
    assert today["occupancy_pct"] == pytest.approx(240 / 395 * 100, abs=0.01)
    assert v["queues"]["ventas"]["today"]["aht_s"] == 240.0
    assert v["queues"]["ventas"]["windows"]["15"]["aht_s"] == 240.0
    assert v["queues"]["ventas"]["agents"]["available"] == 1
    assert v["teams"]["norte"]["agents"]["available"] == 1
    assert v["teams"]["norte"]["today"]["handled"] == 1


def test_configured_agents_not_seen_yet_are_in_the_roster_logged_out(config: Config) -> None:
    v = view(config, [AgentLogin(eid(), "pbx", T0, "ana", "ventas")], now=T0 + 10)
    assert v["agents"]["luis"]["state"] == "logged_out" and v["agents"]["luis"]["team"] == "norte"
    assert v["agents"]["luis"]["today"]["handled"] == 0
    assert v["teams"]["norte"]["agents"]["logged_out"] == 1


def test_stale_agent_state_arriving_late_is_ignored(config: Config) -> None:
    events = [AgentLogin(eid(), "pbx", T0, "ana", "ventas"), state(T0 + 10, "on_call"), state(T0 + 8, "ringing")]
    assert view(config, events, now=T0 + 20)["agents"]["ana"]["state"] == "on_call"


def test_logout_from_last_queue_logs_the_agent_out(config: Config) -> None:
    events = [
        AgentLogin(eid(), "pbx", T0, "ana", "ventas"),
        AgentLogin(eid(), "pbx", T0, "ana", "soporte"),
        AgentLogout(eid(), "pbx", T0 + 10, "ana", "ventas"),
    ]
    assert view(config, events, now=T0 + 20)["agents"]["ana"]["state"] == "available"
    events.append(AgentLogout(eid(), "pbx", T0 + 20, "ana", "soporte"))
    v = view(config, events, now=T0 + 30)
    assert v["agents"]["ana"]["state"] == "logged_out"
    assert v["agents"]["ana"]["today"]["state_s"] == {"available": 20.0}


def test_transfer_counts_as_handled_and_transferred(config: Config) -> None:
    e = CallTransferred(eid(), "pbx", T0 + 100, "ventas", "c1", "ana", 80, 0, "2000")
    t = view(config, [answered(T0, "c1", 5), e], now=T0 + 200)["queues"]["ventas"]["today"]
    assert (t["handled"], t["transferred"], t["aht_s"]) == (1, 1, 80.0)


def test_intervals_are_15_minute_buckets_of_the_outcome(config: Config) -> None:
    events = [queued(T0 + 14 * 60, "c1"), answered(T0 + 15 * 60 + 5, "c1", 65), abandoned(T0 + 60, "c2", 7)]
    series = view(config, events, now=T0 + 1800)["queues"]["ventas"]["intervals"]
    assert [(i["start"], i["offered"], i["answered"], i["abandoned"]) for i in series] == [
        (T0, 1, 0, 1),
        (T0 + 900, 1, 1, 0),
    ]


def test_today_starts_at_local_day_start_across_dst(make_config: Callable[..., Config]) -> None:
    config = make_config(day_start="06:00", queues=[{"id": "ventas"}])

    def utc(*a: int) -> float:
        return datetime(*a, tzinfo=UTC).timestamp()

    # 2026-03-29 06:00 CEST = 04:00Z; the previous day started at 06:00 CET = 05:00Z on the 28th
    events = [
        answered(utc(2026, 3, 29, 3, 59), "before", 5),
        answered(utc(2026, 3, 29, 4, 0), "at", 5),
        answered(utc(2026, 3, 29, 4, 1), "after", 5),
    ]
    v = view(config, events, now=utc(2026, 3, 29, 12))
    assert v["queues"]["ventas"]["today"]["answered"] == 2
    assert v["day_start"] == utc(2026, 3, 29, 4)
    v = view(config, events, now=utc(2026, 3, 29, 3, 59, 30))
    assert v["queues"]["ventas"]["today"]["answered"] == 1
    assert v["day_start"] == utc(2026, 3, 28, 5)


def test_checkpoint_round_trip_is_exact(config: Config) -> None:
    events = [
        AgentLogin(eid(), "pbx", T0, "ana", "ventas"),
        queued(T0, "c1"),
        queued(T0 + 5, "c2"),
        answered(T0 + 10, "c1", 10),
        state(T0 + 10, "on_call"),
        ended(T0 + 70, "c1", 60),
        state(T0 + 70, "wrap_up"),
    ]
    st, settings = fold(config, events)
    data = json.loads(json.dumps(to_dict(st)))
    restored = from_dict(data)
    assert to_dict(restored) == to_dict(st)
    more = [state(T0 + 90, "available"), abandoned(T0 + 95, "c2", 90)]
    apply_all(st, settings, more)
    apply_all(restored, settings, more)
    assert build_view(restored, config, settings, T0 + 100) == build_view(st, config, settings, T0 + 100)
    assert restored.queues["ventas"].buckets[int(T0)].wrap_sum == 20.0


def test_pruning_keeps_memory_bounded_by_event_time(config: Config) -> None:
    settings = FoldSettings.from_config(config)
    st = CentreState()
    for i in range(4 * 24 * 60):  # four days, one call a minute
        apply(st, settings, answered(T0 + i * 60, f"c{i}", 5))
    q = st.queues["ventas"]
    assert len(st.seen) + len(st.seen_old) <= 2 * 61 + 2  # two generations of an hour of ids
    assert len(q.recent) <= 60 + 2 + 60
    assert len(q.buckets) <= 2 * 96 + 4
    assert apply(st, settings, answered(T0, "c0", 5))  # an id older than the horizon is forgotten
