"""What every page shares: the config the app was built with, and the frame of a page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dash import dcc, html

from wallboard.config import Config
from wallboard.layouts import ids
from wallboard.layouts.i18n import LABELS
from wallboard.tiles import MIN_CALLS

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
_CONFIG: Config | None = None


def use(cfg: Config) -> None:
    """Make ``cfg`` the config pages lay out with (build_dash does it first)."""
    global _CONFIG
    _CONFIG = cfg


def config() -> Config:
    """The config the app was built with (pages read it when they lay out)."""
    assert _CONFIG is not None, "build_dash() first"
    return _CONFIG


def _data(**values: str) -> dict[str, Any]:
    """``data-*`` attributes for an html component."""
    return {f"data-{k}": v for k, v in values.items()}


def page_config(cfg: Config, page: dict[str, Any]) -> dict[str, Any]:
    """What every page's scripts read besides its own settings: labels, timings, the time zone, and
    the ids of the elements they write (defined in :mod:`wallboard.layouts.ids`)."""
    return {
        **page,
        "labels": LABELS[page["lang"]],
        "heartbeat_s": cfg.web.heartbeat_s,
        "stale_after_s": cfg.web.stale_after_s,
        "timezone": cfg.timezone,
        "ids": ids.FOR_SCRIPTS,
        "min_calls": MIN_CALLS,  # a rate of fewer calls has no colour (wallboard.tiles)
    }


def page_shell(page: dict[str, Any], *children: Any, theme: str = "dark") -> html.Div:
    """Common frame: page config, the data store, the stale banner, and the view."""
    page = page_config(config(), page)
    return html.Div(
        [
            html.Div(id=ids.PAGE, **_data(page=json.dumps(page, ensure_ascii=False))),
            dcc.Store(id=ids.STORE),
            dcc.Store(id=ids.PAGE + "-store", data=page),
            html.Div(LABELS[page["lang"]]["connecting"], id=ids.BANNER, className="wb-stale-banner"),
            *(
                [html.Div("OPEN", className="wb-open-badge", title=LABELS[page["lang"]]["open_mode"])]
                if config().auth.open
                else []
            ),
            *children,
        ],
        className=f"wb-root wb-{page['view']} wb-theme-{theme}",
        lang=page["lang"],
    )
