"""The limits every TCP source checks its input against.

The longest text and duration an event may carry are :data:`wallboard.wire.MAX_TEXT`
and :data:`wallboard.wire.MAX_DURATION_S`; these are the ones of the link itself
and of what a translator remembers.
"""

from __future__ import annotations

from wallboard import wire

#: The longest line read off a link: a longer one is skipped and counted, never buffered whole.
MAX_LINE = 64 * 1024
#: The most calls (or call entries) a translator tracks; past it the oldest tenth is forgotten.
MAX_TRACKED = 100_000
#: The plausible range of an epoch time a source sends (the one events are checked against).
TS_MIN, TS_MAX = wire.TS_MIN, wire.TS_MAX
