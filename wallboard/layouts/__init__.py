"""The Dash app: one page module per view, rendered in the browser by assets/render.js.

Pages only lay out empty containers and a page config. assets/wallboard.js
reads the WebSocket and draws the wall TV straight into its DOM (a TV's CPU is
small: no Dash callback, React tree or Plotly figure per update); team and
manager pages are drawn by clientside callbacks (namespace ``wallboard``)
triggered through one ``dcc.Store``. No server callback runs after the page
has loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from wallboard.config import Config
from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
_CONFIG: Config | None = None


def config() -> Config:
    """The config the app was built with (pages read it when they lay out)."""
    assert _CONFIG is not None, "build_dash() first"
    return _CONFIG


def _data(**values: str) -> dict[str, Any]:
    """``data-*`` attributes for an html component."""
    return {f"data-{k}": v for k, v in values.items()}


def page_shell(page: dict[str, Any], *children: Any, theme: str = "dark") -> html.Div:
    """Common frame: page config, the data store, the stale banner, and the view."""
    page = {**page, "labels": LABELS[page["lang"]], "heartbeat_s": config().web.heartbeat_s,
            "stale_after_s": config().web.stale_after_s, "timezone": config().timezone}
    return html.Div(
        [
            html.Div(id=ids.PAGE, **_data(page=json.dumps(page, ensure_ascii=False))),
            dcc.Store(id=ids.STORE),
            dcc.Store(id=ids.PAGE + "-store", data=page),
            html.Div(LABELS[page["lang"]]["connecting"], id="wb-stale-banner", className="wb-stale-banner"),
            *children,
        ],
        className=f"wb-root wb-{page['view']} wb-theme-{theme}",
        lang=page["lang"],
    )


def build_dash(cfg: Config, backend: str = "fastapi") -> dash.Dash:
    """Build the Dash app with its pages and clientside callbacks (FastAPI backend: see README)."""
    global _CONFIG
    _CONFIG = cfg
    app = dash.Dash(
        __name__,
        backend=backend,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        title="wallboard",
        update_title="",
        compress=False,
    )
    # Our /ws carries every number; the renderer would otherwise open Dash's own
    # WebSocket (for WebSocket callbacks, unused here): a second socket per screen.
    app.backend.websocket_capability = False
    from wallboard.layouts import home, manager, team, wall

    for module in (home, wall, team, manager):
        module.register()
    app.layout = html.Div([dash.page_container])

    clientside_callback(
        ClientsideFunction("wallboard", "renderTeam"),
        Output("wb-team", "children"),
        Input(ids.STORE, "data"), Input(ids.SORT, "value"), Input(ids.FILTER, "value"),
        State(ids.PAGE + "-store", "data"),
    )
    clientside_callback(
        ClientsideFunction("wallboard", "renderManager"),
        Output("wb-manager", "children"), Output(ids.TREND_VOLUME, "figure"), Output(ids.TREND_SL, "figure"),
        Input(ids.STORE, "data"), Input(ids.TREND_QUEUE, "value"), State(ids.PAGE + "-store", "data"),
    )
    return app
