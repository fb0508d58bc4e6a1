"""``/wall/<screen>``: the wall TV — huge numbers, a service-level gauge, a clock, a ticker.

Readable from 8 m: every size comes from the viewport (see assets/wallboard.css).
A screen may rotate with others (``rotate_with``, ``dwell_s``); all of them are
subscribed at once and the browser switches between them with no new request.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from wallboard.config import DEFAULT_THRESHOLDS
from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import config, page_shell


def _thresholds(queue_ids: list[str]) -> dict[str, Any]:
    cfg = config()
    queue = queue_ids[0] if len(queue_ids) == 1 else None
    return {m: cfg.threshold(m, queue).model_dump() for m in DEFAULT_THRESHOLDS}


def layout(screen: str = "", **_: str) -> html.Div:
    cfg = config()
    sc = cfg.screen(screen)
    if sc is None and screen != "all":
        return html.Div(f"Unknown screen {screen!r}", className="wb-error p-4")
    if sc is None:  # /wall/all: every queue, the centre's defaults
        rotation = [{"id": "all", "title": "", "dwell_s": 30, "thresholds": _thresholds([])}]
        lang, theme = cfg.language, "dark"
    else:
        order = [sc] + [cfg.screen(o) for o in sc.rotate_with]
        rotation = [
            {"id": s.id, "title": s.title or s.id, "dwell_s": s.dwell_s, "thresholds": _thresholds(list(s.queues))}
            for s in order
            if s is not None
        ]
        lang, theme = sc.language or cfg.language, sc.theme
    page = {
        "view": "wall",
        "lang": lang,
        "screen": screen,
        "rotation": rotation,
        "selector": {"view": "wall", "screens": [r["id"] for r in rotation]},
    }
    return page_shell(
        page,
        html.Div(
            [
                html.Div(LABELS[lang]["connecting"], id="wb-wall-connecting", className="wb-waiting-data"),
                html.Div(id="wb-wall-head"),
                html.Div(
                    [
                        html.Div(id="wb-wall-left", className="wb-contents"),
                        html.Div(
                            [
                                html.Div(id="wb-sl-head"),
                                html.Div(id=ids.GAUGE, className="wb-gauge"),  # an SVG drawn by render.js
                                html.Div(id="wb-sl-foot"),
                            ],
                            id="wb-sl-tile",
                            className="wb-tile wb-tile-sl",
                        ),
                        html.Div(id="wb-wall-right", className="wb-contents"),
                    ],
                    className="wb-tiles",
                ),
                html.Div(id="wb-wall-foot"),
            ],
            className="wb-shift wb-wall-body",
        ),
        theme=theme,
    )


def register() -> None:
    dash.register_page("wall", path_template="/wall/<screen>", layout=layout, title="wallboard · TV")
