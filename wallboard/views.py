"""What each screen receives: a view of the snapshot per subscription, and diffs between views.

Pure functions. A subscription (:class:`Selector`) names a view and what it
shows; :func:`view_of` cuts the snapshot down to that (a team-leader screen gets
its own team's agents and nothing else); :func:`diff` gives the changes between
two views, at any depth, so a screen that already has the last view gets only
what changed.

Message shapes (JSON objects, always with ``seq`` and ``generated_at``):

- ``{"type": "full", "seq", "generated_at", "view": {...}}``
- ``{"type": "patch", "seq", "generated_at", "base": seq, "set": {key: value | {…nested changes}}, "del": [[key, …]]}``
- ``{"type": "hb", "seq", "generated_at", "server_time"}`` (heartbeat)

A screen sends one message, first: ``{"subscribe": {...}}`` (:func:`parse_subscribe`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: A subscribe message is well under this (20 screen ids); anything larger is not one.
MAX_SUBSCRIBE_BYTES = 4096

_HEADER = ("seq", "generated_at", "now", "day_start", "timezone", "windows", "interval_s")


@dataclass(frozen=True, slots=True)
class Selector:
    """What a screen subscribes to: ``wall`` (a set of queues), ``team`` (one team) or ``manager``."""

    view: str
    screens: tuple[str, ...] = ()
    team: str = ""

    @property
    def key(self) -> str:
        return f"{self.view}|{','.join(self.screens)}|{self.team}"

    @classmethod
    def parse(cls, data: Any) -> Selector:
        """From the client's subscribe message; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("subscribe must be a JSON object")
        view = data.get("view")
        if view not in ("wall", "team", "manager"):
            raise ValueError("view must be wall, team or manager")
        screens = data.get("screens") or []
        if not isinstance(screens, list) or not all(isinstance(q, str) for q in screens) or len(screens) > 20:
            raise ValueError("screens must be a list of screen ids")
        if view == "wall" and not screens:
            raise ValueError("a wall view needs its screens")
        team = data.get("team") or ""
        if not isinstance(team, str) or (view == "team" and not team):
            raise ValueError("a team view needs a team id")
        return cls(view, tuple(screens), team)


class SubscribeError(ValueError):
    """A first ``/ws`` message that is not a valid subscription: the close code, a fixed phrase
    saying what is wrong (for counters and the log), and what the client is told (the message)."""

    def __init__(self, code: int, reason: str, told: str = "") -> None:
        super().__init__(told or reason)
        self.code = code
        self.reason = reason


def parse_subscribe(message: Mapping[str, Any]) -> Selector:
    """The selector in a screen's first message (an ASGI ``websocket.receive``).

    :class:`SubscribeError` carries the close code: 1003 for binary, 1009 over
    :data:`MAX_SUBSCRIBE_BYTES`, 1008 for text that is not a subscription.
    """
    text = message.get("text")
    if not isinstance(text, str):
        raise SubscribeError(1003, "binary message", "binary message: send the subscribe message as JSON text")
    if len(text) > MAX_SUBSCRIBE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SUBSCRIBE_BYTES:
        raise SubscribeError(1009, "message too large", f"larger than a subscribe message ({MAX_SUBSCRIBE_BYTES} B)")
    try:
        data = json.loads(text)
    except RecursionError:
        raise SubscribeError(1008, "not JSON", "not JSON: nested too deeply") from None
    except ValueError:
        raise SubscribeError(1008, "not JSON") from None
    if not isinstance(data, dict) or "subscribe" not in data:
        raise SubscribeError(1008, "not a subscribe message", 'expected {"subscribe": {...}}')
    try:
        return Selector.parse(data["subscribe"])
    except ValueError as exc:
        raise SubscribeError(1008, "bad subscription", str(exc)) from None


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def view_of(snapshot: dict[str, Any], selector: Selector) -> dict[str, Any]:
    """The part of the snapshot a screen with this selector shows."""
    out: dict[str, Any] = {k: snapshot[k] for k in _HEADER if k in snapshot}
    out["sources"] = snapshot.get("sources", {})
    queues = snapshot.get("queues", {})
    if selector.view == "wall":
        screens = snapshot.get("screens", {})
        out["screens"] = {sc: screens[sc] for sc in selector.screens if sc in screens}
        # The queues a screen draws by themselves (a row per queue, a tile of one queue): only those.
        shown = [q for sc in out["screens"].values() for q in sc.get("detail") or ()]
        out["queues"] = {q: _without(queues[q], "intervals") for q in dict.fromkeys(shown) if q in queues}
        tickers = snapshot.get("ticker", {})
        out["ticker"] = {sc: tickers[sc] for sc in (*selector.screens, "*") if sc in tickers}
    elif selector.view == "team":
        team = snapshot.get("teams", {}).get(selector.team)
        out["team"] = {"id": selector.team, **(team or {})}
        out["agents"] = {a: v for a, v in snapshot.get("agents", {}).items() if v.get("team") == selector.team}
        served = (team or {}).get("queues") or []
        out["queues"] = {q: _without(queues[q], "intervals") for q in served if q in queues}
    else:
        out["queues"] = queues
        out["centre"] = snapshot.get("centre", {})
        out["teams"] = snapshot.get("teams", {})
        out["alerts"] = snapshot.get("alerts", [])
    return out


def diff(
    old: dict[str, Any], new: dict[str, Any], _path: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[list[str]]]:
    """Changes from ``old`` to ``new`` at any depth: what to merge in, and the key paths to delete.

    A dict in the result is merged into the dict the client holds at that key;
    any other value replaces it.
    """
    changed: dict[str, Any] = {}
    deleted: list[list[str]] = []
    for key, value in new.items():
        if key in old:
            before = old[key]
            if before == value:
                continue
            if isinstance(value, dict) and isinstance(before, dict):
                sub, gone = diff(before, value, (*_path, key))
                changed[key] = sub
                deleted.extend(gone)
                continue
        changed[key] = value
    deleted.extend([*_path, key] for key in old if key not in new)
    return changed, deleted


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        current = out.get(key)
        out[key] = _merge(current, value) if isinstance(value, dict) and isinstance(current, dict) else value
    return out


def apply_patch(view: dict[str, Any], changed: dict[str, Any], deleted: list[list[str]]) -> dict[str, Any]:
    """What a client does with a patch (the browser mirrors this in assets/wallboard.js)."""
    out = _merge(view, changed)
    for path in deleted:
        node = out
        for key in path[:-1]:
            node = node.get(key, {})
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out
