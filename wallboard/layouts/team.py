"""``/team/<team>``: the team leader's laptop — team KPIs and a sortable, filterable agent grid."""

from __future__ import annotations

import dash
from dash import dcc, html

from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell


def layout(team: str = "", **_: str) -> html.Div:
    cfg = config()
    known = {t.id: t for t in cfg.teams}
    if team not in known:
        return html.Div(f"Unknown team {team!r}", className="wb-error p-4")
    t = LABELS[cfg.language]
    page = {
        "view": "team",
        "lang": cfg.language,
        "team": team,
        "title": known[team].name or team,
        "selector": {"view": "team", "team": team},
        "time_in_state": cfg.time_in_state.model_dump(),
        "pause_reasons": {r.id: {"name": r.name or r.id, "limit_s": r.limit_s} for r in cfg.pause_reasons},
        "thresholds": {
            "aht_s": cfg.threshold("aht_s").model_dump(),
            "occupancy_pct": cfg.threshold("occupancy_pct").model_dump(),
        },
    }
    controls = html.Div(
        [
            dcc.Dropdown(
                id=ids.SORT,
                value="state",
                clearable=False,
                searchable=False,
                className="wb-sort",
                options=[{"label": t[f"sort.{k}"], "value": k} for k in ("state", "time", "name", "calls")],
            ),
            dcc.Input(id=ids.FILTER, type="search", placeholder=t["filter"], debounce=False, className="wb-filter"),
        ],
        className="wb-controls",
    )
    return page_shell(page, controls, html.Div(id="wb-team"))


def register() -> None:
    dash.register_page("team", path_template="/team/<team>", layout=layout, title="wallboard · team")
