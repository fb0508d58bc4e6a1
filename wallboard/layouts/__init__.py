"""The Dash app: one page module per view, rendered in the browser (assets/tiles.js, assets/pages.js).

Pages only lay out empty containers and a page config. assets/wallboard.js
reads the WebSocket and draws the wall TV straight into its DOM (a TV's CPU is
small: no Dash callback, React tree or Plotly figure per update); team and
manager pages are drawn by clientside callbacks (namespace ``wallboard``)
triggered through one ``dcc.Store``; the manager's CSV of today's intervals is built by a
clientside callback too. No server callback runs after the page has loaded.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, clientside_callback, html

from wallboard.config import Config
from wallboard.layouts import home, ids, manager, shell, team, wall


def build_dash(cfg: Config, backend: str = "fastapi") -> dash.Dash:
    """Build the Dash app with its pages and clientside callbacks (FastAPI backend: see README)."""
    shell.use(cfg)
    app = dash.Dash(
        __name__,
        backend=backend,
        use_pages=True,
        pages_folder="",
        assets_folder=str(shell.ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        title="wallboard",
        update_title="",
        compress=False,
    )
    # Our /ws carries every number; the renderer would otherwise open Dash's own
    # WebSocket (for WebSocket callbacks, unused here): a second socket per screen.
    app.backend.websocket_capability = False
    for module in (home, wall, team, manager):
        module.register()
    app.layout = html.Div([dash.page_container])

    page = State(ids.PAGE + "-store", "data")
    clientside_callback(
        ClientsideFunction("wallboard", "renderTeam"),
        Output(ids.TEAM, "children"),
        Output(ids.TEAM_GRID, "children"),
        Input(ids.STORE, "data"),
        Input(ids.SORT, "value"),
        Input(ids.FILTER, "value"),
        page,
    )
    clientside_callback(
        ClientsideFunction("wallboard", "renderManager"),
        Output(ids.MANAGER, "children"),
        Output(ids.TREND_VOLUME, "figure"),
        Output(ids.TREND_SL, "figure"),
        Output(ids.ALERT_LOG, "children"),
        Input(ids.STORE, "data"),
        Input(ids.TREND_QUEUE, "value"),
        page,
    )
    # The CSV of today's intervals is built in the browser from the view it already has.
    clientside_callback(
        ClientsideFunction("wallboard", "intervalsCsv"),
        Output(ids.DOWNLOAD, "data"),
        Input(ids.DOWNLOAD_CSV, "n_clicks"),
        State(ids.TREND_QUEUE, "value"),
        page,
        prevent_initial_call=True,
    )
    return app
