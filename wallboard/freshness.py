"""Whether a source is fresh: one rule, for the screens and /healthz alike.

A collector writes its health (``connected``, ``heartbeat_at``, ``status``, …)
every few seconds. A source is stale when it has written none, when its last
heartbeat is older than the staleness setting, or when it reports its link
down; a stale source's status says so, whatever status it last wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Seconds without a heartbeat after which a source is stale (collectors beat every few seconds).
SOURCE_STALE_S = 10.0


def source_status(health: Mapping[str, Any] | None, now: float, stale_after_s: float) -> tuple[bool, str]:
    """``(stale, status)`` of a source at ``now`` from its health (None: it never wrote one).

    The status is ``missing`` without health, ``stale`` when stale, else the one the source reports.
    """
    if health is None:
        return True, "missing"
    beat = health.get("heartbeat_at")
    if beat is None or now - beat > stale_after_s or not health.get("connected", False):
        return True, "stale"
    return False, health.get("status", "ok")
