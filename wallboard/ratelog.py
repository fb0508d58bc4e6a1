"""Log lines about bad input, at most one per reason per interval.

A client that sends garbage in a loop must not fill the log: the first time a
reason is seen it is logged, then nothing for that reason until the interval
has passed, when one line says how many were left out meanwhile. Every
occurrence is counted either way. Never a traceback: the caller says why in
words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedLog:
    """At most one warning per reason per ``interval_s``, with the count of those left out."""

    def __init__(
        self, logger: logging.Logger, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.counts: dict[str, int] = {}  # every occurrence, per reason
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, reason: str, detail: str = "") -> None:
        """Count ``reason``; log it unless it was logged less than ``interval_s`` ago.

        ``reason`` is a short fixed phrase (it keys the limit); ``detail`` is what
        varies. Neither may carry personal data or a client's address.
        """
        self.counts[reason] = self.counts.get(reason, 0) + 1
        now = self.clock()
        last = self._last.get(reason)
        if last is not None and now - last < self.interval_s:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return
        self._last[reason] = now
        left_out = self._suppressed.pop(reason, 0)
        more = f" ({left_out} more like it in the last {now - last:.0f} s not logged)" if left_out and last else ""
        self.logger.warning("%s%s%s", reason, f": {detail}" if detail else "", more)
