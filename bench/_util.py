"""Small helpers shared by the benchmark scripts (which put the checkout on ``sys.path`` first)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from tests.helpers import free_port

__all__ = ["cpu_seconds", "free_port", "rss_mb", "run_fast"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    import os

    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run a load generator on uvloop when it is installed (the measuring tool should cost little)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)
