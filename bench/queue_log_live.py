"""Speed of the live queue_log translator (the collector's, with agent events): lines per second.

    .venv/bin/python bench/queue_log_live.py [TREE] [--lines 300000]

Writes ``--lines`` lines of a simulated day with ``bench/queue_log_writer.py`` and
translates them with the ``QueueLogTranslator`` of the checkout ``TREE`` (this one
by default; another checkout, e.g. a worktree of an older commit, to compare), best
of three. ``wallboard report`` (no agent events) is measured by ``bench/pipeline.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree", nargs="?", default=str(ROOT))
    parser.add_argument("--lines", type=int, default=300_000)
    args = parser.parse_args()
    sys.path[:0] = [args.tree, str(Path(args.tree) / "bench")]  # (its writer puts its own checkout first)
    from queue_log_writer import write

    from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
    from wallboard.config import load_config

    config = load_config(Path(args.tree) / "config.yaml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        write(path, args.lines, config)
        lines = path.read_text().splitlines()
    best, events = float("inf"), 0
    for _ in range(3):
        tr = QueueLogTranslator("pbx", config.agent_aliases(), config.pause_reason_codes())
        t0 = time.perf_counter()
        events = sum(1 for _ in tr.translate(lines))
        best = min(best, time.perf_counter() - t0)
    print(f"{args.tree}: {len(lines):,} lines → {events:,} events, {len(lines) / best:,.0f} lines/s (best of 3)")


if __name__ == "__main__":
    main()
