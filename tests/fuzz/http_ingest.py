"""Fuzzing the HTTP ingest API's payload validation (the list of events of one request).

Batches mix valid events (every kind, each with its expected decoded event),
known-bad copies of them (one field broken: each must give exactly one error
naming that event's index) and garbage JSON values. Validation must never
raise: a request's answer is 200 or 422, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fuzz.garbage import FAKE_NAME, FAKE_NUMBER, VALID, FuzzReport, Garbage, short
from wallboard.ingest.validate import validate
from wallboard.wire import as_dict

SOURCE = "api"
T0 = 1_773_129_500.0
_FIELDS = (
    "kind",
    "id",
    "source",
    "ts",
    "queue",
    "call_id",
    "agent",
    "wait_s",
    "talk_s",
    "hold_s",
    "target",
    "reason",
    "state",
    "direction",
    "channel",
)
#: A value that is wrong for every field of that kind, and the field it breaks.
_BAD: dict[str, tuple[Any, ...]] = {
    "ts": (
        "x",
        "",
        None,
        12,
        -1,
        4_102_444_800,
        1e300,
        float("nan"),
        float("inf"),
        10**400,
        -(10**400),
        True,
        [],
        {},
        "1e400",
        "²",
    ),
    "duration": (-1, -0.5, 2_592_001, 10**400, float("nan"), "x", True, [], "-5", "²"),
    "text": ("", 5, 1.5, True, [], {}, None, "q" * 257, FAKE_NAME * 20),
}


def _valid(g: Garbage, i: int) -> dict[str, Any]:
    eid, q, c, a = f"{VALID}-{i}", f"{VALID}-q", f"{VALID}-c{i}", f"{VALID}-a{i}"
    ts = T0 + g.randrange(10**6) + g.choice((0, 0.5, 0.123456))
    kinds: list[dict[str, Any]] = [
        {"kind": "call.queued", "queue": q, "call_id": c},
        {"kind": "call.answered", "queue": q, "call_id": c, "agent": a, "wait_s": g.randrange(600)},
        {"kind": "call.abandoned", "queue": q, "call_id": c, "wait_s": g.uniform(0, 600), "channel": "chat"},
        {"kind": "call.exited", "queue": q, "call_id": c, "wait_s": 3, "reason": g.choice(("timeout", "exit_key"))},
        {"kind": "call.lost", "queue": q, "call_id": c},
        {"kind": "call.ended", "queue": q, "call_id": c, "agent": a, "talk_s": 61.5, "hold_s": 4},
        {"kind": "call.transferred", "queue": q, "call_id": c, "agent": a, "talk_s": 10, "target": "2000@ext"},
        {"kind": "agent.login", "agent": a, "queue": q},
        {"kind": "agent.logout", "agent": a},
        {"kind": "agent.state", "agent": a, "state": g.choice(("available", "not_ready")), "reason": "lunch"},
        {"kind": "source.reset"},
    ]
    event = {"id": eid, "ts": ts, **g.choice(kinds)}
    if g.random() < 0.3:
        event["source"] = SOURCE
    return event


def _expected(event: dict[str, Any]) -> dict[str, Any]:
    """The event the API must take: the client's fields, the token's source, the id namespaced by it."""
    out = {k: float(v) if isinstance(v, int) and k.endswith(("ts", "_s")) else v for k, v in event.items()}
    return out | {"source": SOURCE, "id": f"{SOURCE}:{event['id']}"}


def _known_bad(g: Garbage, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A copy with one field broken, and the field the error must name."""
    bad = dict(event)
    fields = [k for k in event if k not in ("kind", "source")]
    choice = g.randrange(6)
    if choice == 0:
        del bad["kind"]
        return bad, "kind"
    if choice == 1:
        bad["kind"] = g.choice(("call.teleported", "", 5, None, ["call.queued"], "CALL.QUEUED"))
        return bad, "kind"
    if choice == 2:
        bad["source"] = g.choice(("other", "", 5, FAKE_NUMBER))
        return bad, "source"
    if choice == 3:
        bad[g.choice(("x", "calleridnum", "Queue"))] = FAKE_NUMBER
        return bad, ""  # an unknown field: the error names it
    key = g.choice(fields)
    if key == "id":
        bad["id"] = g.choice(("", None, 5, [], "i" * 300))
    elif key == "ts":
        bad["ts"] = g.choice(_BAD["ts"])
    elif key.endswith("_s"):
        bad[key] = g.choice(_BAD["duration"])
    elif key == "channel":
        bad[key] = g.choice((5, [], "", "c" * 257))
    elif key in ("reason", "state", "direction", "target") and event["kind"] != "call.exited":
        if key == "reason" or key == "target":
            bad[key] = g.choice((5, [], "r" * 257))
        else:
            bad[key] = g.choice(("asleep", 5, [], ""))
            if key == "direction" or (key == "state" and bad[key] == ""):
                bad[key] = "sideways"
    elif key == "reason":
        bad[key] = g.choice(("bored", "", 5))
    elif key == "queue" and event["kind"].startswith("agent."):  # optional there: "" is fine
        bad[key] = g.choice((5, [], "q" * 257))
    else:
        bad[key] = g.choice(_BAD["text"])
        if bad[key] is None:  # JSON null: the field is missing
            bad[key] = ""
    return bad, key


