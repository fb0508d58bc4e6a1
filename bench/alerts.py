"""What the alert log costs per snapshot: µs for ``crossings()`` on a busy demo day.

    .venv/bin/python bench/alerts.py

The demo config (5 queues and the centre, 7 watched figures each), 12 hours of a simulated
day at 300 calls an hour per queue folded into a state, one snapshot built from it. Then
``crossings()`` of that snapshot: with the figures in alert already held (a steady second:
no crossing), and with nothing held (every figure in alert a crossing); ``AlertLog.as_list()``;
and ``build_view`` of the same state for comparison. Medians of 9 runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wallboard.alerts import AlertLog, crossings
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import CentreState
from wallboard.wire import decode, encode

START = 1_773_097_200.0  # 2026-03-10 00:00 Europe/Madrid


def median_us(fn: Callable[[], object], n: int, runs: int = 9) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(out)


def main() -> None:
    config = load_config(ROOT / "config.yaml", env={})
    sim = Simulation(config, Options(seed=3, default_calls_per_hour=300, calls_per_hour={}), START)
    now = START + 12 * 3600
    events = list(sim.advance(now))
    settings = FoldSettings.from_config(config)
    state = CentreState()
    apply_all(state, settings, [decode(encode(e)) for e in events], now)
    view = build_view(state, config, settings, now)
    log = AlertLog()
    found = log.observe(view, config)
    held = dict(log.held)
    print(f"{len(events)} events folded; {len(found)} of 42 watched figures in alert")
    steady = median_us(lambda: crossings(view, config, held), 2000)
    fresh = median_us(lambda: crossings(view, config, {}), 2000)
    listed = median_us(log.as_list, 2000)
    build_ms = median_us(lambda: build_view(state, config, settings, now), 5) / 1000
    print(f"crossings(), figures held (a steady second): {steady:7.1f} µs")
    print(f"crossings(), nothing held (all crossings):   {fresh:7.1f} µs")
    print(f"AlertLog.as_list() of {len(log.entries)} entries:           {listed:7.1f} µs")
    print(f"build_view, for comparison:                 {build_ms:7.1f} ms")


if __name__ == "__main__":
    main()
