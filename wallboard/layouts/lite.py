"""``/tv/<screen>``: the TV-lite page, for old smart-TV browsers (Chromium 47 and later).

Plain HTML, one style sheet (``assets/tv.css``) and two small ES5 scripts
(``assets/tiles.js``, ``assets/wallboard.js``): no React, no Plotly, no Dash. It draws the
same tiles from the same page config as ``/wall/<screen>`` (:func:`wallboard.layouts.board.wall_page`)
over the same WebSocket feed, greys out when data is old, and reconnects by itself.
Asset URLs carry a digest of the file, so browsers may cache them for good.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from html import escape
from pathlib import Path

from wallboard.config import Config
from wallboard.layouts import ids
from wallboard.layouts.board import wall_page
from wallboard.layouts.i18n import LABELS
from wallboard.layouts.shell import ASSETS, page_config

#: What the page loads, in order.
STYLES = ("tv.css",)
SCRIPTS = ("tiles.js", "wallboard.js")


@cache
def _digest(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """``/assets/<name>?v=<digest>``: a new URL whenever the file changes."""
    path = ASSETS / name
    return f"/assets/{name}?v={_digest(path, path.stat().st_mtime_ns)}"


def lite_page(cfg: Config, screen: str) -> str | None:
    """The page's HTML (``None``: no such screen)."""
    page = wall_page(cfg, screen)
    if page is None:
        return None
    page = page_config(cfg, page)
    lang = page["lang"]
    labels = LABELS[lang]
    badge = f'<div class="wb-open-badge" title="{escape(labels["open_mode"])}">OPEN</div>' if cfg.auth.open else ""
    styles = "".join(f'<link rel="stylesheet" href="{asset_url(s)}">' for s in STYLES)
    scripts = "".join(f'<script src="{asset_url(s)}"></script>' for s in SCRIPTS)
    return (
        "<!DOCTYPE html>"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>wallboard · TV</title><link rel="icon" href="/_favicon.ico">{styles}</head>'
        f'<body><div class="wb-root wb-wall wb-lite wb-theme-{escape(page["theme"])}">'
        f'<div id="{ids.PAGE}" data-page="{escape(json.dumps(page, ensure_ascii=False))}"></div>'
        f'<div id="{ids.BANNER}" class="wb-stale-banner">{escape(labels["connecting"])}</div>{badge}'
        f'<div id="{ids.WALL}" class="wb-wall-body wb-shift">'
        f'<div class="wb-waiting-data">{escape(labels["connecting"])}</div></div>'
        f"</div>{scripts}</body></html>"
    )