def _garbage(g: Garbage) -> Any:
    if g.random() < 0.5:
        event = _valid(g, g.randrange(10**6))
        event = {k: v for k, v in event.items()}
        for _ in range(g.randint(1, 4)):
            key = g.choice(_FIELDS) if g.random() < 0.8 else g.junk_text(8)
            event[key] = g.json_value(1)
        event["id"] = f"g{g.randrange(10**6)}"  # never a VALID id
        return event
    return g.json_value(3)


def fuzz_batches(n: int = 10_000, seed: int = 0) -> FuzzReport:
    """``n`` events in batches of 1-50 (valid, known bad, garbage) through the ingest validation."""
    report = FuzzReport("HTTP ingest validation")
    g = Garbage(seed)
    i = 0
    while report.inputs < n:
        batch: list[Any] = []
        want: list[dict[str, Any] | None] = []  # per item: the expected event, or None when it must fail
        bad_fields: dict[int, str] = {}
        garbage_at: set[int] = set()
        for _ in range(min(g.randint(1, 50), n - report.inputs)):
            i += 1
            r = g.random()
            valid = _valid(g, i)
            if r < 0.4:
                batch.append(valid)
                want.append(_expected(valid))
            elif r < 0.7:
                bad, key = _known_bad(g, valid)
                bad_fields[len(batch)] = key
                batch.append(bad)
                want.append(None)
            else:
                garbage_at.add(len(batch))
                batch.append(_garbage(g))
                want.append(None)
        # As the API gets it: through JSON (NaN and infinities as Python's json writes them).
        raw = json.loads(json.dumps(batch))
        report.inputs += len(batch)
        report.valid += sum(w is not None for w in want)
        report.known_bad += len(bad_fields)
        try:
            events, errors = validate(raw, SOURCE)
        except Exception as exc:  # validation must answer with errors, never raise
            report.crash(raw, exc)
            continue
        report.rejected += len(errors)
        report.check_events(list(events), raw)
        failed = {e["index"] for e in errors}
        if len(failed) != len(errors) or not all(isinstance(e.get("reason"), str) for e in errors):
            report.miscounts.append(f"errors not one per event: {short(errors)}")
        for index, key in bad_fields.items():
            named = [e["field"] for e in errors if e["index"] == index]
            if not named or (key and named[0] != key):
                report.miscounts.append(f"event {index} broken in {key!r}, errors {named}: {short(raw[index])}")
        if failed - set(bad_fields) - garbage_at:
            report.mismatches.append(f"valid events refused: {[e for e in errors if e['index'] not in bad_fields]}")
        if errors:  # (all or nothing is the handler's: it answers 422 and takes none of them)
            if len(events) + len(errors) != len(raw):
                report.miscounts.append(f"{len(events)} events and {len(errors)} errors from {len(raw)} items")
            continue
        expected_events = [w for w in want if w is not None]
        got = [as_dict(e) for e in events]
        taken_garbage = len(events) - len(expected_events)
        report.accepted_garbage += taken_garbage
        valid_got = [d for d in got if str(d.get("id", "")).startswith(f"{SOURCE}:{VALID}")]
        if [{k: d[k] for k in w} for d, w in zip(valid_got, expected_events)] != expected_events or len(
            valid_got
        ) != len(expected_events):
            report.mismatches.append(f"batch gave {short(got)}, expected {short(expected_events)}")
    return report
