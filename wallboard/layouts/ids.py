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

# The team and manager pages (assets/pages.js draws into these; the page config hands them over).
TEAM = "wb-team"  # the team page's live part: KPIs, queues, agents by state
TEAM_GRID = "wb-team-grid"  # the agent grid's container
TEAM_HANDLED = "wb-team-handled"
AGENT_GRID = "wb-agent-grid"
MANAGER = "wb-manager"  # the manager page's live part: header and queue table
QUEUE_TABLE = "wb-queue-table"
ROW = "wb-row-"  # + a queue id, or "centre": a row of the manager's table
ALERT_LOG = "wb-alert-log"
DOWNLOAD = "wb-download"  # the dcc.Download that hands over the CSV
DOWNLOAD_CSV = "wb-download-csv"  # its button

#: The ids the team and manager scripts write (``page.parts``).
FOR_PAGES = {
    "team_handled": TEAM_HANDLED,
    "agent_grid": AGENT_GRID,
    "queue_table": QUEUE_TABLE,
    "row": ROW,
    "alert_log": ALERT_LOG,
}
