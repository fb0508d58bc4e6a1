"""The service level of several queues together: each queue under its own formula and threshold,
the sum of their numerators over the sum of their denominators, labelled "mixed" when the queues'
formulas or thresholds differ (METRICS.md, "Combined service level")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.test_fold import T0, abandoned, answered, view
from wallboard.config import Config
from wallboard.counters import QueueCounters
from wallboard.kpi import SL_FORMULAS, combined_service_level, service_level, sl_parts

#: The ICMI worked example (no timeouts): A=1000, Ab=60, A≤T=860, Ab≤T=20, short abandons 10.
ICMI = QueueCounters(answered=1000, abandoned=60, answered_within_sl=860, abandoned_within_sl=20, short_abandoned=10)
CHECK = {
    "answered": 86.0,
    "asterisk_sl2": 83.02,
    "sl2_hangups": 83.02,
    "offered": 81.13,
    "abandons_after_T": 82.69,
    "excl_short_abandons": 81.9,
}


@pytest.mark.parametrize("formula", SL_FORMULAS)
def test_one_queue_combined_is_its_own_service_level_and_the_check_values_hold(formula: str) -> None:
    combined = combined_service_level([(ICMI, formula)])
    assert combined["pct"] == CHECK[formula]
    assert combined["pct"] == round(service_level(ICMI, formula) or 0, 2)
    assert (combined["numerator"], combined["denominator"]) == sl_parts(ICMI, formula)


def test_the_worked_example_of_metrics_md() -> None:
    # Ventas: the ICMI example under excl_short_abandons → 860 / (1000 + 60 − 10) = 860 / 1050
    # Retención: asterisk_sl2, A=200 (150 within T), Ab=20 (10 within T), 5 timeouts (none within T)
    #            → (150 + 10) / (200 + 20 + 5) = 160 / 225
    retencion = QueueCounters(
        answered=200, answered_within_sl=150, abandoned=20, abandoned_within_sl=10, other_exits=5, exits={"timeout": 5}
    )
    assert service_level(ICMI, "excl_short_abandons") == pytest.approx(81.905, abs=1e-3)
    assert service_level(retencion, "asterisk_sl2") == pytest.approx(71.111, abs=1e-3)
    combined = combined_service_level([(ICMI, "excl_short_abandons"), (retencion, "asterisk_sl2")])
    assert combined == {"pct": 80.0, "numerator": 1020, "denominator": 1275}  # (860 + 160) / (1050 + 225)
    # not the blend of the counters under one formula (what the screens showed before):
    merged = QueueCounters()
    merged.merge(ICMI)
    merged.merge(retencion)
    assert round(service_level(merged, "excl_short_abandons") or 0, 2) == 79.53  # 1010 / 1270: another number
    assert combined_service_level([]) == {"pct": None, "numerator": 0, "denominator": 0}
    assert combined_service_level([(QueueCounters(), "answered")])["pct"] is None  # "—", never 0 % or 100 %


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        queues=[
            {"id": "ventas", "sl_threshold_s": 20, "sl_target_pct": 80, "sl_formula": "answered"},
            {"id": "soporte", "sl_threshold_s": 30, "sl_target_pct": 80, "sl_formula": "offered"},
            {"id": "ventas2", "sl_threshold_s": 20, "sl_target_pct": 90, "sl_formula": "answered"},
        ],
        screens=[
            {"id": "both", "queues": ["ventas", "soporte"]},
            {"id": "one", "queues": ["ventas"]},
            {"id": "same", "queues": ["ventas", "ventas2"]},
        ],
        windows=[15],
    )


def test_screens_and_the_centre_are_labelled_by_their_queues_rules(config: Config) -> None:
    events = [
        answered(T0 + 1, "a", 20),  # ventas: within 20 s
        answered(T0 + 2, "b", 25),  # ventas: not within 20 s
        answered(T0 + 3, "c", 25, queue="soporte"),  # soporte: within 30 s
        abandoned(T0 + 4, "d", 40, "soporte"),  # soporte: an abandon, a failure under "offered"
    ]
    v = view(config, events, now=T0 + 60)
    ventas, soporte = v["queues"]["ventas"], v["queues"]["soporte"]
    assert (ventas["sl_formula"], ventas["sl_threshold_s"], ventas["sl_mixed"]) == ("answered", 20, False)
    assert ventas["today"]["sl"]["pct"] == 50.0  # 1 / 2
    assert soporte["today"]["sl"]["pct"] == 50.0  # 1 / (1 + 1)
    both = v["screens"]["both"]
    assert (both["sl_formula"], both["sl_threshold_s"], both["sl_mixed"]) == ("mixed", None, True)
    assert both["sl_target_pct"] == 80  # (their targets agree)
    assert both["today"]["sl"] == {"pct": 50.0, "numerator": 2, "denominator": 4}  # (1 + 1) / (2 + 2)
    assert both["windows"]["15"]["sl"]["pct"] == 50.0
    one = v["screens"]["one"]
    assert (one["sl_formula"], one["sl_threshold_s"], one["sl_mixed"], one["today"]["sl"]["pct"]) == (
        "answered",
        20,
        False,
        50.0,
    )
    same = v["screens"]["same"]  # same formula and threshold, targets differ: not mixed, no one target
    assert (same["sl_formula"], same["sl_mixed"], same["sl_target_pct"]) == ("answered", False, None)
    centre = v["centre"]
    assert (centre["sl_formula"], centre["sl_mixed"]) == ("mixed", True)
    assert centre["today"]["sl"]["pct"] == 50.0
    assert [i["sl_pct"] for i in centre["intervals"]] == [50.0]


def test_each_queue_says_how_many_agents_it_needs_now(make_config: Callable[..., Config]) -> None:
    """The staffing gap in the snapshot: Erlang C on the window's arrivals and handle time (the
    Call Centre Helper example: 100 calls in 30 min, AHT 180 s → A = 10 Erlangs, 80/20 → 14 agents)."""
    from tests.test_fold import ended, state
    from wallboard.events import AgentLogin, Event

    config = make_config(
        queues=[{"id": "ventas", "sl_threshold_s": 20, "sl_target_pct": 80, "sl_formula": "answered"}],
        agents=[{"id": f"a{i}"} for i in range(12)],
        windows=[15, 30, 60],
    )
    events: list[Event] = []
    for i in range(100):  # 100 calls answered at once and ended after 180 s of talk, in 30 minutes
        t = T0 + 10 + i * 17
        events += [answered(t, f"c{i}", 5, agent="a0"), ended(t + 180, f"c{i}", 180, agent="a0")]
    for i in range(12):  # twelve agents logged in for ventas, nine serving, three on a break
        events.append(AgentLogin(f"login-{i}", "pbx", T0 + 1, f"a{i}", "ventas"))
        events.append(state(T0 + 2, "available" if i < 9 else "not_ready", agent=f"a{i}"))
    v = view(config, events, now=T0 + 30 * 60)
    staffing = v["queues"]["ventas"]["staffing"]
    assert staffing["window_min"] == 30 and staffing["model"] == "erlang_c"
    assert staffing["traffic_erlangs"] == pytest.approx(10.0, abs=0.05)
    assert staffing["needed"] == 14 and staffing["staffed"] == 9 and staffing["gap"] == 5  # "faltan 5"
    quiet = view(config, [], now=T0 + 30 * 60)["queues"]["ventas"]["staffing"]
    assert (quiet["needed"], quiet["gap"]) == (None, None)  # no traffic: no number
