"""Retrying and stopping: the capped, jittered backoff every reconnect loop waits, and the
check a retry loop makes so that it never retries while its task is being cancelled."""

from __future__ import annotations

import asyncio
import random


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Capped exponential backoff with full jitter."""
    return float(random.uniform(0, min(cap, base * 2 ** min(attempt, 16))))


def being_cancelled() -> bool:
    """True while the current task is being cancelled.

    A client library may swallow the CancelledError thrown into one of its awaits or
    turn it into a connection error (redis-py's timed sends do on Python 3.11); a
    retry loop that then retries would never let the task stop.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
