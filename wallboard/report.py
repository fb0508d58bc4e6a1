"""``wallboard report``: per-queue totals and per-interval rows from a queue_log file.

The lines go through the same translator and the same fold as live data, so a
report and the wallboard agree by construction. Intervals are those of the
outcome (answer, abandon, exit), in the configured timezone; intervals longer
than an hour tile each local day from ``day_start`` (a 1440-minute row is one
local day, 23 or 25 hours long on DST days).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from wallboard.clock import LocalIntervals
from wallboard.collectors.asterisk_queue_log import QueueLogStats, QueueLogTranslator
from wallboard.config import Config
from wallboard.counters import QueueCounters
from wallboard.events import EXIT_REASONS
from wallboard.fold import apply, cycle_collection_paused
from wallboard.fold_settings import FoldSettings
from wallboard.kpi import queue_kpis
from wallboard.state import CentreState

REPORT_KEYS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "other_exits",
    "answered_within_sl",
    "abandoned_within_sl",
    "asa_s",
    "avg_abandon_wait_s",
    "max_wait_s",
    "aht_s",
    "abandon_rate_pct",
    "service_level_pct",
)


def _row(c: QueueCounters) -> dict[str, Any]:
    k = queue_kpis(c)
    row = {key: k[key] for key in REPORT_KEYS}
    row["handled"] = k["handled"]
    row["transferred"] = k["transferred"]
    row["exits"] = {reason: c.exits.get(reason, 0) for reason in EXIT_REASONS}
    row["exits_within_sl"] = {reason: c.exits_within_sl.get(reason, 0) for reason in EXIT_REASONS}
    return row


def build_report(
    lines: Iterator[str], config: Config, interval_minutes: int = 15, source: str = "queue_log"
) -> tuple[dict[str, Any], QueueLogStats]:
    """Fold queue_log lines; return the report object and what the lines contained."""
    with cycle_collection_paused():
        return _build_report(lines, config, interval_minutes, source)


def _build_report(
    lines: Iterator[str], config: Config, interval_minutes: int, source: str
) -> tuple[dict[str, Any], QueueLogStats]:
    settings = FoldSettings.from_config(config, interval_minutes=interval_minutes, retain_s=None, live=False)
    # Daily (and multi-hour) rows start at the configured day start, not at midnight.
    settings = replace(settings, intervals=LocalIntervals(config.zone, interval_minutes * 60, config.day_start_time))
    translator = QueueLogTranslator(
        source, config.agent_aliases(), config.pause_reason_codes(), hash_ids=False, agent_events=False
    )
    state = CentreState()
    feed = translator.feed
    for lineno, line in enumerate(lines, 1):
        for event in feed(line, lineno):
            apply(state, settings, event)
    queues: dict[str, Any] = {}
    for qid in sorted(state.queues):
        buckets = state.queues[qid].buckets
        total = QueueCounters()
        for c in buckets.values():
            total.merge(c)
        intervals = []
        for start in sorted(buckets):
            c = buckets[start]
            if c.offered or c.handled:
                intervals.append({"start": settings.intervals.iso(start), **_row(c)})
        queues[qid] = {"total": _row(total), "intervals": intervals}
    return {"queues": queues}, translator.stats


def to_csv(report: dict[str, Any]) -> str:
    """One row per queue and interval (``total`` rows first), SL variants as columns."""
    out = io.StringIO()
    writer: Any = None
    for qid, q in report["queues"].items():
        for start, row in [("total", q["total"])] + [(i["start"], i) for i in q["intervals"]]:
            flat: dict[str, Any] = {"queue": qid, "interval_start": start}
            for key, value in row.items():
                if key == "start":
                    continue
                if isinstance(value, dict):
                    for sub, v in value.items():
                        flat[f"{key}.{sub}"] = v
                else:
                    flat[key] = value
            if writer is None:
                names = list(flat)
                writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", restval="")
                writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in flat.items()})
    return out.getvalue()


class _Progress:
    """A one-line progress bar on a terminal, by bytes read."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total, self.stream, self.last = max(total, 1), stream, 0.0

    def show(self, done: int, lines: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r[{bar:<30}] {frac:6.1%} {lines:>12,} lines")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * 62 + "\r")
        self.stream.flush()


def read_lines(path: Path, progress: bool) -> Iterator[str]:
    """Lines of a file (undecodable bytes replaced), with a progress bar if asked."""
    bar = _Progress(path.stat().st_size, sys.stderr) if progress else None
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        if bar is None:
            yield from fh
            return
        done = 0
        for n, line in enumerate(fh, 1):
            done += len(line)
            if not n & 0xFFFF:
                bar.show(done, n)
            yield line
        bar.close()


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(report)
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def describe_stats(stats: QueueLogStats, seconds: float) -> str:
    """A short summary for stderr: counts, rate, and the first bad lines (number and reason, never their text)."""
    rate = stats.lines / seconds if seconds > 0 else 0.0
    parts = [
        f"{stats.lines:,} lines ({stats.blank} blank, {stats.malformed} malformed), "
        f"{stats.events:,} events in {seconds:.2f} s ({rate:,.0f} lines/s)"
    ]
    if stats.ignored:
        parts.append(
            "opaque events kept out of the counts: " + ", ".join(f"{k}×{v}" for k, v in stats.ignored.most_common(8))
        )
    if stats.repeated:
        parts.append(
            "entries and outcomes logged again, counted once: "
            + ", ".join(f"{k}×{v}" for k, v in stats.repeated.most_common(8))
        )
    parts.extend(str(bad) for bad in stats.errors[:10])
    if stats.malformed > 10:
        parts.append(f"… {stats.malformed - 10} more malformed lines")
    return "\n".join(parts)
