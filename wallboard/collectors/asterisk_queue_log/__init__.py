"""The Asterisk queue_log source: the file Asterisk's queues log to, followed as it is written.

:mod:`.lines` reads one line's fields, :mod:`.calls` remembers what each call's
lines said, :mod:`.translator` turns lines into events (pure: also what
``wallboard report`` uses on a whole file), :mod:`.tail` reads whole lines of
a file across rotations and :mod:`.follower` is the live collector's tail:
emission, the stored cursor, a restart, a rotation. :func:`run` is the
collector, configured by :class:`Options`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from wallboard.collectors.asterisk_queue_log.follower import Follower
from wallboard.collectors.asterisk_queue_log.lines import QueueLogStats
from wallboard.collectors.asterisk_queue_log.options import Options
from wallboard.collectors.asterisk_queue_log.translator import QueueLogTranslator

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

__all__ = ["Options", "QueueLogStats", "QueueLogTranslator", "run"]


async def run(ctx: CollectorContext[Options]) -> None:
    """Follow the queue_log file: resume from the stored position, emit new lines as they land."""
    options = ctx.options
    path = options.path if options.path.is_absolute() else ctx.config.base_dir / options.path
    follower = Follower(ctx, path)
    try:
        await follower.start()
        while True:
            await follower.poll()
            await ctx.heartbeat()
            await asyncio.sleep(options.poll_s)
    finally:
        follower.close()
