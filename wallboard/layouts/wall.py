"""``/wall/<screen>``: the wall TV — big numbers now and today, a row per queue, a clock, a ticker.

Readable from 8 m: every size comes from the viewport (see assets/tv.css). The page is
an empty frame: ``assets/tiles.js`` draws the tiles of :func:`wallboard.layouts.board.wall_page`
into it (the TV-lite page ``/tv/<screen>`` is the same frame without Dash). A screen may
rotate with others (``rotate_with``, ``dwell_s``); all of them are subscribed at once and
the browser switches between them with no new request.
"""

from __future__ import annotations

import dash
from dash import html

from wallboard.layouts import ids
from wallboard.layouts.board import wall_page
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell


def layout(screen: str = "", **_: str) -> html.Div:
    page = wall_page(config(), screen)
    if page is None:
        return html.Div(f"Unknown screen {screen!r}", className="wb-error p-4")
    return page_shell(
        page,
        html.Div(
            html.Div(LABELS[page["lang"]]["connecting"], className="wb-waiting-data"),
            id=ids.WALL,
            className="wb-wall-body wb-shift",
        ),
        theme=page["theme"],
    )


def register() -> None:
    dash.register_page("wall", path_template="/wall/<screen>", layout=layout, title="wallboard · TV")
