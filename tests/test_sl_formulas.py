"""Every service-level formula through the fold, on a queue with every kind of outcome, by hand.

Asterisk's app_queue counts as abandoned (its ``Abandoned`` counter and ``ServicelevelPerf2``)
every call it calls ``record_abandoned()`` for: a hang-up, a timeout, a leave-when-empty, a
withdraw; never an exit with a key. ``other`` exits come from Asterisk only after a
``QueueCallerAbandon`` (sent from ``record_abandoned()``), so they count too. The scenario
has each, some within T and some not, in two intervals, and checks today, the rolling
windows and the interval series against the same hand-computed values.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from wallboard.config import Config
from wallboard.counters import QueueCounters
from wallboard.events import CallAbandoned, CallAnswered, CallExited, Event
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.kpi import SL_FORMULAS, asterisk_abandoned, service_levels
from wallboard.layouts.i18n import LABELS
from wallboard.snapshot import build_view
from wallboard.state import CentreState

# 2026-03-10 09:00:00 Europe/Madrid (+01:00): the start of a 15-minute interval
T0 = 1_773_129_600.0
_ids = itertools.count()


def answered(ts: float, wait: float) -> CallAnswered:
    n = next(_ids)
    return CallAnswered(f"e{n}", "pbx", ts, "ventas", f"c{n}", "ana", wait)


def hung_up(ts: float, wait: float) -> CallAbandoned:
    n = next(_ids)
    return CallAbandoned(f"e{n}", "pbx", ts, "ventas", f"c{n}", wait)


def exited(ts: float, wait: float, reason: str) -> CallExited:
    n = next(_ids)
    return CallExited(f"e{n}", "pbx", ts, "ventas", f"c{n}", wait, reason)


# T = 20 s (inclusive), Ts = 5 s.
FIRST = [  # 09:00–09:15
    answered(T0 + 10, 5),  # within
    answered(T0 + 20, 25),
    hung_up(T0 + 30, 3),  # within, short
    exited(T0 + 40, 20, "timeout"),  # within (exactly T)
    exited(T0 + 50, 60, "timeout"),
    exited(T0 + 60, 8, "exit_key"),  # within, but not an abandon for anyone
]
SECOND = [  # 09:15–09:30, every one after 09:15:00 (in the 15-minute window at 09:30)
    answered(T0 + 910, 20),  # within (exactly T)
    answered(T0 + 920, 40),
    hung_up(T0 + 930, 15),  # within, not short
    hung_up(T0 + 940, 30),
    exited(T0 + 950, 0, "empty"),  # within
    exited(T0 + 960, 45, "withdraw"),
    exited(T0 + 970, 50, "exit_key"),
    exited(T0 + 980, 12, "other"),  # within
]
NOW = T0 + 1800

# By hand. First: A=2, A≤T=1, Ab=1, Ab≤T=1, Ab≤Ts=1; U = 1 + 2 timeouts = 3, U≤T = 1 + 1 = 2.
FIRST_SL = {
    "answered": 50.0,  # 1 / 2
    "asterisk_sl2": 60.0,  # (1 + 2) / (2 + 3)
    "sl2_hangups": 66.7,  # (1 + 1) / (2 + 1)
    "offered": 33.3,  # 1 / (2 + 1)
    "excl_short_abandons": 50.0,  # 1 / (2 + 1 − 1)
    "abandons_after_T": 50.0,  # 1 / (2 + 0)
}
# Second: A=2, A≤T=1, Ab=2, Ab≤T=1, Ab≤Ts=0; U = 2 + empty + withdraw + other = 5, U≤T = 1 + 1 + 0 + 1 = 3.
SECOND_SL = {
    "answered": 50.0,  # 1 / 2
    "asterisk_sl2": 57.1,  # (1 + 3) / (2 + 5) = 4 / 7
    "sl2_hangups": 50.0,  # (1 + 1) / (2 + 2)
    "offered": 25.0,  # 1 / (2 + 2)
    "excl_short_abandons": 25.0,  # 1 / (2 + 2 − 0)
    "abandons_after_T": 33.3,  # 1 / (2 + 1)
}
# The day: A=4, A≤T=2, Ab=3, Ab≤T=2, Ab≤Ts=1, Ab>T=1; U = 3 + 2 + 1 + 1 + 1 = 8, U≤T = 2 + 1 + 1 + 0 + 1 = 5.
TODAY_SL = {
    "answered": 50.0,  # 2 / 4: Asterisk's ServicelevelPerf
    "asterisk_sl2": 58.33,  # (2 + 5) / (4 + 8) = 7 / 12: Asterisk's ServicelevelPerf2
    "sl2_hangups": 57.14,  # (2 + 2) / (4 + 3) = 4 / 7
    "offered": 28.57,  # 2 / (4 + 3)
    "excl_short_abandons": 33.33,  # 2 / (4 + 3 − 1)
    "abandons_after_T": 40.0,  # 2 / (4 + 1)
}


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        queues=[{"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5, "sl_formula": "asterisk_sl2"}],
        agents=[{"id": "ana"}],
        windows=[15, 60],
    )


def view(config: Config, events: list[Event]) -> dict[str, Any]:
    settings = FoldSettings.from_config(config)
    state = CentreState()
    apply_all(state, settings, events, NOW)
    return build_view(state, config, settings, NOW)


def test_today_by_hand(config: Config) -> None:
    ventas = view(config, FIRST + SECOND)["queues"]["ventas"]
    today = ventas["today"]
    assert (today["offered"], today["answered"], today["abandoned"], today["other_exits"]) == (14, 4, 3, 7)
    assert today["exits"] == {"empty": 1, "exit_key": 2, "other": 1, "timeout": 2, "withdraw": 1}
    assert today["exits_within_sl"] == {"empty": 1, "exit_key": 1, "other": 1, "timeout": 1}
    assert today["service_level_pct"] == TODAY_SL
    assert ventas["sl_formula"] == "asterisk_sl2"


def test_rolling_windows_and_intervals_agree_with_today(config: Config) -> None:
    ventas = view(config, FIRST + SECOND)["queues"]["ventas"]
    assert ventas["windows"]["60"]["service_level_pct"] == TODAY_SL  # the whole half hour
    assert ventas["windows"]["60"]["exits_within_sl"] == ventas["today"]["exits_within_sl"]
    last15 = ventas["windows"]["15"]["service_level_pct"]
    assert {k: round(v, 1) for k, v in last15.items()} == SECOND_SL  # since < ts ≤ now: the second interval
    assert [(row["start"], row["service_level_pct"]) for row in ventas["intervals"]] == [
        (T0, FIRST_SL),
        (T0 + 900, SECOND_SL),
    ]


def test_asterisk_counters_by_hand() -> None:
    """What Asterisk's QueueSummary would say: Abandoned = U, and ServicelevelPerf2 from U≤T."""
    c = QueueCounters()
    for wait, reason in ((20, "timeout"), (60, "timeout"), (8, "exit_key"), (0, "empty"), (45, "withdraw")):
        c.add_exited(wait, reason, wait <= 20)
    c.add_abandoned(3, True, True)
    assert asterisk_abandoned(c) == (5, 3)  # 1 hang-up + 2 timeouts + empty + withdraw; within: 3 s, 20 s, 0 s


def test_empty_denominators_give_none_never_0_or_100(config: Config) -> None:
    keyed = view(config, [exited(T0 + 10, 8, "exit_key")])["queues"]["ventas"]["today"]
    assert keyed["offered"] == 1
    assert set(keyed["service_level_pct"].values()) == {None}  # an exit with a key is in no formula
    timed_out = view(config, [exited(T0 + 10, 60, "timeout")])["queues"]["ventas"]["today"]
    assert timed_out["service_level_pct"]["asterisk_sl2"] == 0.0  # 0 / (0 + 1): Asterisk counts it
    assert timed_out["service_level_pct"]["sl2_hangups"] is None  # 0 / (0 + 0)
    assert timed_out["service_level_pct"]["answered"] is None
    assert set(service_levels(QueueCounters()).values()) == {None}


def test_every_formula_has_a_label_in_every_language() -> None:
    assert set(LABELS) == {"es", "en"}
    for labels in LABELS.values():
        assert all(labels.get(f"formula.{name}") for name in SL_FORMULAS)
    assert LABELS["en"]["formula.sl2_hangups"] != LABELS["en"]["formula.asterisk_sl2"]
