"""The tile registry and the screens' tiles: what a screen may show over which window, what the
config refuses (naming the tile), what a TV gets by default, and the current interval's block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.test_fold import T0, abandoned, answered, view
from wallboard.config import Config
from wallboard.config.loading import ConfigError
from wallboard.layouts.board import wall_page
from wallboard.tiles import METRICS, row_defaults, tile_id, wall_defaults, window_error

QUEUES = [
    {"id": "ventas", "name": "Ventas", "sl_threshold_s": 20, "sl_target_pct": 80, "sl_formula": "answered"},
    {
        "id": "retencion",
        "name": "Retención",
        "sl_threshold_s": 20,
        "sl_target_pct": 85,
        "sl_formula": "asterisk_sl2",
        "thresholds": {"abandon_rate_pct": {"warn": 3, "alert": 6, "direction": "higher_is_worse"}},
    },
]


def test_which_windows_a_metric_takes() -> None:
    windows = (15, 30, 60)
    assert window_error("waiting", "now", windows) is None
    assert window_error("waiting", "today", windows) == "waiting is an instant: its window is 'now', not 'today'"
    for w in ("15", "60", "interval", "today"):
        assert window_error("service_level", w, windows) is None
    assert "the window must be one of 15, 30, 60, interval, today" in (
        window_error("service_level", "45", windows) or ""
    )
    assert window_error("service_level", "now", windows) is not None  # a rate needs calls over a window
    assert (window_error("sl", "today", windows) or "").startswith("unknown metric 'sl'; known: waiting,")
    # the defaults are valid tiles, ids unique
    for metric, w in (*wall_defaults(windows), *row_defaults(windows)):
        assert window_error(metric, w, windows) is None
    assert len({tile_id(m, w) for m, w in wall_defaults(windows)}) == len(wall_defaults(windows))
    assert tile_id("waiting", "now", "Bajas y Retención") == "wb-t-waiting-now-Bajas_y_Retenci_n"


@pytest.mark.parametrize(
    ("tile", "message"),
    [
        ({"metric": "service_level", "window": 45}, "screens[0].tiles[1]: service_level over '45': the window must be"),
        ({"metric": "waiting", "window": "today"}, "screens[0].tiles[1]: waiting is an instant"),
        ({"metric": "speed"}, "screens[0].tiles[1]: unknown metric 'speed'"),
        ({"metric": "waiting", "queue": "soporte"}, "screens[0].tiles[1]: queue 'soporte' is not one of the screen's"),
        ({"metric": "waiting", "size": "huge"}, "size"),
        ({"metric": "waiting", "window": "now"}, "screens[0].tiles[1]: waiting over 'now' twice"),
    ],
)
def test_a_bad_tile_is_refused_naming_it(
    make_config: Callable[..., Config], tile: dict[str, Any], message: str
) -> None:
    with pytest.raises((ConfigError, ValueError)) as err:
        make_config(
            queues=[*QUEUES, {"id": "soporte"}],
            screens=[{"id": "tv", "queues": ["ventas", "retencion"], "tiles": [{"metric": "waiting"}, tile]}],
        )
    assert message in str(err.value)


def test_a_rows_column_takes_no_queue(make_config: Callable[..., Config]) -> None:
    with pytest.raises((ConfigError, ValueError), match=r"screens\[0\]\.rows\[0\]: a row's column takes no queue"):
        make_config(queues=QUEUES, screens=[{"id": "tv", "rows": [{"metric": "waiting", "queue": "ventas"}]}])


def test_all_is_not_a_screen_id_nor_centre_a_queue_id(make_config: Callable[..., Config]) -> None:
    with pytest.raises((ConfigError, ValueError), match="'all' names the whole centre's screen"):
        make_config(queues=QUEUES, screens=[{"id": "all"}])
    with pytest.raises((ConfigError, ValueError), match="'centre' names the whole centre"):
        make_config(queues=[*QUEUES, {"id": "centre"}])


def test_a_window_written_with_zeros_is_that_window(make_config: Callable[..., Config]) -> None:
    config = make_config(queues=QUEUES, screens=[{"id": "tv", "tiles": [{"metric": "service_level", "window": "015"}]}])
    assert config.screens[0].tiles[0].window == "15"


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        queues=QUEUES,
        windows=[15, 60],
        screens=[
            {"id": "both", "title": "Ventas y Retención", "queues": ["ventas", "retencion"], "chime": True},
            {"id": "one", "queues": ["retencion"]},
            {"id": "one-rows", "queues": ["retencion"], "queue_rows": True},
            {
                "id": "mine",
                "queues": ["ventas", "retencion"],
                "queue_rows": False,
                "tiles": [
                    {"metric": "service_level", "window": 60},
                    {"metric": "abandon_rate", "window": "interval", "queue": "retencion"},
                    {"metric": "answered", "size": "big"},
                ],
            },
        ],
    )


def test_a_tv_gets_the_defaults_a_supervisor_would_pick(config: Config) -> None:
    page = wall_page(config, "both")
    assert page is not None
    (screen,) = page["rotation"]
    tiles = [(t["metric"], t["window"], t["big"]) for t in screen["tiles"]]
    assert tiles[:6] == [
        ("waiting", "now", True),
        ("longest_wait", "now", True),
        ("service_level", "15", True),  # the shortest rolling window beside today
        ("service_level", "today", True),
        ("abandon_rate", "15", True),
        ("abandon_rate", "today", True),
    ]
    assert ("answered", "today", False) in tiles and ("staffing", "now", False) in tiles
    labels = {t["id"]: (t["label"], t["window_label"]) for t in screen["tiles"]}
    assert labels["wb-t-service_level-15"] == ("Nivel de servicio", "últimos 15 min")
    assert labels["wb-t-waiting-now"] == ("En espera", "ahora")
    assert screen["chime"] is True
    # two queues: a row each, coloured by that queue's own thresholds
    rows = screen["rows"]
    assert [q["id"] for q in rows["queues"]] == ["ventas", "retencion"]
    assert rows["queues"][1]["th"]["abandon_rate_pct"]["alert"] == 6  # retención's own
    assert rows["queues"][0]["th"]["abandon_rate_pct"]["alert"] == 10  # the default
    assert [(c["metric"], c["window"]) for c in rows["columns"]] == list(row_defaults((15, 60)))
    # one queue: no rows, and the tiles take that queue's thresholds
    one = wall_page(config, "one")
    assert one is not None and one["rotation"][0]["rows"] is None
    abandon = next(t for t in one["rotation"][0]["tiles"] if t["id"] == "wb-t-abandon_rate-today")
    assert abandon["th"]["alert"] == 6
    # /wall/all: every queue, a row each
    everything = wall_page(config, "all")
    assert everything is not None and [q["id"] for q in everything["rotation"][0]["rows"]["queues"]] == [
        "ventas",
        "retencion",
    ]
    assert wall_page(config, "nope") is None


def test_a_screen_lists_its_own_tiles(config: Config) -> None:
    page = wall_page(config, "mine")
    assert page is not None
    (screen,) = page["rotation"]
    assert screen["rows"] is None  # queue_rows: false
    assert [(t["id"], t["big"], t["th"] and t["th"]["alert"]) for t in screen["tiles"]] == [
        ("wb-t-service_level-60", True, 70),
        ("wb-t-abandon_rate-interval-retencion", True, 6),  # that queue alone, by its own colours
        ("wb-t-answered-today", True, None),  # (counts have no thresholds)
    ]
    assert screen["tiles"][1]["window_label"] == "intervalo actual"
    assert screen["tiles"][1]["label"] == "Abandono · Retención"  # a tile of one queue says which
    assert {t["metric"] for t in screen["tiles"]} <= set(METRICS)


def test_the_current_interval_is_a_window_of_its_own(config: Config) -> None:
    # T0 is a quarter-hour boundary: two calls in the interval before, two in the current one
    events = [
        answered(T0 + 100, "a", 10),
        abandoned(T0 + 200, "b", 30),
        answered(T0 + 900 + 10, "c", 5),
        answered(T0 + 900 + 20, "d", 40),
    ]
    v = view(config, events, now=T0 + 900 + 60)
    interval = v["queues"]["ventas"]["interval"]
    assert interval["start"] == T0 + 900
    assert (interval["answered"], interval["abandoned"]) == (2, 0)
    assert interval["sl"] == {"pct": 50.0, "numerator": 1, "denominator": 2}  # 1 of 2 answered within 20 s
    assert v["queues"]["ventas"]["today"]["answered"] == 3
    assert v["screens"]["both"]["interval"]["answered"] == 2
    # /wall/all is the whole centre as a screen
    assert v["screens"]["all"]["today"] == v["centre"]["today"]
    # the queue blocks each screen draws by itself: its rows, its tiles naming a queue
    detail = {sid: sc["detail"] for sid, sc in v["screens"].items()}
    assert detail == {
        "both": ["ventas", "retencion"],
        "one": [],
        "one-rows": ["retencion"],  # queue_rows: true on one queue
        "mine": ["retencion"],  # no rows, one tile of retención alone
        "all": ["ventas", "retencion"],
    }
