"""Fan-out quick check: N screens on one web process, latency from an event's append to its arrival.

    .venv/bin/python bench/fanout.py --screens 100 500 1000 2000 --seconds 20

For each N: a real Redis (embedded binary), `wallboard aggregate` and `wallboard web`
as their own processes, and a load generator in another process opening N
WebSocket screens (wall view) and appending one event per second. The latency
of a message is its arrival time minus the append time of the newest event it
reflects (same machine clock). Prints p50/p95/p99/max, messages lost, bytes per
message (patch vs full view) and the processes' CPU; writes bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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

from _util import free_port  # noqa: E402

from wallboard.events import CallQueued, encode  # noqa: E402
from wallboard.messages import apply_patch  # noqa: E402
from wallboard.redis_server import EmbeddedRedis  # noqa: E402



def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def load(port: int, redis_url: str, prefix: str, screens: int, seconds: float) -> dict[str, Any]:
    """Run in the load-generator process: open the screens, append events, collect latencies."""
    import redis.asyncio as aioredis
    import websockets

    appended: dict[int, float] = {}  # waiting count after the k-th event -> append time
    latencies: list[float] = []
    sizes = {"full": [], "patch": []}  # type: dict[str, list[int]]
    counts = [0] * screens
    last_seq = [0] * screens
    out_of_order = 0

    async def screen(i: int, ready: asyncio.Event, done: asyncio.Event) -> None:
        nonlocal out_of_order
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None, open_timeout=60,
                                      ping_interval=None) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["bench"]}}))
            ready.set()
            view: dict[str, Any] = {}
            seen: set[int] = set()
            while not done.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(text)
                if msg["type"] == "hb":
                    continue
                if msg["seq"] <= last_seq[i]:
                    out_of_order += 1
                last_seq[i] = msg["seq"]
                sizes[msg["type"]].append(len(text))
                view = msg["view"] if msg["type"] == "full" else apply_patch(view, msg["set"], msg["del"])
                waiting = view.get("screens", {}).get("bench", {}).get("waiting")
                if waiting in appended and waiting not in seen:
                    seen.add(waiting)  # each event's first appearance on this screen
                    latencies.append(now - appended[waiting])
                    counts[i] += 1

    done = asyncio.Event()
    readies = [asyncio.Event() for _ in range(screens)]
    tasks = []
    for i in range(screens):
        tasks.append(asyncio.create_task(screen(i, readies[i], done)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    await asyncio.sleep(2.0)
    client = aioredis.from_url(redis_url)
    events = 0
    started = time.time()
    while time.time() - started < seconds:
        events += 1
        e = CallQueued(f"bench-{events}", "bench", time.time(), "ventas", f"b{events}")
        t = time.time()
        await client.xadd(prefix + "events", encode(e))  # type: ignore[arg-type]
        appended[events] = t
        await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
    expected = events * screens
    return {"latencies": latencies, "expected": expected, "received": len(latencies), "sizes": sizes,
            "out_of_order": out_of_order}


def run_one(screens: int, seconds: float, tmp: Path, redis_url: str) -> dict[str, Any]:
    prefix = f"fan{screens}:"
    port = free_port()
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["redis"] = {"url": redis_url, "prefix": prefix}
    raw["collectors"] = []
    raw["web"] = {"port": port}
    raw["screens"] = [{"id": "bench", "queues": ["ventas"]}]
    cfg = tmp / f"fan{screens}.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True))
    env = {k: v for k, v in os.environ.items() if k != "WALLBOARD_REDIS_URL"}
    agg = subprocess.Popen([sys.executable, "-m", "wallboard", "aggregate", "--config", str(cfg), "--log-level",
                            "WARNING"], env=env)
    web = subprocess.Popen([sys.executable, "-m", "wallboard", "web", "--config", str(cfg), "--log-level", "WARNING"],
                           env=env)
    try:
        time.sleep(4.0)
        web_cpu0, agg_cpu0 = cpu_seconds(web.pid), cpu_seconds(agg.pid)
        t0 = time.time()
        gen = subprocess.run([sys.executable, __file__, "--load", json.dumps(
            {"port": port, "redis_url": redis_url, "prefix": prefix, "screens": screens, "seconds": seconds})],
            capture_output=True, text=True, timeout=seconds + 300)
        wall = time.time() - t0
        if gen.returncode:
            raise RuntimeError(gen.stderr[-2000:])
        result = json.loads(gen.stdout.strip().splitlines()[-1])
        web_cpu, agg_cpu = cpu_seconds(web.pid) - web_cpu0, cpu_seconds(agg.pid) - agg_cpu0
        rss = rss_mb(web.pid)
    finally:
        for p in (web, agg):
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    lat = sorted(result["latencies"]) or [float("nan")]

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

    full, patch = result["sizes"]["full"], result["sizes"]["patch"]
    return {
        "screens": screens, "seconds": seconds, "messages_expected": result["expected"],
        "messages_received": result["received"], "lost": result["expected"] - result["received"],
        "out_of_order": result["out_of_order"],
        "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": lat[-1] * 1000,
        "bytes_full_median": statistics.median(full) if full else None,
        "bytes_patch_median": statistics.median(patch) if patch else None,
        "web_cpu_s": web_cpu, "aggregator_cpu_s": agg_cpu, "load_generator_wall_s": wall,
        "web_cpu_ms_per_delivered_message": web_cpu * 1000 / max(1, result["received"]),
        "web_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        spec = json.loads(args.load)
        print(json.dumps(asyncio.run(load(**spec))))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        server = EmbeddedRedis(Path(tmpdir) / "redis", persist=False)
        url = server.start()
        try:
            for n in args.screens:
                r = run_one(n, args.seconds, Path(tmpdir), url)
                results.append(r)
                print(f"{n:>6} screens: p50 {r['p50_ms']:6.0f} ms  p95 {r['p95_ms']:6.0f}  p99 {r['p99_ms']:6.0f}  "
                      f"max {r['max_ms']:6.0f}  lost {r['lost']}  out of order {r['out_of_order']}  "
                      f"bytes patch/full {r['bytes_patch_median']}/{r['bytes_full_median']}  "
                      f"web CPU {r['web_cpu_ms_per_delivered_message']:.3f} ms/msg  RSS {r['web_rss_mb']:.0f} MB",
                      flush=True)
        finally:
            server.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fanout.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
