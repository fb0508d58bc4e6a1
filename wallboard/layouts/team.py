"""``/team/<team>``: the team leader's laptop — team KPIs, the team's queues, and a sortable,
filterable agent grid."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc  # type: ignore[import-untyped]  # (no type information)
from dash import html

from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell

#: The clock of the page's header (wallboard.js ticks every ``[data-clock]``).
_CLOCK: dict[str, Any] = {"data-clock": "1"}

#: The thresholds that colour each of the team's queues.
_QUEUE_THRESHOLDS = ("waiting", "longest_wait_s", "service_level_pct")


def layout(team: str = "", **_: str) -> html.Div:
    cfg = config()
    known = {t.id: t for t in cfg.teams}
    if team not in known:
        return html.Div(f"Unknown team {team!r}", className="wb-error p-4")
    t = LABELS[cfg.language]
    title = known[team].name or team
    page = {
        "view": "team",
        "lang": cfg.language,
        "team": team,
        "title": title,
        "selector": {"view": "team", "team": team},
        "time_in_state": cfg.time_in_state.model_dump(),
        "pause_reasons": {r.id: {"name": r.name or r.id, "limit_s": r.limit_s} for r in cfg.pause_reasons},
        "thresholds": {
            "aht_s": cfg.threshold("aht_s").model_dump(),
            "occupancy_pct": cfg.threshold("occupancy_pct").model_dump(),
            "queues": {q: {m: cfg.threshold(m, q).model_dump() for m in _QUEUE_THRESHOLDS} for q in known[team].queues},
        },
        "parts": ids.FOR_PAGES,
    }
    controls = html.Div(
        [
            dbc.Select(
                id=ids.SORT,
                value="state",
                size="sm",
                class_name="wb-sort",
                options=[{"label": t[f"sort.{k}"], "value": k} for k in ("state", "time", "name", "calls")],
            ),
            dbc.Input(id=ids.FILTER, type="search", placeholder=t["filter"], size="sm", class_name="wb-filter"),
        ],
        className="wb-controls",
    )
    return page_shell(
        page,
        dbc.Container(
            [
                html.Div(
                    [html.H1(title, className="wb-title"), html.Div(className="wb-clock", **_CLOCK)],
                    className="wb-header",
                ),
                html.Div(id=ids.TEAM),
                controls,
                html.Div(id=ids.TEAM_GRID),
            ],
            fluid=True,
            class_name="wb-page-body",
        ),
    )


def register() -> None:
    dash.register_page("team", path_template="/team/<team>", layout=layout, title="wallboard · team")
