"""How fast the real sources take data in: the live queue_log tail and the HTTP ingest API.

    .venv/bin/python bench/sources.py [--lines 200000] [--latency-samples 200] [--batches 200]

Prints a table and writes bench/results/sources.json. Each source runs as in
production, against a real Redis (an embedded one of its own):

- queue_log burst: the collector follows an empty file; a burst of N simulated
  lines is appended at once; lines/s until its stored position reaches the end.
- queue_log latency: single lines appended one at a time; seconds from the
  write to the event on the stream (the collector polls every 0.1 s).
- HTTP ingest: `wallboard collect` serving the API alone (its own process);
  this process posts batches of 500 events, then single events, one request
  at a time: events/s and the request's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import random
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

from bench._util import free_port
from bench.queue_log_writer import lines as queue_log_lines
from wallboard.collectors import configure
from wallboard.collectors.runtime import run_collector
from wallboard.config import load_config, parse_config
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect

TOKEN = "bench-token-0123456789abcdef"


async def bench_tail(url: str, tmp: Path, n_lines: int, samples: int) -> dict[str, Any]:
    demo = load_config(ROOT / "config.yaml", env={})
    log = tmp / "queue_log"
    log.write_text("")
    config = parse_config(
        {
            **demo.model_dump(exclude={"base_dir", "collectors", "redis"}),
            "redis": {"url": url, "prefix": "benchtail:"},
            "collectors": [{"kind": "asterisk_queue_log", "name": "pbx", "options": {"path": str(log)}}],
        },
        env={},
    )
    client = connect(url)
    streams = Streams(client, "benchtail:", maxlen=5_000_000)
    task = asyncio.create_task(run_collector(config, configure(config)[0], streams))
    try:
        while not (await streams.load_cursor("pbx")).get("position"):
            await asyncio.sleep(0.01)
        burst = "".join(line + "\n" for line in itertools.islice(queue_log_lines(demo, 3, 3000.0), n_lines))
        size = len(burst.encode())
        t0 = time.perf_counter()
        with open(log, "a", encoding="utf-8") as f:
            f.write(burst)
        while (await streams.load_cursor("pbx"))["position"]["offset"] < size:
            await asyncio.sleep(0.005)
        burst_s = time.perf_counter() - t0
        events = await client.xlen(streams.events_key)
        base_ts = int(time.time())
        latencies = []
        for i in range(samples):
            before = await client.xlen(streams.events_key)
            t0 = time.perf_counter()
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{base_ts}|lat.{i}|ventas|NONE|ENTERQUEUE||600100200|1\n")
            while await client.xlen(streams.events_key) == before:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(random.uniform(0.0, 0.25))  # appends at any phase of the poll
        latencies.sort()
        return {
            "lines": n_lines,
            "events": events,
            "burst_s": burst_s,
            "burst_lines_per_s": n_lines / burst_s,
            "latency_p50_s": statistics.median(latencies),
            "latency_p99_s": latencies[int(0.99 * (len(latencies) - 1))],
            "latency_max_s": latencies[-1],
        }
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


def bench_http(url: str, tmp: Path, batches: int) -> dict[str, Any]:
    port = free_port()
    path = tmp / "ingest.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "redis": {"url": url, "prefix": "benchhttp:"},
                "collectors": [
                    {
                        "kind": "http",
                        "name": "api",
                        "options": {"tokens": [TOKEN], "port": port, "rate_per_s": 1e9, "burst": 1_000_000},
                    }
                ],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "WALLBOARD_REDIS_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallboard", "collect", "--config", str(path), "--log-level", "WARNING"], env=env
    )
    conn: http.client.HTTPConnection | None = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        counter = itertools.count()
        now = time.time()

        def post(n: int) -> float:
            assert conn is not None
            body = json.dumps(
                {
                    "events": [
                        {
                            "kind": "call.answered",
                            "id": f"e{next(counter)}",
                            "ts": now,
                            "queue": "ventas",
                            "call_id": "c1",
                            "agent": "ana.rojas",
                            "wait_s": 12.0,
                        }
                        for _ in range(n)
                    ]
                }
            )
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/events", body, headers)
            r = conn.getresponse()
            data = r.read()
            elapsed = time.perf_counter() - t0
            assert r.status == 200 and json.loads(data)["accepted"] == n, data
            return elapsed

        post(10)  # warm up
        batch_times = [post(500) for _ in range(batches)]
        single_times = sorted(post(1) for _ in range(batches))
        return {
            "batch": 500,
            "batch_events_per_s": 500 * batches / sum(batch_times),
            "batch_round_trip_p50_s": statistics.median(batch_times),
            "single_requests_per_s": len(single_times) / sum(single_times),
            "single_round_trip_p50_s": statistics.median(single_times),
            "single_round_trip_p99_s": single_times[int(0.99 * (len(single_times) - 1))],
        }
    finally:
        if conn is not None:
            conn.close()
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        redis = EmbeddedRedis(tmp / "redis", persist=False)
        redis.start()
        try:
            results: dict[str, Any] = {
                "machine_cpus": os.cpu_count(),
                "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            }
            results["queue_log_tail"] = asyncio.run(bench_tail(redis.url, tmp, args.lines, args.latency_samples))
            results["http_ingest"] = bench_http(redis.url, tmp, args.batches)
        finally:
            redis.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "sources.json").write_text(json.dumps(results, indent=2))
    t, h = results["queue_log_tail"], results["http_ingest"]
    rows = [
        ("queue_log tail, burst (lines/s)", f"{t['burst_lines_per_s']:,.0f}"),
        (f"  {t['lines']:,} lines → events on the stream", f"{t['events']:,}"),
        (
            "queue_log tail, line → stream p50 / p99 (ms)",
            f"{t['latency_p50_s'] * 1000:.0f} / {t['latency_p99_s'] * 1000:.0f}",
        ),
        ("HTTP ingest, batches of 500 (events/s)", f"{h['batch_events_per_s']:,.0f}"),
        ("HTTP ingest, batch round trip p50 (ms)", f"{h['batch_round_trip_p50_s'] * 1000:.1f}"),
        ("HTTP ingest, single events (requests/s)", f"{h['single_requests_per_s']:,.0f}"),
        (
            "HTTP ingest, single round trip p50 / p99 (ms)",
            f"{h['single_round_trip_p50_s'] * 1000:.1f} / {h['single_round_trip_p99_s'] * 1000:.1f}",
        ),
    ]
    for label, value in rows:
        print(f"{label:<48} {value:>14}")


if __name__ == "__main__":
    main()
