"""Bounded tracking maps: what a translator remembers per call cannot grow without end.

A source whose outcomes never arrive (events lost, a dialplan that never lets
a caller leave a queue) would otherwise grow the map for as long as the
collector runs; past the limit the oldest tenth is forgotten, in one go, so
the cost is paid rarely.
"""

from __future__ import annotations

from typing import TypeVar

from wallboard.collectors.common.limits import MAX_TRACKED

K = TypeVar("K")
V = TypeVar("V")


def remember(mapping: dict[K, V], key: K, value: V, limit: int = MAX_TRACKED) -> None:
    """Set ``mapping[key]``, first forgetting the oldest tenth of the entries if the map is full."""
    if len(mapping) >= limit:
        for old in list(mapping)[: limit // 10]:
            del mapping[old]
    mapping[key] = value
