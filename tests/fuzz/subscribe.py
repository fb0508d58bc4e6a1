"""Fuzzing the /ws subscription message: the JSON text a screen sends first.

Parsed as the WebSocket endpoint parses it, by :func:`wallboard.messages.parse_subscribe` on the ASGI
message, whose :class:`SubscribeError` closes the socket with a code and a reason; anything else would
escape the endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fuzz.garbage import FuzzReport, Garbage, short
from wallboard.views import Selector, SubscribeError, parse_subscribe

#: What the endpoint catches around the parse (wallboard/web.py): any other exception escapes it.
ANSWERED = (SubscribeError,)


def parse(text: str) -> Selector:
    """The endpoint's parse of a subscribe message."""
    return parse_subscribe({"type": "websocket.receive", "text": text})


def _valid(g: Garbage) -> tuple[dict[str, Any], Selector]:
    r = g.randrange(3)
    if r == 0:
        screens = [f"screen-{g.randrange(100)}" for _ in range(g.randint(1, 20))]
        return {"view": "wall", "screens": screens}, Selector("wall", tuple(screens))
    if r == 1:
        team = g.choice(("ventas", "soporte", "équipe-ñ", "t" * 200))
        extra: dict[str, Any] = {"screens": []} if g.random() < 0.3 else {}
        return {"view": "team", "team": team, **extra}, Selector("team", (), team)
    return {"view": "manager"}, Selector("manager")


def _known_bad(g: Garbage) -> dict[str, Any]:
    choice = g.randrange(7)
    if choice == 0:
        return {"view": g.choice(("tv", "", "WALL", 5, None, ["wall"], {"a": 1}))}
    if choice == 1:
        return {"view": "wall", "screens": g.choice(([], None, "", 0))}
    if choice == 2:
        return {"view": "wall", "screens": g.choice(("a", 5, {"a": 1}, [1], ["a", None], ["s"] * 21))}
    if choice == 3:
        return {"view": "team"}
    if choice == 4:
        return {"view": "team", "team": g.choice((5, ["ventas"], {"id": "ventas"}, True))}
    if choice == 5:
        return {"view": "manager", "screens": g.choice(("a", 5, {"a": 1}))}
    return {"view": "team", "team": "", "screens": ["a"]}


def _garbage(g: Garbage, endpoint: bool) -> str:
    r = g.random()
    if r < 0.3:
        return json.dumps({"subscribe": g.json_value(3)})
    if r < 0.5:
        return json.dumps(g.json_value(3))
    if r < 0.7:
        return g.raw_bytes(100).decode("utf-8", "replace")
    if r < 0.9:
        sub = g.mutate_dict({"view": "wall", "screens": "x", "team": "t"}, ("view", "screens", "team"))
        return json.dumps({"subscribe": sub})[: g.randrange(200)]
    depth = g.choice((10, 500, 1_000, 100_000) if endpoint else (10, 500))
    return '{"subscribe": ' + "[" * depth + "]" * depth + "}"


def fuzz_messages(n: int = 10_000, seed: int = 0, *, endpoint: bool = False) -> FuzzReport:
    """``n`` first messages (valid, known bad, garbage) through the endpoint's subscription parse.

    ``endpoint=True`` adds JSON nested deeper than ``json.loads`` can decode (1 000 levels and more):
    that probes the endpoint's own decoding, before ``Selector.parse``.
    """
    report = FuzzReport("/ws subscribe message" + (" (with the endpoint's JSON decoding)" if endpoint else ""))
    g = Garbage(seed)
    for _ in range(n):
        report.inputs += 1
        r = g.random()
        if r < 0.35:
            message, want = _valid(g)
            text = json.dumps({"subscribe": message})
            report.valid += 1
            try:
                got = parse(text)
            except Exception as exc:  # a valid subscription must be taken
                report.mismatches.append(f"{type(exc).__name__}: {exc} for {short(text)}")
                continue
            if got != want:
                report.mismatches.append(f"{short(text)} gave {got}, expected {want}")
            continue
        known = r < 0.65
        text = json.dumps({"subscribe": _known_bad(g)}) if known else _garbage(g, endpoint)
        report.known_bad += known
        try:
            parse(text)
        except ANSWERED as exc:
            report.rejected += 1
            if not str(exc):
                report.miscounts.append(f"a refusal without a reason: {short(text)}")
            continue
        except Exception as exc:  # anything else escapes the WebSocket endpoint
            report.crash(text, exc)
            continue
        if known:
            report.miscounts.append(f"known bad accepted: {short(text)}")
        else:
            report.accepted_garbage += 1
    return report
