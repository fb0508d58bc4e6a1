"""``/``: the screens, teams and views this wallboard serves."""

from __future__ import annotations

import dash
from dash import html

from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config


def layout(**_: str) -> html.Div:
    cfg = config()
    t = LABELS[cfg.language]
    screens = [html.Li(html.A(sc.title or sc.id, href=f"/wall/{sc.id}")) for sc in cfg.screens]
    screens += [html.Li(html.A(f"{t['all_queues']} ({t['centre']})", href="/wall/all"))]
    teams = [html.Li(html.A(tm.name or tm.id, href=f"/team/{tm.id}")) for tm in cfg.teams]
    return html.Div(
        [
            html.H1("wallboard"),
            html.H2(t["screens"]),
            html.Ul(screens, id="wb-home-screens"),
            html.H2(t["teams"]),
            html.Ul(teams, id="wb-home-teams"),
            html.H2(t["views"]),
            html.Ul([html.Li(html.A(t["manager"], href="/manager"))]),
        ],
        className="wb-home container py-4",
    )


def register() -> None:
    dash.register_page("home", path="/", layout=layout, title="wallboard")
