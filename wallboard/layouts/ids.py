"""Component ids, in one place: the Python layouts use these, and the scripts get them in the
page config (``page.ids``, :data:`FOR_SCRIPTS`) rather than spelling them again."""

PAGE = "wb-page"  # static page config (selector, language, labels, thresholds) as data-* and a Store
STORE = "wb-store"  # the view's seq (team, manager pages), written by assets/wallboard.js with set_props
BANNER = "wb-stale-banner"  # "no data since …", "connecting", "no access"
WALL = "wb-wall"  # the TV's frame: assets/tiles.js draws the tiles into it
SORT = "wb-sort"
FILTER = "wb-filter"
TREND_VOLUME = "wb-trend-volume"
TREND_SL = "wb-trend-sl"
TREND_QUEUE = "wb-trend-queue"

#: The ids the scripts write to (``#wb-page`` itself is how they find the page config).
FOR_SCRIPTS = {"store": STORE, "banner": BANNER, "wall": WALL}
