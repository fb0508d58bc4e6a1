"""The metrics' cost on the hub's hot path: one fan-out to N screens, with and without the metrics.

    .venv/bin/python bench/metrics.py                 # 10 000 screens, 200 snapshots each way, alternated
    .venv/bin/python bench/metrics.py --screens 1000 --rounds 500

The hub's publish() to N in-memory screens (wall views of one screen, every one ready), timed
per snapshot; "without" replaces the two metric calls a broadcast makes (the snapshot time and
the counters carried over, :class:`wallboard.metrics.HubCounts`) by nothing. Rounds alternate
the two variants so that drift on a noisy machine lands on both. Also times one scrape
(:func:`wallboard.metrics.exposition`) with those screens connected.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wallboard import metrics
from wallboard.hub import Hub
from wallboard.push import Message
from wallboard.views import Selector


class Sink:
    on_ready: Any = None

    def ready(self) -> bool:
        return True

    def write(self, message: Message) -> None:
        pass

    def close(self) -> None:
        pass


def snapshot(seq: int) -> dict[str, Any]:
    return {"seq": seq, "generated_at": "x", "now": time.time(), "screens": {"sala": {"waiting": seq}}, "queues": {}}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screens", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    hub = Hub(None, heartbeat_s=3600)  # type: ignore[arg-type]  # (never run: publish() only)
    for _ in range(args.screens):
        hub.subscribe(Selector("wall", ("sala",)), Sink())
    real_flush, real_stamp = metrics.HubCounts.flush, metrics.hub_snapshot
    times: dict[str, list[float]] = {"with": [], "without": []}
    for i in range(args.rounds * 2):
        variant = "with" if i % 2 == 0 else "without"
        if variant == "without":
            metrics.HubCounts.flush = lambda self, *a: None  # type: ignore[method-assign]
            metrics.hub_snapshot = lambda now: None
        seq = i + 1
        started = time.perf_counter()
        await hub.publish(snapshot(seq))
        times[variant].append(time.perf_counter() - started)
        metrics.HubCounts.flush, metrics.hub_snapshot = real_flush, real_stamp  # type: ignore[method-assign]
    for variant, values in times.items():
        print(
            f"{variant:>8} metrics: fan-out to {args.screens} screens "
            f"median {statistics.median(values) * 1000:.3f} ms, "
            f"p90 {statistics.quantiles(values, n=10)[-1] * 1000:.3f} ms ({len(values)} snapshots)"
        )
    diff = statistics.median(times["with"]) - statistics.median(times["without"])
    print(f"difference of the medians: {diff * 1e6:+.1f} µs per snapshot")
    started = time.perf_counter()
    body = metrics.exposition()
    print(f"one scrape: {(time.perf_counter() - started) * 1000:.2f} ms, {len(body)} bytes")


if __name__ == "__main__":
    asyncio.run(main())
