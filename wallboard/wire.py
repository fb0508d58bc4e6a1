"""Events on the wire: the stream codec, the JSON form, the limits every value is checked against.

On a Redis stream an event is one field ``e`` holding a JSON array of its values
in field order, ``["call.answered", id, source, ts, queue, call_id, agent,
wait_s, channel]``: one short XADD per event, one C-speed ``json.loads`` to read
(an entry of named text fields, ``kind``, ``id``, …, is accepted too).
:func:`encode` and :func:`decode` convert, and :func:`decode` validates
strictly, raising :class:`EventError` naming the field and the reason. The
limits here (text length, durations, the plausible clock range) are the ones
every source checks its input against, and :func:`event_schemas` states them
as JSON Schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from operator import attrgetter
from typing import Any, TypeAlias

from wallboard.events import AGENT_STATES, CALL_DIRECTIONS, EVENT_TYPES, EXIT_REASONS, AnyEvent, Event

#: The plausible range of an epoch time: 2000-01-01 .. 2100-01-01.
TS_MIN, TS_MAX = 946_684_800.0, 4_102_444_800.0
#: The longest duration and the longest text an event may carry (sources check against these).
MAX_DURATION_S = 30 * 86_400.0
MAX_TEXT = 256
#: The one field of a stream entry holding an event (see :func:`encode`).
PACKED_FIELD = "e"


class EventError(ValueError):
    """An event that cannot be accepted; says which field and why."""

    def __init__(self, field: str, reason: str, value: object = None) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
            value = f"{_digits(value)}-digit number"  # repr() of a huge int is refused past 4300 digits
        shown = "" if value is None else f", got {value!r}"[:120]
        super().__init__(f"field {field!r}: {reason}{shown}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------- validation

Converter: TypeAlias = Callable[[str, Any], Any]
# Each converter first accepts the common valid value as it is, cheaply (every event on the
# stream goes through several), and otherwise checks it in full, raising the precise error.


def _text(name: str, value: Any) -> str:
    if type(value) is str and value and len(value) <= MAX_TEXT:
        return value
    return _checked_text(name, value, required=True)


def _optional_text(name: str, value: Any) -> str:
    if type(value) is str and len(value) <= MAX_TEXT:
        return value
    return _checked_text(name, value, required=False)


def _checked_text(name: str, value: Any, *, required: bool) -> str:
    if not isinstance(value, str):
        raise EventError(name, "must be text", value)
    if required and not value:
        raise EventError(name, "must not be empty")
    if len(value) > MAX_TEXT:
        raise EventError(name, f"longer than {MAX_TEXT} characters", value[:40] + "…")
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise EventError(name, "must be a number", value)
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int of more than ~309 digits (JSON allows it)
            raise EventError(name, "must be finite", f"{_digits(int(value))}-digit number") from None
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise EventError(name, "must be a number", value) from None
    else:
        raise EventError(name, "must be a number", value)
    if not math.isfinite(number):
        raise EventError(name, "must be finite", value)
    return number


def _digits(value: int) -> int:
    return value.bit_length() * 30103 // 100000 + 1  # str() of a huge int is refused (and slow)


def _timestamp(name: str, value: Any) -> float:
    if type(value) is float and TS_MIN <= value < TS_MAX:
        return value
    ts = _number(name, value)
    if not TS_MIN <= ts < TS_MAX:
        raise EventError(name, "must be POSIX seconds between 2000 and 2100", value)
    return ts


def _duration(name: str, value: Any) -> float:
    if type(value) is float and 0.0 <= value <= MAX_DURATION_S:
        return value
    seconds = _number(name, value)
    if not 0.0 <= seconds <= MAX_DURATION_S:
        raise EventError(name, "must be seconds between 0 and 30 days", value)
    return seconds


def _one_of(choices: tuple[str, ...]) -> Converter:
    def convert(name: str, value: Any) -> str:
        text = _optional_text(name, value)
        if text not in choices:
            raise EventError(name, f"must be one of {', '.join(c or '(empty)' for c in choices)}", value)
        return text

    return convert


#: The fields whose value is one of a fixed list: by name, or by event kind and name.
_CHOICES: dict[str, tuple[str, ...]] = {"direction": CALL_DIRECTIONS, "state": AGENT_STATES}
_CHOICES_BY_KIND: dict[tuple[str, str], tuple[str, ...]] = {("call.exited", "reason"): EXIT_REASONS}


def _choices(kind: str, name: str) -> tuple[str, ...] | None:
    return _CHOICES_BY_KIND.get((kind, name)) or _CHOICES.get(name)


_BY_NAME: dict[str, Converter] = {
    "ts": _timestamp,
    "wait_s": _duration,
    "talk_s": _duration,
    "hold_s": _duration,
    "target": _optional_text,
}
_BY_KIND_AND_NAME: dict[tuple[str, str], Converter] = {
    ("agent.state", "reason"): _optional_text,
    ("agent.login", "queue"): _optional_text,
    ("agent.logout", "queue"): _optional_text,
}


@dataclass(slots=True)
class _FieldSpec:
    name: str
    convert: Converter
    required: bool
    default: Any


def _specs(cls: type[Event]) -> tuple[_FieldSpec, ...]:
    out = []
    for f in fields(cls):
        choices = _choices(cls.KIND, f.name)
        convert = (
            _one_of(choices)
            if choices is not None
            else _BY_KIND_AND_NAME.get((cls.KIND, f.name)) or _BY_NAME.get(f.name) or _text
        )
        required = f.default is MISSING and f.default_factory is MISSING
        out.append(_FieldSpec(f.name, convert, required, None if required else f.default))
    return tuple(out)


_SPECS: dict[str, tuple[_FieldSpec, ...]] = {kind: _specs(cls) for kind, cls in EVENT_TYPES.items()}
_VALUES: dict[str, Callable[[Event], tuple[Any, ...]]] = {
    kind: attrgetter(*(spec.name for spec in specs)) for kind, specs in _SPECS.items()
}
# Made once: json.dumps and json.loads with options build a new coder on every call.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_json_prefix = json.JSONDecoder().raw_decode


def decode(data: Mapping[str, Any], *, allow_unknown: bool = True) -> AnyEvent:
    """Build a validated event from a stream entry or a JSON object.

    Raises :class:`EventError` naming the first bad field. Unknown fields are
    ignored on streams (a newer collector may add some) unless ``allow_unknown``
    is false, as for the HTTP ingest API.
    """
    packed = data.get(PACKED_FIELD)
    if packed is not None and "kind" not in data:
        return _decode_packed(packed)
    kind = data.get("kind")
    if kind is None:
        raise EventError("kind", "is missing")
    specs = _SPECS.get(kind) if isinstance(kind, str) else None
    if specs is None:
        raise EventError("kind", f"unknown event kind; known: {', '.join(EVENT_TYPES)}", kind)
    values: dict[str, Any] = {}
    for spec in specs:
        raw = data.get(spec.name)
        if raw is None:
            if spec.required:
                raise EventError(spec.name, f"is missing (required for {kind})")
            values[spec.name] = spec.default
        else:
            values[spec.name] = spec.convert(spec.name, raw)
    if not allow_unknown:
        extra = set(data) - {s.name for s in specs} - {"kind"}
        if extra:
            raise EventError(sorted(extra)[0], f"is not a field of {kind}")
    return EVENT_TYPES[kind](**values)  # type: ignore[return-value]


def _decode_packed(packed: Any) -> AnyEvent:
    if not isinstance(packed, str):
        raise EventError("e", "must be a JSON array [kind, id, source, ts, …]", packed)
    try:
        values, end = _json_prefix(packed)  # json.loads without its wrappers: a third of its time
    except ValueError:
        end = -1
    if end != len(packed):  # bad JSON, or space or more after it: json.loads decides
        try:
            values = json.loads(packed)
        except ValueError:
            raise EventError("e", "is not valid JSON", packed[:40]) from None
    if not isinstance(values, list) or not values:
        raise EventError("e", "must be a JSON array [kind, id, source, ts, …]", packed[:40])
    kind = values[0]
    specs = _SPECS.get(kind) if isinstance(kind, str) else None
    if specs is None:
        raise EventError("kind", f"unknown event kind; known: {', '.join(EVENT_TYPES)}", kind)
    n = len(values) - 1  # values past the known fields come from a newer producer: ignored
    args = []
    for i, spec in enumerate(specs):
        raw = values[i + 1] if i < n else None
        if raw is None:
            if spec.required:
                raise EventError(spec.name, f"is missing (required for {kind})")
            args.append(spec.default)
        else:
            args.append(spec.convert(spec.name, raw))
    return EVENT_TYPES[kind](*args)  # type: ignore[return-value]


def encode(event: Event) -> dict[str, str]:
    """The event as a Redis stream entry: one field ``e`` with its values as a JSON array."""
    return {PACKED_FIELD: pack(event)}


def pack(event: Event) -> str:
    """The value of an entry's ``e`` field: ``[kind, id, source, ts, …]`` as JSON."""
    return _JSON_ENCODER.encode([event.KIND, *_VALUES[event.KIND](event)])


