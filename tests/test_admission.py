"""What the fold admits: event time against the given clock, and only configured names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallboard.admission import NAMES_KEPT, Verdict
from wallboard.checkpoint import from_dict, to_dict
from wallboard.config import Config, parse_config
from wallboard.events import (
    AgentLogin,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallQueued,
    Event,
)
from wallboard.fold import apply, apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import CentreState

# 2026-03-10 09:00:00 Europe/Madrid (+01:00); the day started at 00:00 local, T0 - 9 h.
T0 = 1_773_129_600.0
NOW = T0 + 3 * 3600  # the aggregator's clock: 12:00 local
Y2099 = 4_070_908_800.0  # 2099-01-01


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        queues=[{"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5}, {"id": "soporte"}],
        agents=[{"id": "ana"}, {"id": "luis"}],
        collectors=[{"kind": "simulator", "name": "pbx"}, {"kind": "simulator", "name": "lab", "discover": True}],
        events={"max_discovered_queues": 2, "max_discovered_agents": 1},
    )


def day(n: int, queue: str = "ventas", source: str = "pbx", start: float = T0) -> list[Event]:
    """n answered calls (wait 10 s, talk 100 s) and n abandoned ones (wait 30 s), a minute apart."""
    out: list[Event] = []
    for i in range(n):
        ts = start + 60 * i
        out += [
            CallQueued(f"{source}{queue}q{i}", source, ts, queue, f"{queue}c{i}"),
            CallAnswered(f"{source}{queue}a{i}", source, ts + 10, queue, f"{queue}c{i}", "ana", 10.0),
            CallEnded(f"{source}{queue}e{i}", source, ts + 110, queue, f"{queue}c{i}", "ana", 100.0),
            CallQueued(f"{source}{queue}Q{i}", source, ts + 1, queue, f"{queue}d{i}"),
            CallAbandoned(f"{source}{queue}b{i}", source, ts + 31, queue, f"{queue}d{i}", 30.0),
        ]
    return out


def today(config: Config, state: CentreState, now: float = NOW) -> dict[str, object]:
    return build_view(state, config, FoldSettings.from_config(config), now)["queues"]["ventas"]["today"]


def test_an_event_dated_2099_is_refused_and_changes_nothing(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    assert apply_all(st_, settings_, day(50), NOW) == 250
    before = to_dict(st_)
    view_before = build_view(st_, config, settings_, NOW)
    for ts in (Y2099, NOW + 365 * 86_400, NOW + 121):
        assert apply(st_, settings_, CallQueued(f"f{ts}", "pbx", ts, "ventas", "cf"), NOW) is Verdict.FUTURE
    after = to_dict(st_)
    assert after.pop("refused") == {"pbx": {"future": 3}}
    before.pop("refused")
    assert after == before
    assert build_view(st_, config, settings_, NOW) == view_before
    t = today(config, st_)
    assert (t["offered"], t["answered"], t["abandoned"]) == (100, 50, 50)
    # within the skew (120 s by default) an event is a clock a little fast: admitted
    assert apply(st_, settings_, CallQueued("soon", "pbx", NOW + 119, "ventas", "cs"), NOW)


def test_ids_keep_expiring_after_an_event_from_the_future(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    first = CallQueued("once", "pbx", T0, "ventas", "c1")
    assert apply(st_, settings_, first, T0)
    apply(st_, settings_, CallQueued("x2099", "pbx", Y2099, "ventas", "c2"), T0)  # refused
    assert apply(st_, settings_, first, T0 + 60) is Verdict.DUPLICATE
    # two dedup horizons of the clock later the id is forgotten (as before: at least one horizon)
    for minute in range(1, 130):
        apply(
            st_,
            settings_,
            CallQueued(f"tick{minute}", "pbx", T0 + 60 * minute, "soporte", f"t{minute}"),
            T0 + 60 * minute,
        )
    assert apply(st_, settings_, first, T0 + 130 * 60) is Verdict.APPLIED


def test_late_events_count_in_their_own_interval_and_beyond_history_are_refused(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    apply_all(st_, settings_, day(10), NOW)
    yesterday = T0 - 86_400
    assert apply_all(st_, settings_, day(4, start=yesterday, source="late"), NOW) == 20
    t = today(config, st_)
    assert (t["offered"], t["answered"]) == (20, 10)  # yesterday's calls are yesterday's
    yesterday_view = build_view(st_, config, settings_, yesterday + 3 * 3600)["queues"]["ventas"]["today"]
    assert (yesterday_view["offered"], yesterday_view["answered"]) == (8, 4)
    # a replay of old events keeps no rolling-window records (nor the checkpoint's size) for them
    assert all(rec.ts >= NOW - 3600 - 60 for rec in st_.queues["ventas"].recent)
    assert apply(st_, settings_, CallQueued("old", "late", NOW - 3 * 86_400, "ventas", "o"), NOW) is Verdict.LATE
    assert st_.refused == {"late": {"late": 1}}


def test_unconfigured_queues_and_agents_are_refused_counted_and_named_boundedly(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    apply_all(st_, settings_, day(5), NOW)
    size = len(str(to_dict(st_)))
    for i in range(5_000):
        assert (
            apply(st_, settings_, CallQueued(f"u{i}", "pbx", T0 + i % 3600, f"invented{i}", f"c{i}"), NOW)
            is Verdict.UNCONFIGURED_QUEUE
        )
        assert (
            apply(st_, settings_, AgentStateChanged(f"s{i}", "pbx", T0, f"agent{i}", "available"), NOW)
            is Verdict.UNCONFIGURED_AGENT
        )
    assert set(st_.queues) == {"ventas"}
    assert set(st_.agents) == {"ana"}
    assert st_.refused == {"pbx": {"unconfigured_queue": 5_000, "unconfigured_agent": 5_000}}
    assert len(st_.unconfigured_queues) == NAMES_KEPT and len(st_.unconfigured_agents) == NAMES_KEPT
    assert st_.unconfigured_queues["invented0"] == 1
    assert len(str(to_dict(st_))) < size + 2_000  # the names kept, nothing per event


def test_a_call_answered_by_an_unconfigured_agent_still_counts_for_its_queue(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    events: list[Event] = [
        CallQueued("q", "pbx", T0, "ventas", "c"),
        CallAnswered("a", "pbx", T0 + 8, "ventas", "c", "PJSIP/999", 8.0),
        CallEnded("e", "pbx", T0 + 68, "ventas", "c", "PJSIP/999", 60.0),
    ]
    assert apply_all(st_, settings_, events, NOW) == 3
    t = today(config, st_)
    assert (t["offered"], t["answered"], t["handled"], t["aht_s"]) == (1, 1, 1, 60.0)
    assert build_view(st_, config, settings_, NOW)["queues"]["ventas"]["waiting"] == 0
    assert "PJSIP/999" not in st_.agents
    assert st_.refused == {"pbx": {"unconfigured_agent": 2}}


def test_a_discovering_source_adds_names_up_to_the_cap(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    verdicts = [apply(st_, settings_, CallQueued(f"d{i}", "lab", T0, f"new{i}", f"c{i}"), NOW) for i in range(4)]
    assert verdicts == [Verdict.APPLIED, Verdict.APPLIED, Verdict.UNCONFIGURED_QUEUE, Verdict.UNCONFIGURED_QUEUE]
    assert st_.discovered_queues == {"new0", "new1"}
    # the other source may not use the discovered names' room, but may name the discovered ones
    assert apply(st_, settings_, CallQueued("p", "pbx", T0, "new9", "c9"), NOW) is Verdict.UNCONFIGURED_QUEUE
    assert apply(st_, settings_, CallQueued("p0", "pbx", T0, "new0", "c10"), NOW)
    assert apply(st_, settings_, AgentLogin("l1", "lab", T0, "x1", "ventas"), NOW)
    assert apply(st_, settings_, AgentLogin("l2", "lab", T0, "x2", "ventas"), NOW) is Verdict.UNCONFIGURED_AGENT
    restored = from_dict(to_dict(st_))
    assert restored.discovered_queues == {"new0", "new1"} and restored.discovered_agents == {"x1"}


def test_a_version_2_checkpoint_is_still_read(config: Config) -> None:
    settings_ = FoldSettings.from_config(config)
    st_ = CentreState()
    apply_all(st_, settings_, day(3), NOW)
    old = to_dict(st_)
    old["version"] = 2
    for key in (
        "now",
        "refused",
        "unconfigured_queues",
        "unconfigured_agents",
        "discovered_queues",
        "discovered_agents",
    ):
        del old[key]
    restored = from_dict(old)
    assert restored.now == st_.max_ts and restored.refused == {}
    assert today(config, restored) == today(config, st_)


def test_a_report_without_a_clock_admits_any_queue_and_follows_event_time() -> None:
    report = FoldSettings.from_config(parse_config({"queues": [{"id": "ventas"}]}, env={}), live=False)
    st_ = CentreState()
    assert apply(st_, report, CallQueued("q", "log", T0, "not-configured", "c"))
    assert st_.now == T0


# ------------------------------------------------- property: today never goes down

PROPERTY_CONFIG = parse_config(
    {"timezone": "Europe/Madrid", "queues": [{"id": "ventas"}, {"id": "soporte"}], "agents": [{"id": "ana"}]}, env={}
)
PROPERTY_SETTINGS = FoldSettings.from_config(PROPERTY_CONFIG)
any_time = st.one_of(
    st.floats(min_value=NOW - 9 * 3600, max_value=NOW, allow_nan=False),  # today
    st.floats(min_value=946_684_800.0, max_value=4_102_444_799.0, allow_nan=False),  # 2000 .. 2099
    st.sampled_from([Y2099, NOW + 121, NOW - 86_400, NOW - 3 * 86_400, 946_684_800.0]),
)
an_event = st.tuples(
    st.sampled_from(["queued", "answered", "abandoned", "exited", "ended", "state"]),
    any_time,
    st.sampled_from(["ventas", "soporte", "invented"]),
    st.integers(min_value=0, max_value=30),  # call number: outcomes meet their own queued events
    st.sampled_from(["ana", "PJSIP/201"]),
    st.sampled_from(["pbx", "crm"]),
)
COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "other_exits", "handled")


def _event(i: int, kind: str, ts: float, queue: str, n: int, agent: str, source: str) -> Event:
    cid, eid = f"c{n}", f"{source}-{i}"
    if kind == "queued":
        return CallQueued(eid, source, ts, queue, cid)
    if kind == "answered":
        return CallAnswered(eid, source, ts, queue, cid, agent, 12.0)
    if kind == "abandoned":
        return CallAbandoned(eid, source, ts, queue, cid, 3.0)
    if kind == "exited":
        return CallExited(eid, source, ts, queue, cid, 40.0, "timeout")
    if kind == "ended":
        return CallEnded(eid, source, ts, queue, cid, agent, 90.0)
    return AgentStateChanged(eid, source, ts, agent, "not_ready", "break")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(an_event, max_size=80), st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=5))
def test_no_sequence_of_events_whatever_their_times_makes_todays_counts_go_down(
    raw: list[tuple[str, float, str, int, str, str]], steps: list[float]
) -> None:
    state = CentreState()
    clock = NOW
    previous: dict[str, tuple[int, ...]] = {}
    for i, spec in enumerate(raw):
        clock += steps[i % len(steps)] / 100  # the clock moves forward, within the same day
        apply(state, PROPERTY_SETTINGS, _event(i, *spec), clock)
        view = build_view(state, PROPERTY_CONFIG, PROPERTY_SETTINGS, clock)
        for qid in ("ventas", "soporte"):
            counts = tuple(view["queues"][qid]["today"][k] for k in COUNTS)
            assert all(new >= old for new, old in zip(counts, previous.get(qid, counts), strict=True)), (qid, spec)
            previous[qid] = counts
        centre = view["centre"]["today"]
        assert all(centre[k] >= 0 for k in COUNTS)


def test_de_duplication_memory_is_bounded_by_count_as_well_as_by_time(config: Config) -> None:
    settings_ = replace(FoldSettings.from_config(config), dedup_max_ids=100)
    st_ = CentreState()
    events = [CallQueued(f"b{i}", "pbx", T0 + i, "ventas", f"c{i}") for i in range(1_000)]
    assert apply_all(st_, settings_, events, NOW) == 1_000  # a burst within one second of the clock
    assert len(st_.seen) + len(st_.seen_old) <= 200
    assert apply(st_, settings_, events[-1], NOW) is Verdict.DUPLICATE  # the newest 100 are remembered
    assert apply(st_, settings_, events[-99], NOW) is Verdict.DUPLICATE
