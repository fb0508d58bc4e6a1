"""``/manager``: every queue and the centre side by side (now, the shortest rolling window and
today, each by its own rules), today's 15-minute trends with their CSV, and the alert log, live."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc  # type: ignore[import-untyped]  # (no type information)
from dash import dcc, html

from wallboard.config import DEFAULT_THRESHOLDS
from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell

#: The clock of the page's header (wallboard.js ticks every ``[data-clock]``).
_CLOCK: dict[str, Any] = {"data-clock": "1"}


def layout(**_: str) -> html.Div:
    cfg = config()
    t = LABELS[cfg.language]
    thresholds: dict[str, Any] = {
        q.id: {m: cfg.threshold(m, q.id).model_dump() for m in DEFAULT_THRESHOLDS} for q in cfg.queues
    }
    thresholds["centre"] = {m: cfg.threshold(m).model_dump() for m in DEFAULT_THRESHOLDS}
    page = {
        "view": "manager",
        "lang": cfg.language,
        "selector": {"view": "manager"},
        "thresholds": thresholds,
        "parts": ids.FOR_PAGES,
    }
    options = [{"label": t["centre"], "value": "centre"}] + [
        {"label": q.name or q.id, "value": q.id} for q in cfg.queues
    ]
    graph_cfg: Any = {"displayModeBar": False}
    trends = dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.H2(t["trend"], className="h5 mb-0 me-auto"),
                    dbc.Select(
                        id=ids.TREND_QUEUE, options=options, value="centre", size="sm", class_name="wb-trend-queue"
                    ),
                    dbc.Button(t["download_csv"], id=ids.DOWNLOAD_CSV, size="sm", color="secondary", n_clicks=0),
                ],
                class_name="wb-card-head",
            ),
            dbc.CardBody(
                [
                    dcc.Graph(id=ids.TREND_VOLUME, config=graph_cfg, className="wb-trend"),
                    dcc.Graph(id=ids.TREND_SL, config=graph_cfg, className="wb-trend"),
                ],
                class_name="py-2",
            ),
        ],
        class_name="wb-card wb-trends",
    )
    alerts = dbc.Card(
        [
            dbc.CardHeader(html.H2(t["alert_log"], className="h5 mb-0"), class_name="wb-card-head"),
            dbc.CardBody(html.Div(id=ids.ALERT_LOG), class_name="wb-alert-body p-0"),
        ],
        class_name="wb-card wb-alerts",
    )
    return page_shell(
        page,
        dbc.Container(
            [
                html.Div(
                    [
                        html.H1(t["manager"], className="wb-title"),
                        html.Div(className="wb-clock", **_CLOCK),
                    ],
                    className="wb-header",
                ),
                html.Div(id=ids.MANAGER),
                dbc.Row([dbc.Col(trends, xl=8), dbc.Col(alerts, xl=4)], class_name="g-3 mt-0"),
                dcc.Download(id=ids.DOWNLOAD),
            ],
            fluid=True,
            class_name="wb-page-body",
        ),
    )


def register() -> None:
    dash.register_page("manager", path="/manager", layout=layout, title="wallboard · manager")
