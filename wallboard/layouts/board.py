"""A TV's page config: its screens (and those it rotates with) with their tiles resolved.

Shared by the Dash TV page (``/wall/<screen>``) and the TV-lite page (``/tv/<screen>``):
both hand this to ``assets/tiles.js``, which draws any tile from its spec — id, label,
window, where its value is in the view, its format and its colour thresholds — so a
tile is defined once, here and in :mod:`wallboard.tiles`.
"""

from __future__ import annotations

from typing import Any

from wallboard.config import DEFAULT_THRESHOLDS, Config, ScreenConfig
from wallboard.layouts.i18n import LABELS
from wallboard.tiles import INTERVAL, METRICS, MIN_CALLS, NOW, TODAY, row_defaults, row_id, tile_id, wall_defaults

#: ``/wall/all``: every queue under the centre's defaults.
ALL = "all"


def window_label(window: str, labels: dict[str, str]) -> str:
    if window == NOW:
        return labels["now"]
    if window == TODAY:
        return labels["today"]
    if window == INTERVAL:
        return labels["interval"]
    return labels["last_n"].replace("{n}", window)


def _threshold(cfg: Config, name: str, queue: str | None) -> dict[str, Any] | None:
    return cfg.threshold(name, queue).model_dump() if name else None


def tile_spec(
    cfg: Config,
    metric: str,
    window: str,
    labels: dict[str, str],
    queue: str = "",
    size: str = "",
    rules_of: str | None = None,
) -> dict[str, Any]:
    """What the browser needs to draw one tile. ``rules_of``: the queue whose thresholds colour
    it (``None``: the centre's)."""
    m = METRICS[metric]
    return {
        "id": tile_id(metric, window, queue),
        "metric": metric,
        "window": window,
        "queue": queue,
        "field": m.field,
        "fmt": m.fmt,
        "big": (size or ("big" if m.big else "small")) == "big",
        "label": labels[m.label] + (f" · {cfg.queue(queue).name or queue}" if queue else ""),
        "window_label": window_label(window, labels),
        "threshold": m.threshold,
        "rules": m.rules,
        "basis": m.basis,
        "min_calls": MIN_CALLS,
        "th": _threshold(cfg, m.threshold, queue or rules_of),
    }


def _screen_entry(cfg: Config, sc: ScreenConfig | None, labels: dict[str, str]) -> dict[str, Any]:
    queues = list(sc.queues) if sc is not None and sc.queues else [q.id for q in cfg.queues]
    single = queues[0] if len(queues) == 1 else None
    chosen = (
        [(t.metric, t.window, t.queue, t.size) for t in sc.tiles]
        if sc is not None and sc.tiles
        else [(m, w, "", "") for m, w in wall_defaults(cfg.windows)]
    )
    tiles = [tile_spec(cfg, m, w, labels, q, size, single) for m, w, q, size in chosen]
    show_rows = sc.shows_rows(len(queues)) if sc is not None else len(queues) > 1
    rows: dict[str, Any] | None = None
    if show_rows:
        columns = (
            [(t.metric, t.window) for t in sc.rows] if sc is not None and sc.rows else list(row_defaults(cfg.windows))
        )
        rows = {
            "columns": [tile_spec(cfg, m, w, labels) for m, w in columns],
            "queues": [
                {
                    "id": q,
                    "row_id": row_id(q),
                    "name": cfg.queue(q).name or q,
                    "th": {name: cfg.threshold(name, q).model_dump() for name in DEFAULT_THRESHOLDS},
                }
                for q in queues
            ],
        }
    return {
        "id": sc.id if sc is not None else ALL,
        "title": (sc.title or sc.id) if sc is not None else "",
        "dwell_s": sc.dwell_s if sc is not None else 30,
        "tiles": tiles,
        "rows": rows,
        "chime": bool(sc and sc.chime),
    }


def wall_page(cfg: Config, screen: str, view: str = "wall") -> dict[str, Any] | None:
    """The page config of a TV showing ``screen`` (``None``: no such screen)."""
    sc = cfg.screen(screen)
    if sc is None and screen != ALL:
        return None
    lang = (sc.language if sc is not None else None) or cfg.language
    labels = LABELS[lang]
    order = [sc, *(cfg.screen(o) for o in sc.rotate_with)] if sc is not None else [None]
    rotation = [_screen_entry(cfg, s, labels) for s in order if s is not None or sc is None]
    return {
        "view": view,
        "lang": lang,
        "screen": screen,
        "theme": sc.theme if sc is not None else "dark",
        "rotation": rotation,
        "selector": {"view": "wall", "screens": [r["id"] for r in rotation]},
    }
