"""``/``: the screens, teams and views this wallboard serves — those the visitor may open."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from wallboard.access import OPEN, visible_screens, visible_teams
from wallboard.doors import current
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config


def layout(**_: str) -> html.Div:
    cfg = config()
    t = LABELS[cfg.language]
    who = current.get() or OPEN
    titles = {sc.id: sc.title or sc.id for sc in cfg.screens} | {"all": f"{t['all_queues']} ({t['centre']})"}
    names = {tm.id: tm.name or tm.id for tm in cfg.teams}
    screens = [html.Li(html.A(titles[s], href=f"/wall/{s}")) for s in visible_screens(cfg, who.grant)]
    teams = [html.Li(html.A(names[tm], href=f"/team/{tm}")) for tm in visible_teams(cfg, who.grant)]
    views = [html.Li(html.A(t["manager"], href="/manager"))] if who.grant.manager else []
    body: list[Any] = [html.H1("wallboard")]
    if who.kind == "open":
        body.append(html.P(t["open_mode"], id="wb-open-mode", className="wb-open-mode"))
    elif who.kind == "person":
        body.append(
            html.Form(
                [html.Span(f"{who.name} · {t['role.' + who.role]}", id="wb-whoami"), html.Button(t["signout"])],
                method="post",
                action="/logout",
                className="wb-whoami",
            )
        )
    for heading, items, ident in (
        (t["screens"], screens, "wb-home-screens"),
        (t["teams"], teams, "wb-home-teams"),
        (t["views"], views, "wb-home-views"),
    ):
        if items:
            body += [html.H2(heading), html.Ul(items, id=ident)]
    return html.Div(body, className="wb-home container py-4")


def register() -> None:
    dash.register_page("home", path="/", layout=layout, title="wallboard")
