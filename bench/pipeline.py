"""Throughput of the backbone: fold, report, collector → Redis → aggregator, Redis memory.

    .venv/bin/python bench/pipeline.py [--events 200000] [--report-lines 1000000] [--repeat 3]

Prints a table and writes bench/results/pipeline.json. Each figure is the
median of --repeat runs in this one invocation. Everything runs on a real Redis
server started from the embedded binary (not persisted), on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from queue_log_writer import write as write_queue_log

from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import Event
from wallboard.fold import apply
from wallboard.fold_settings import FoldSettings
from wallboard.redis_server import EmbeddedRedis
from wallboard.report import build_report, read_lines
from wallboard.state import CentreState
from wallboard.streams import Streams, connect

# The simulated events (200 000 span about 4.7 days) end before now, within the week the
# aggregator is told to keep (events.retain_days), so it admits them all.
START = time.time() - 6 * 86_400.0
RETAIN_DAYS = 7
CONFIG = load_config(ROOT / "config.yaml", env={})


def simulated(n: int, seed: int = 11) -> list[Event]:
    sim = Simulation(CONFIG, Options(seed=seed, default_calls_per_hour=150, calls_per_hour={}), START)
    out: list[Event] = []
    for e in sim.events():
        out.append(e)
        if len(out) == n:
            return out
    return out


def bench_fold(events: list[Event]) -> float:
    settings = FoldSettings.from_config(CONFIG)
    state = CentreState()
    t0 = time.perf_counter()
    for e in events:
        apply(state, settings, e)
    return len(events) / (time.perf_counter() - t0)


def bench_report(path: Path) -> float:
    t0 = time.perf_counter()
    _, stats = build_report(read_lines(path, False), CONFIG)
    return stats.lines / (time.perf_counter() - t0)


async def bench_pipeline(url: str, events: list[Event], tmp: Path, run: int, backlog: bool = False) -> dict[str, float]:
    """Append events as a collector does while `wallboard aggregate` consumes them in its own process.

    With ``backlog`` the events are all on the stream before the aggregator starts:
    that measures the aggregator alone (reading, decoding, folding, checkpointing).
    """
    prefix = f"bench{run}{'b' if backlog else ''}:"
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["redis"] = {"url": url, "prefix": prefix, "stream_maxlen": 5_000_000}
    raw["collectors"] = []
    raw["events"] = {"retain_days": RETAIN_DAYS}
    cfg = tmp / f"pipeline{run}.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True))
    client = connect(url)
    streams = Streams(client, prefix, 5_000_000)
    await streams.ensure_group()
    last = ""
    if backlog:
        for i in range(0, len(events), 2_000):
            last = (await streams.append(events[i : i + 2_000]))[-1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallboard", "aggregate", "--config", str(cfg), "--log-level", "WARNING"]
    )
    try:
        await asyncio.sleep(1.0)  # let it start (and, without a backlog, block on the empty stream)
        t0 = time.perf_counter()
        if not backlog:
            for i in range(0, len(events), 2_000):
                last = (await streams.append(events[i : i + 2_000]))[-1]
        appended = time.perf_counter() - t0
        # Entries are acknowledged only with the checkpoint that holds them: nothing pending
        # and the last one delivered means it is saved. (Polling the checkpoint itself, ~1 MB
        # of JSON to fetch and parse every 10 ms, took a core from the processes measured.)
        while True:
            info = await streams.group_info()
            if info["pending"] == 0 and info["last_delivered_id"] == last:
                break
            await asyncio.sleep(0.01)
        total = time.perf_counter() - t0
        checkpoint = await streams.load_checkpoint()
        assert checkpoint is not None and checkpoint["last_id"] == last, "acknowledged without the checkpoint"
    finally:
        proc.terminate()
        proc.wait(30)
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    # The last checkpoint lands up to 1 s (its period) after the last event is folded.
    return {"append_events_per_s": len(events) / appended, "end_to_end_events_per_s": len(events) / total}


async def bench_memory(url: str, events: list[Event], target: int = 1_000_000) -> dict[str, float]:
    """Bytes of stream memory per event with approximate MAXLEN trimming at 1M entries."""
    client = connect(url)
    streams = Streams(client, "mem:", maxlen=target)
    try:
        appended = 0
        while appended < target:
            batch = events[: min(len(events), target - appended)]
            for i in range(0, len(batch), 5_000):
                await streams.append(batch[i : i + 5_000])
            appended += len(batch)
        length = await client.xlen(streams.events_key)
        used = await client.memory_usage(streams.events_key, samples=0)
        return {"entries": length, "bytes": used, "mb_per_million_events": used / length * 1e6 / 2**20}
    finally:
        await client.delete(streams.events_key)
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--report-lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    t0 = time.perf_counter()
    events = simulated(args.events)
    results["simulator_events_per_s"] = len(events) / (time.perf_counter() - t0)
    results["fold_events_per_s"] = statistics.median(bench_fold(events) for _ in range(args.repeat))

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        log = tmp / "queue_log"
        write_queue_log(log, args.report_lines, CONFIG, seed=1, calls_per_hour=90.0)
        results["report_lines_per_s"] = statistics.median(bench_report(log) for _ in range(args.repeat))
        server = EmbeddedRedis(tmp / "redis", persist=False)
        url = server.start()
        try:
            runs = [asyncio.run(bench_pipeline(url, events, tmp, i)) for i in range(args.repeat)]
            results["pipeline_append_events_per_s"] = statistics.median(r["append_events_per_s"] for r in runs)
            results["pipeline_end_to_end_events_per_s"] = statistics.median(r["end_to_end_events_per_s"] for r in runs)
            alone = [asyncio.run(bench_pipeline(url, events, tmp, i, backlog=True)) for i in range(args.repeat)]
            results["aggregator_backlog_events_per_s"] = statistics.median(r["end_to_end_events_per_s"] for r in alone)
            results["redis_stream_memory"] = asyncio.run(bench_memory(url, events))
        finally:
            server.stop()

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=2))
    mem = results["redis_stream_memory"]
    print(f"{'measure':<44} {'median of ' + str(args.repeat):>16}")
    print(f"{'simulator (events/s, one run)':<44} {results['simulator_events_per_s']:>16,.0f}")
    print(f"{'fold, pure engine (events/s)':<44} {results['fold_events_per_s']:>16,.0f}")
    print(f"{'report, queue_log (lines/s)':<44} {results['report_lines_per_s']:>16,.0f}")
    print(f"{'pipeline: collector XADD (events/s)':<44} {results['pipeline_append_events_per_s']:>16,.0f}")
    print(f"{'pipeline: append → checkpointed (events/s)':<44} {results['pipeline_end_to_end_events_per_s']:>16,.0f}")
    print(f"{'aggregator alone, from a backlog (events/s)':<44} {results['aggregator_backlog_events_per_s']:>16,.0f}")
    print(
        f"{'Redis stream memory (MB per 1M events)':<44} {mem['mb_per_million_events']:>16,.1f}"
        f"   ({mem['entries']:,} entries kept at MAXLEN ~1M)"
    )
    print(f"written to {out / 'pipeline.json'}")


if __name__ == "__main__":
    main()
