"""``/manager``: all queues side by side and today's 15-minute trends, live."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from wallboard.config import DEFAULT_THRESHOLDS
from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell


def layout(**_: str) -> html.Div:
    cfg = config()
    t = LABELS[cfg.language]
    thresholds: dict[str, Any] = {
        q.id: {m: cfg.threshold(m, q.id).model_dump() for m in DEFAULT_THRESHOLDS} for q in cfg.queues
    }
    thresholds["centre"] = {m: cfg.threshold(m).model_dump() for m in DEFAULT_THRESHOLDS}
    page = {"view": "manager", "lang": cfg.language, "selector": {"view": "manager"}, "thresholds": thresholds}
    options = [{"label": t["centre"], "value": "centre"}] + [
        {"label": q.name or q.id, "value": q.id} for q in cfg.queues
    ]
    graph_cfg: Any = {"displayModeBar": False}
    return page_shell(
        page,
        html.Div(id="wb-manager"),
        html.Div(
            [
                html.Div(
                    [
                        html.H3(t["trend"]),
                        dcc.Dropdown(
                            id=ids.TREND_QUEUE,
                            options=options,
                            value="centre",
                            clearable=False,
                            className="wb-trend-queue",
                        ),
                    ],
                    className="wb-trend-head",
                ),
                dcc.Graph(id=ids.TREND_VOLUME, config=graph_cfg, className="wb-trend"),
                dcc.Graph(id=ids.TREND_SL, config=graph_cfg, className="wb-trend"),
            ],
            className="wb-trends",
        ),
    )


def register() -> None:
    dash.register_page("manager", path="/manager", layout=layout, title="wallboard · manager")
