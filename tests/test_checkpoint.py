"""The checkpoint codec: a checkpoint written before the state had named records loads unchanged.

``data/checkpoint_f2f83de.json`` holds a state saved by the fold of commit f2f83de (window
records, waiting calls and last calls were positional lists then), with the config and the
events it folded and the clock each was applied at.
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


def test_a_checkpoint_of_the_earlier_format_loads_to_the_same_state() -> None:
    saved = SAVED["checkpoint"]
    assert saved["version"] == STATE_VERSION
    state = from_dict(saved)
    assert as_json(state) == saved  # nothing lost, nothing reordered
    records = [rec for q in state.queues.values() for rec in q.recent]
    assert {type(rec).TAG for rec in records} == set(RECORD_TYPES)  # every kind is in the sample, named
    assert all(isinstance(w, Waiting) for q in state.queues.values() for w in q.waiting.values())
    assert sum(isinstance(a.last_call, LastCall) for a in state.agents.values()) == 10


def test_the_fold_today_builds_the_state_the_earlier_one_saved(config: Config) -> None:
    settings = FoldSettings.from_config(config)
    state = CentreState()
    for kind, fields, clock in SAVED["events"]:
        apply(state, settings, EVENT_TYPES[kind](**fields), clock)
    assert as_json(state) == SAVED["checkpoint"]
    now = SAVED["now"]
    assert build_view(from_dict(SAVED["checkpoint"]), config, settings, now) == build_view(state, config, settings, now)
