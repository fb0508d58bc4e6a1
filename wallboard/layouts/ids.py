"""Component ids, in one place: the Python layouts and assets/*.js both use these."""

PAGE = "wb-page"  # static page config (selector, language, labels, thresholds) as data-* and a Store
STORE = "wb-store"  # the view, written by assets/wallboard.js with dash_clientside.set_props
ROTATION = "wb-rotation"  # index of the screen shown on a rotating TV
CONTENT = "wb-content"
GAUGE = "wb-gauge"
SORT = "wb-sort"
FILTER = "wb-filter"
TREND_VOLUME = "wb-trend-volume"
TREND_SL = "wb-trend-sl"
TREND_QUEUE = "wb-trend-queue"
