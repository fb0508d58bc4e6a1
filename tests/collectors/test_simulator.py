from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import AgentStateChanged, CallQueued
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.state import CentreState
from wallboard.wire import decode, encode

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config.yaml", env={})
START = 1_773_097_200.0  # 2026-03-10 00:00 Europe/Madrid


def day(seed: int = 7, **opts: object) -> list:
    sim = Simulation(CONFIG, Options(seed=seed, **opts), START)  # type: ignore[arg-type]
    return list(sim.events(until=START + 86_400))


def test_same_seed_same_day_different_seed_different_day() -> None:
    a, b, c = day(7), day(7), day(8)
    assert a == b
    assert a != c


def test_events_are_valid_ordered_and_unique() -> None:
    events = day()
    assert len(events) > 5_000
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    assert len({e.id for e in events}) == len(events)
    for e in events[:2000]:
        assert decode(encode(e)) == e


def test_a_believable_day() -> None:
    events = day()
    state = CentreState()
    settings = FoldSettings.from_config(CONFIG)
    apply_all(state, settings, events)
    kinds = Counter(e.KIND for e in events)
    offered = sum(c.offered for q in state.queues.values() for c in q.buckets.values())
    answered = sum(c.answered for q in state.queues.values() for c in q.buckets.values())
    abandoned = sum(c.abandoned for q in state.queues.values() for c in q.buckets.values())
    assert 0.80 < answered / offered < 0.97  # most calls answered, some abandon
    assert abandoned > 0 and kinds["call.transferred"] > 0
    # the intraday profile: the 11:00 hour is much busier than the 04:00 hour
    hours = Counter(int((e.ts - START) // 3600) for e in events if isinstance(e, CallQueued))
    assert hours[11] > 4 * hours[4]
    reasons = {e.reason for e in events if isinstance(e, AgentStateChanged) and e.state == "not_ready"}
    assert {"break", "lunch"} <= reasons <= {r.id for r in CONFIG.pause_reasons}
    assert {e.state for e in events if isinstance(e, AgentStateChanged)} >= {
        "available",
        "ringing",
        "on_call",
        "on_hold",
        "wrap_up",
        "not_ready",
    }
    # every queue is served and every team works
    assert all(sum(c.answered for c in q.buckets.values()) > 0 for q in state.queues.values())
    assert len(state.queues) == len(CONFIG.queues)


def test_unbounded_generation_for_load_tests() -> None:
    sim = Simulation(CONFIG, Options(seed=1, default_calls_per_hour=400, calls_per_hour={}), START)
    events = []
    for e in sim.events():
        events.append(e)
        if len(events) == 20_000:
            break
    assert len(events) == 20_000


@pytest.mark.parametrize(
    "bad",
    [
        {"speed": 0},
        {"hold_probability": 2},
        {"colour": "red"},
        {"shrinkage": 0.7},
        {"shrinkage": -0.1},
        {"shift_hours": 13},
        {"shift_hours": 0.5},
        {"staffing_model": "erlang_b"},
        {"incidents": "maybe"},
    ],
)
def test_bad_options(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Options.model_validate(bad)