def as_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready object (``kind`` first)."""
    out: dict[str, Any] = {"kind": event.KIND}
    for spec in _SPECS[event.KIND]:
        out[spec.name] = getattr(event, spec.name)
    return out


def event_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (2020-12) of each event kind's JSON object, made from the definitions themselves."""

    def field_schema(kind: str, name: str) -> dict[str, Any]:
        if name == "ts":
            return {
                "type": "number",
                "description": "POSIX seconds (UTC)",
                "minimum": int(TS_MIN),
                "exclusiveMaximum": int(TS_MAX),
            }
        if name.endswith("_s"):
            return {"type": "number", "minimum": 0, "maximum": int(MAX_DURATION_S), "description": "seconds"}
        choices = _choices(kind, name)
        if choices is not None:
            return {"enum": list(choices)}
        return {"type": "string", "maxLength": MAX_TEXT}

    out = {}
    for kind, specs in _SPECS.items():
        props: dict[str, Any] = {"kind": {"const": kind}}
        required = ["kind"]
        for spec in specs:
            props[spec.name] = field_schema(kind, spec.name)
            if spec.required:
                required.append(spec.name)
        out[kind] = {
            "title": kind,
            "description": (EVENT_TYPES[kind].__doc__ or "").split("\n")[0],
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    return out
