"""What each screen receives: a view of the snapshot per subscription, and diffs between views.

Pure functions. A subscription (:class:`Selector`) names a view and what it
shows; :func:`view_of` cuts the snapshot down to that (a team-leader screen gets
its own team's agents and nothing else); :func:`diff` gives the changes between
two views, two levels deep, so a screen that already has the last view gets
only what changed.

Message shapes (JSON objects, always with ``seq`` and ``generated_at``):

- ``{"type": "full", "seq", "generated_at", "view": {...}}``
- ``{"type": "patch", "seq", "generated_at", "base": seq, "set": {key: value | {child: value}}, "del": {key: [child]}}``
- ``{"type": "hb", "seq", "generated_at", "server_time"}`` (heartbeat)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Changes from ``old`` to ``new``: values to set (whole, or per child for dicts) and children deleted."""
    changed: dict[str, Any] = {}
    deleted: dict[str, list[str]] = {}
    for key, value in new.items():
        before = old.get(key)
        if key in old and before == value:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            sub = {k: v for k, v in value.items() if before.get(k) != v or k not in before}
            gone = [k for k in before if k not in value]
            if sub:
                changed[key] = sub
            if gone:
                deleted[key] = gone
        else:
            changed[key] = value
    for key in old:
        if key not in new:
            changed[key] = None
    return changed, deleted


def apply_patch(view: dict[str, Any], changed: dict[str, Any], deleted: dict[str, list[str]]) -> dict[str, Any]:
    """What a client does with a patch (the browser mirrors this in assets/wallboard.js)."""
    out = dict(view)
    for key, value in changed.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    for key, children in deleted.items():
        out[key] = {k: v for k, v in out.get(key, {}).items() if k not in children}
    return out
