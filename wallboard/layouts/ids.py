"""Component ids, in one place: the Python layouts and assets/*.js both use these."""

PAGE = "wb-page"  # static page config (selector, language, labels, thresholds) as data-* and a Store
STORE = "wb-store"  # the view's seq (team, manager pages), written by assets/wallboard.js with set_props
GAUGE = "wb-gauge"
SORT = "wb-sort"
FILTER = "wb-filter"
TREND_VOLUME = "wb-trend-volume"
TREND_SL = "wb-trend-sl"
TREND_QUEUE = "wb-trend-queue"
