"""The KPI formulas on hand-checked values, and their empty denominators."""

from __future__ import annotations

import pytest

from wallboard.counters import AgentCounters, QueueCounters
from wallboard.kpi import abandon_rate, abandon_rate_excl_short, asa, occupancy, queue_kpis, service_levels


def icmi() -> QueueCounters:
    """The worked example every SL formula is checked on: A=1000, Ab=60, A≤T=860, Ab≤T=20, short abandons=10."""
    return QueueCounters(
        answered=1000, answered_within_sl=860, abandoned=60, abandoned_within_sl=20, short_abandoned=10
    )


def test_icmi_check_values() -> None:
    # No timeouts: U = Ab, so Asterisk's SL2 and the hang-ups-only one agree.
    sl = {name: round(value, 1) for name, value in service_levels(icmi()).items() if value is not None}
    assert sl == {
        "answered": 86.0,  # 860 / 1000
        "asterisk_sl2": 83.0,  # (860 + 20) / (1000 + 60)
        "sl2_hangups": 83.0,  # (860 + 20) / (1000 + 60)
        "offered": 81.1,  # 860 / 1060
        "abandons_after_T": 82.7,  # 860 / (1000 + 40)
        "excl_short_abandons": 81.9,  # 860 / (1060 − 10)
    }


def test_timeouts_move_asterisk_sl2_only() -> None:
    c = icmi()
    for wait in (10.0, 30.0, 90.0, 120.0):  # T = 20: one within
        c.add_exited(wait, "timeout", wait <= 20)
    c.add_exited(5.0, "exit_key", True)  # not an abandon for app_queue
    sl = service_levels(c)
    assert sl["asterisk_sl2"] == pytest.approx(881 / 1064 * 100)  # (860 + 20 + 1) / (1000 + 60 + 4) = 82.80 %
    assert sl["sl2_hangups"] == pytest.approx(880 / 1060 * 100)  # unchanged
    assert sl["answered"] == pytest.approx(86.0)  # unchanged


def test_empty_denominators_are_none_not_zero() -> None:
    k = queue_kpis(QueueCounters())
    assert set(k["service_level_pct"].values()) == {None}
    assert k["asa_s"] is None and k["aht_s"] is None and k["abandon_rate_pct"] is None
    assert k["max_wait_s"] is None and k["avg_abandon_wait_s"] is None
    assert occupancy(AgentCounters()) is None


def test_only_abandons_gives_sl_answered_none_but_offered_zero() -> None:
    c = QueueCounters(abandoned=3, abandoned_within_sl=1, short_abandoned=1)
    sl = service_levels(c)
    assert sl["answered"] is None
    assert sl["offered"] == 0.0
    assert sl["asterisk_sl2"] == pytest.approx(100 / 3)  # (0 + 1) / (0 + 3)
    assert sl["sl2_hangups"] == pytest.approx(100 / 3)


def test_abandon_rates() -> None:
    c = QueueCounters(answered=90, abandoned=10, short_abandoned=4, other_exits=0)
    assert abandon_rate(c) == pytest.approx(10.0)
    assert abandon_rate_excl_short(c) == pytest.approx(6 / 96 * 100)


def test_asa_is_a_true_mean() -> None:
    c = QueueCounters()
    for wait in (10, 20, 36):
        c.add_answered(wait, wait <= 20)
    assert asa(c) == pytest.approx(22.0)  # not Asterisk's (3·old + new)/4


def test_occupancy() -> None:
    a = AgentCounters(
        state_s={"on_call": 600, "on_hold": 60, "wrap_up": 140, "available": 200, "ringing": 30, "not_ready": 900}
    )
    assert occupancy(a) == pytest.approx(80.0)
