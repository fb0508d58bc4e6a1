"""The events and their wire form: every kind round-trips on a stream and as JSON, bad fields are named."""

from __future__ import annotations

import math

import pytest

from wallboard.events import (
    EVENT_TYPES,
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
    SourceReset,
)
from wallboard.wire import EventError, as_dict, decode, encode

TS = 1_773_129_600.25

SAMPLES = [
    CallQueued("e1", "pbx", TS, "ventas", "c1"),
    CallAnswered("e2", "pbx", TS, "ventas", "c1", "ana", 12.5),
    CallAbandoned("e3", "pbx", TS, "ventas", "c2", 4.0, "chat"),
    CallExited("e4", "pbx", TS, "ventas", "c3", 300.0, "timeout"),
    CallEnded("e5", "pbx", TS, "ventas", "c1", "ana", 180.0, 20.0),
    CallTransferred("e6", "pbx", TS, "ventas", "c4", "ana", 60.0, 0.0, "2000@from-internal"),
    AgentLogin("e7", "pbx", TS, "ana", "ventas"),
    AgentLogout("e8", "pbx", TS, "ana"),
    AgentStateChanged("e9", "pbx", TS, "ana", "not_ready", "lunch"),
    SourceReset("e10", "pbx", TS),
    CallLost("e11", "pbx", TS, "ventas", "c5"),
]


def test_every_kind_has_a_sample() -> None:
    assert {type(e).KIND for e in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.KIND)
def test_stream_round_trip(event: object) -> None:
    fields = encode(event)  # type: ignore[arg-type]
    assert list(fields) == ["e"] and isinstance(fields["e"], str)
    assert decode(fields) == event
    # the named-fields form of the same event is accepted as well
    named = {k: str(v) for k, v in as_dict(event).items()}  # type: ignore[arg-type]
    assert decode(named) == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.KIND)
def test_json_round_trip_is_strict(event: object) -> None:
    assert decode(as_dict(event), allow_unknown=False) == event  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"id": "x", "source": "s", "ts": str(TS)}, "kind", "is missing"),
        ({"kind": "call.teleported", "id": "x", "source": "s", "ts": str(TS)}, "kind", "unknown event kind"),
        ({"kind": "call.queued", "source": "s", "ts": str(TS), "queue": "q", "call_id": "c"}, "id", "is missing"),
        (
            {"kind": "call.queued", "id": "x", "source": "s", "ts": "yesterday", "queue": "q", "call_id": "c"},
            "ts",
            "must be a number",
        ),
        (
            {"kind": "call.queued", "id": "x", "source": "s", "ts": "12", "queue": "q", "call_id": "c"},
            "ts",
            "between 2000 and 2100",
        ),
        (
            {"kind": "call.queued", "id": "x", "source": "s", "ts": str(TS), "queue": "", "call_id": "c"},
            "queue",
            "must not be empty",
        ),
        (
            {
                "kind": "call.answered",
                "id": "x",
                "source": "s",
                "ts": str(TS),
                "queue": "q",
                "call_id": "c",
                "agent": "a",
                "wait_s": "-3",
            },
            "wait_s",
            "between 0 and 30 days",
        ),
        (
            {
                "kind": "call.answered",
                "id": "x",
                "source": "s",
                "ts": str(TS),
                "queue": "q",
                "call_id": "c",
                "agent": "a",
                "wait_s": "nan",
            },
            "wait_s",
            "must be finite",
        ),
        (
            {
                "kind": "call.exited",
                "id": "x",
                "source": "s",
                "ts": str(TS),
                "queue": "q",
                "call_id": "c",
                "wait_s": "3",
                "reason": "bored",
            },
            "reason",
            "must be one of",
        ),
        (
            {"kind": "agent.state", "id": "x", "source": "s", "ts": str(TS), "agent": "a", "state": "asleep"},
            "state",
            "must be one of",
        ),
    ],
)
def test_bad_fields_are_named(fields: dict[str, str], field: str, reason: str) -> None:
    with pytest.raises(EventError) as err:
        decode(fields)
    assert err.value.field == field
    assert reason in str(err.value)
    assert repr(field) in str(err.value)


def test_json_types_are_strict() -> None:
    obj = as_dict(SAMPLES[1])
    obj["wait_s"] = True
    with pytest.raises(EventError, match="'wait_s': must be a number"):
        decode(obj)
    obj = as_dict(SAMPLES[1])
    obj["agent"] = 7
    with pytest.raises(EventError, match="'agent': must be text"):
        decode(obj)
    obj = as_dict(SAMPLES[1])
    obj["colour"] = "blue"
    with pytest.raises(EventError, match=r"'colour': is not a field of call\.answered"):
        decode(obj, allow_unknown=False)
    assert decode(obj) == SAMPLES[1]  # streams tolerate fields a newer collector adds


def test_float_timestamps_survive_exactly() -> None:
    e = CallQueued("e", "s", 1_773_129_600.123456, "q", "c")
    assert decode(encode(e)).ts == e.ts
    assert not math.isnan(decode(encode(e)).ts)


@pytest.mark.parametrize(
    ("packed", "field", "reason"),
    [
        ("[", "e", "is not valid JSON"),
        ('{"kind": "call.queued"}', "e", "must be a JSON array"),
        ("[]", "e", "must be a JSON array"),
        ('["call.teleported", "x"]', "kind", "unknown event kind"),
        ('["call.queued", "x", "s", 1773129600.0, "ventas"]', "call_id", "is missing"),
        ('["call.answered", "x", "s", 1773129600.0, "q", "c", "a", "12"]', "wait_s", None),
        ('["call.answered", "x", "s", 1773129600.0, "q", "c", "a", -1]', "wait_s", "between 0 and 30 days"),
        ('["call.queued", "x", "s", 1773129600.0, 7, "c"]', "queue", "must be text"),
    ],
)
def test_packed_stream_entries_are_validated(packed: str, field: str, reason: str | None) -> None:
    if reason is None:  # numbers given as text are accepted, as in named fields
        assert decode({"e": packed}).wait_s == 12.0  # type: ignore[union-attr]
        return
    with pytest.raises(EventError) as err:
        decode({"e": packed})
    assert err.value.field == field and reason in str(err.value)


def test_packed_entries_tolerate_newer_trailing_fields() -> None:
    e = SAMPLES[0]
    packed = encode(e)["e"][:-1] + ',"future-field"]'
    assert decode({"e": packed}) == e


@pytest.mark.parametrize("value", [10**309, 10**5000, -(10**400)], ids=["310 digits", "5001 digits", "-401 digits"])
def test_a_number_too_big_for_a_float_is_a_named_error(value: int) -> None:
    with pytest.raises(EventError, match=r"field 'ts': must be finite, got '\d+-digit number'"):
        decode({"kind": "source.reset", "id": "a", "source": "s", "ts": value})
