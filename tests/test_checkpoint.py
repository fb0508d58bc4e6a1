"""The checkpoint codec: a checkpoint written by an earlier version loads, what it lacks known where it can be.

``data/checkpoint_f2f83de.json`` holds a state saved by the fold of commit f2f83de (version 3:
window records, waiting calls and last calls were positional lists then, and other exits had no
within-SL flag), with the config and the events it folded and the clock each was applied at.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import DATA
from wallboard.checkpoint import STATE_VERSION, from_dict, to_dict
from wallboard.config import Config, parse_config
from wallboard.events import EVENT_TYPES
from wallboard.fold import apply
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import RECORD_TYPES, CentreState, LastCall, Waiting

SAVED = json.loads((DATA / "checkpoint_f2f83de.json").read_text(encoding="utf-8"))


def as_json(state: CentreState) -> Any:
    return json.loads(json.dumps(to_dict(state)))


@pytest.fixture
def config() -> Config:
    return parse_config(SAVED["config"], env={})


def upgraded(saved: dict[str, Any], flagged: bool) -> dict[str, Any]:
    """The saved checkpoint as the current version writes it, derived by hand from the file.

    Version 4 added the within-SL flag of other exits: every interval gains an empty
    ``exits_within_sl`` and every exit record a flag. The sample has one exit: ventas's c-x1,
    a timeout at 1773124203 after 12 s; T = 20 s there, so (when the settings are given) it
    is within, and it counts in its interval, the one starting at 1773124200 (15 minutes).
    """
    data = json.loads(json.dumps(saved))
    data["version"] = STATE_VERSION
    for q in data["queues"].values():
        for values in q["buckets"].values():
            values.append({})
        for rec in q["recent"]:
            if rec[0] == "x":
                rec.append(False)
    if flagged:
        ventas = data["queues"]["ventas"]
        ventas["buckets"]["1773124200"][-1] = {"timeout": 1}
        assert ventas["recent"][-2] == ["x", 1773124203.0, 12.0, "timeout", False]
        ventas["recent"][-2][-1] = True
    return data


def test_a_checkpoint_of_the_earlier_format_loads_to_the_same_state(config: Config) -> None:
    saved = SAVED["checkpoint"]
    assert saved["version"] == 3
    state = from_dict(saved, FoldSettings.from_config(config))
    assert as_json(state) == upgraded(saved, flagged=True)  # nothing lost, nothing reordered
    records = [rec for q in state.queues.values() for rec in q.recent]
    assert {type(rec).TAG for rec in records} == set(RECORD_TYPES)  # every kind is in the sample, named
    assert all(isinstance(w, Waiting) for q in state.queues.values() for w in q.waiting.values())
    assert sum(isinstance(a.last_call, LastCall) for a in state.agents.values()) == 10


def test_without_the_settings_no_earlier_exit_is_taken_as_within() -> None:
    assert as_json(from_dict(SAVED["checkpoint"])) == upgraded(SAVED["checkpoint"], flagged=False)


def test_an_earlier_exit_no_record_covers_counts_as_not_within(config: Config) -> None:
    saved = json.loads(json.dumps(SAVED["checkpoint"]))
    ventas = saved["queues"]["ventas"]
    ventas["recent"] = [rec for rec in ventas["recent"] if rec[0] != "x"]  # as if pruned from the rolling window
    state = from_dict(saved, FoldSettings.from_config(config))
    bucket = state.queues["ventas"].buckets[1773124200]
    assert bucket.exits == {"timeout": 1} and bucket.exits_within_sl == {}  # unknown: the lower bound


def test_the_fold_today_builds_the_state_the_earlier_one_saved(config: Config) -> None:
    settings = FoldSettings.from_config(config)
    state = CentreState()
    for kind, fields, clock in SAVED["events"]:
        apply(state, settings, EVENT_TYPES[kind](**fields), clock)
    restored = from_dict(SAVED["checkpoint"], settings)
    assert as_json(state) == as_json(restored)  # the upgrade recovers all the fold would know
    now = SAVED["now"]
    assert build_view(restored, config, settings, now) == build_view(state, config, settings, now)
    ventas = build_view(restored, config, settings, now)["queues"]["ventas"]
    # ventas today (T = 20): 30 answered, the longest wait 6.752 s; c-x17 abandoned after 2 s; c-x1 timed out after 12 s
    today_ = ventas["today"]
    assert (today_["answered"], today_["answered_within_sl"], today_["abandoned"]) == (30, 30, 1)
    assert today_["exits"] == {"timeout": 1} and today_["exits_within_sl"] == {"timeout": 1}
    assert today_["service_level_pct"]["asterisk_sl2"] == 100.0  # (30 + 1 + 1) / (30 + 1 + 1)
    assert today_["service_level_pct"]["sl2_hangups"] == 100.0  # (30 + 1) / (30 + 1)


def test_a_checkpoint_of_the_current_format_round_trips(config: Config) -> None:
    state = from_dict(SAVED["checkpoint"], FoldSettings.from_config(config))
    again = from_dict(as_json(state), FoldSettings.from_config(config))  # version 4: nothing flagged twice
    assert as_json(again) == as_json(state)
