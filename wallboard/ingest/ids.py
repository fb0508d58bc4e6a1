"""A source's accepted ids, remembered so that a retried batch is taken once.

The ids live in Redis (:meth:`wallboard.streams.Streams.claim_ids`) as 16-byte
digests in a store bounded to ``dedup_max_ids``: memory is capped whatever the
rate, and when the store is full its oldest ids are forgotten early (logged).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

from wallboard.events import AnyEvent
from wallboard.ingest.options import Options
from wallboard.ratelog import RateLimitedLog
from wallboard.streams import Streams

_full = RateLimitedLog(logging.getLogger("wallboard.ingest"))


def _digest(event_id: str) -> bytes:
    # 16 bytes whatever the id's length: a collision between two of even 10^9 remembered ids
    # has a probability of about 10^-21.
    return hashlib.blake2b(event_id.encode(), digest_size=16).digest()


class IdStore:
    """The ids ``source`` had accepted in the last ``dedup_hours`` (none at all when that is 0)."""

    def __init__(self, streams: Streams, source: str, options: Options) -> None:
        self.streams = streams
        self.source = source
        self.name = f"ingest:{source}"
        self.hours = options.dedup_hours
        self.max_ids = options.dedup_max_ids

    async def claim(self, events: Sequence[AnyEvent]) -> list[AnyEvent]:
        """The events not taken before (one of each id), each id claimed at once: of two
        concurrent retries of a batch, only one gets its events."""
        unique: dict[str, AnyEvent] = {}
        for e in events:
            unique.setdefault(e.id, e)
        kept = list(unique.values())
        if self.hours <= 0:
            return kept
        fresh, early = await self.streams.claim_ids(
            self.name,
            [_digest(e.id) for e in kept],
            now=time.time(),
            horizon_s=self.hours * 3600,
            max_ids=self.max_ids,
        )
        if early:
            _full.warning(
                "ingest id store full",
                f"source {self.source!r} holds dedup_max_ids={self.max_ids}; "
                f"ids are remembered for less than dedup_hours={self.hours:g}",
            )
        return [kept[i] for i in fresh]

    async def release(self, events: Sequence[AnyEvent]) -> None:
        """Forget the ids of claimed events that were not taken after all (so a retry takes them)."""
        if self.hours > 0 and events:
            await self.streams.release_ids(self.name, [_digest(e.id) for e in events])
