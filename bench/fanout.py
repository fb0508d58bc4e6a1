"""Fan-out: N screens on one web process, ours against Dash polling and Dash WebSocket callbacks.

    .venv/bin/python bench/fanout.py                                    # ours, 100 → 10 000 screens, 60 s each
    .venv/bin/python bench/fanout.py --systems wallboard polling dash_ws --screens 100 500 1000 2000
    .venv/bin/python bench/fanout.py --tree /tmp/before --label before  # another checkout's web process
    .venv/bin/python bench/fanout.py --workers 1 2 --screens 5000 10000 15000 20000  # wallboard web --workers N

For each system and each N, in one invocation: a real Redis (embedded binary),
``wallboard aggregate`` and the system's web process, each its own process, on
a fresh key prefix; load generators in separate processes (2 from 1 000
screens up, each with its own source address) open N screens; once all are
connected the bench appends one ``call.queued`` event a second for
``--seconds`` (the wall view's "waiting" goes up by one each time, and the
aggregator also republishes every second as the clock moves).

Latency = arrival of the first message showing the event at a screen − the
event's append time (one machine clock). Lost = events a screen never showed.
CPU of every process is read from /proc over the measured window; RSS per
screen = (web RSS with N screens − before any) / N. Screens per core = N ÷
the web process's CPU share. Systems:

- ``wallboard``: ``wallboard web`` (hub + pre-encoded frames, changes only); with ``--workers``
  1 2 …, ``wallboard web --workers N`` for each N in the same run (system ``wallboard-wN``; its CPU
  and RSS are those of its workers, summed; the load generators share the same cores);
- ``polling``: Dash with ``dcc.Interval`` every ``--poll-s`` calling a server callback (bench/peers.py);
- ``dash_ws``: Dash 4's WebSocket callbacks, a persistent callback with ``set_props`` (bench/peers.py).

Prints a table, writes bench/results/fanout[-LABEL].json and, with matplotlib,
docs/img/bench-fanout*.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _util import cpu_seconds, rss_mb, run_fast

from tests import stack as harness
from tests.helpers import eventually
from wallboard.events import CallQueued
from wallboard.redis_server import EmbeddedRedis
from wallboard.wire import encode

SCREEN = "bench"
TARGET_P99_MS = 250.0
SUBSCRIBE = json.dumps({"subscribe": {"view": "wall", "screens": [SCREEN]}}).encode()


# ----------------------------------------------------------------- load generator (its own process)


async def load(system: str, port: int, screens: int, local_host: str, poll_s: float) -> None:
    """Open the screens, say "ready", record until stdin brings the append times, then report."""
    from wsclient import open_screen

    records: list[list[tuple[float, Any]]] = [[] for _ in range(screens)]
    response_times: list[tuple[float, float]] = []  # (when, response time)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    opened: list[Any] = []
    gate = asyncio.Semaphore(100)  # handshakes in flight

    if system.startswith("wallboard"):

        async def one(i: int) -> None:
            async with gate:
                opened.append(await open_screen("127.0.0.1", port, "/ws", SUBSCRIBE, local_host=local_host))

        await asyncio.gather(*(one(i) for i in range(screens)))
    else:
        import peers

        ready = asyncio.Semaphore(0)

        def recorder(i: int) -> Any:
            first = [True]

            def record(t: float, view: Any) -> None:
                if first[0]:
                    first[0] = False
                    ready.release()
                records[i].append((t, view))

            return record

        for i in range(screens):
            if system == "polling":
                coro = peers.polling_screen(
                    "127.0.0.1",
                    port,
                    recorder(i),
                    stop,
                    interval=poll_s,
                    local_host=local_host,
                    on_response_time=lambda rt: response_times.append((time.time(), rt)),
                )
            else:
                coro = peers.dash_ws_screen("127.0.0.1", port, recorder(i), stop, local_host=local_host)
            tasks.append(asyncio.create_task(coro))
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        deadline = time.monotonic() + 60 + screens / 100  # a saturated server never shows some screens anything
        for _ in range(screens):
            try:
                await asyncio.wait_for(ready.acquire(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                print("failed: not every screen got its first update", flush=True)
                return
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    told = json.loads(line)
    appended = {int(k): v for k, v in told["appended"].items()}
    w0, w1 = told["window"]
    stop.set()
    for s in opened:
        s.transport.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if system == "wallboard":
        result = _score_frames([s.frames for s in opened], appended, w0, w1)
    else:
        result = _score_views(records, appended, w0, w1)
        result["response_times"] = [rt for t, rt in response_times if w0 <= t <= w1]
    print(json.dumps(result), flush=True)


def _waiting(view: Any) -> Any:
    return ((view or {}).get("screens") or {}).get(SCREEN, {}).get("waiting")


def _reflect(waiting: Any, shown: int, t: float, appended: dict[int, float], latencies: list[float]) -> int:
    """Latencies of the events a screen shows for the first time at ``t``; the new high-water mark.

    The k-th event makes "waiting" k. A screen showing k reflects every event up
    to k, even if it never showed k - 1 (two events can fall between two polls).
    """
    if not isinstance(waiting, int) or waiting <= shown:
        return shown
    for k in range(shown + 1, waiting + 1):
        if k in appended:
            latencies.append(t - appended[k])
    return waiting


def _score_frames(
    per_screen: list[list[tuple[float, bytes]]], appended: dict[int, float], w0: float, w1: float
) -> dict[str, Any]:
    from wallboard.views import apply_patch

    latencies: list[float] = []
    sizes: dict[str, list[int]] = {"full": [], "patch": [], "hb": []}
    out_of_order = gaps = messages = 0
    for frames in per_screen:
        view: dict[str, Any] = {}
        seq = 0
        shown = 0
        for t, payload in frames:
            msg = json.loads(payload)
            sizes[msg["type"]].append(len(payload))
            if msg["type"] == "hb":
                continue
            messages += w0 <= t <= w1  # delivered inside the window the CPU was measured over
            if msg["seq"] <= seq:
                out_of_order += 1
                continue
            if msg["type"] == "full":
                view = msg["view"]
            elif msg["base"] != seq:
                gaps += 1  # the page would reconnect for a full view
                continue
            else:
                view = apply_patch(view, msg["set"], msg["del"])
            seq = msg["seq"]
            shown = _reflect(_waiting(view), shown, t, appended, latencies)
    return {"latencies": latencies, "sizes": sizes, "out_of_order": out_of_order, "gaps": gaps, "messages": messages}


def _score_views(
    per_screen: list[list[tuple[float, Any]]], appended: dict[int, float], w0: float, w1: float
) -> dict[str, Any]:
    latencies: list[float] = []
    messages = 0
    for views in per_screen:
        shown = 0
        for t, view in views:
            messages += w0 <= t <= w1
            shown = _reflect(_waiting(view), shown, t, appended, latencies)
    return {"latencies": latencies, "sizes": {}, "out_of_order": 0, "gaps": 0, "messages": messages}


# ----------------------------------------------------------------------------------------- harness


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


class Run:
    """One system at one N: its processes, the load generators, the measured window."""

    def __init__(self, system: str, screens: int, args: argparse.Namespace, redis_url: str, tmp: Path, n: int) -> None:
        self.system, self.screens, self.args = system, screens, args
        self.workers = int(system.split("-w", 1)[1]) if system.startswith("wallboard-w") else 1
        self.redis_url, self.prefix = redis_url, f"fan{n}:"
        self.tree = Path(args.tree).resolve()

        def adjust(raw: dict[str, Any]) -> None:
            raw["collectors"] = []
            # Thousands of screens from each load generator's one address: lift the per-client cap
            # and the connection limit (the web process still keeps a tenth of its open files spare).
            raw["web"].update(max_connections=1_000_000, max_connections_per_client=1_000_000)
            raw["screens"] = [{"id": SCREEN, "queues": ["ventas"]}]

        # the wallboard processes of --tree: its code first on the path
        self.stack = harness.Stack(
            tmp / f"fan{n}",
            redis_url=redis_url,
            prefix=self.prefix,
            adjust=adjust,
            env={"PYTHONPATH": str(self.tree), "WALLBOARD_WEB_WORKERS": str(self.workers)},
            log_level="WARNING",
        )
        self.port, self.config = self.stack.port, self.stack.config
        self.peer: subprocess.Popen[bytes] | None = None

    def start_servers(self) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
        """``wallboard aggregate`` and the system's web process (``wallboard web`` or a peer)."""
        agg = self.stack.start("aggregate")
        if self.system.startswith("wallboard"):
            return agg, self.stack.start("web")
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "peers.py"),
            "serve",
            self.system,
            "--redis-url",
            self.redis_url,
            "--prefix",
            self.prefix,
            "--port",
            str(self.port),
            "--screen",
            SCREEN,
            "--interval",
            str(self.args.poll_s),
        ]
        self.peer = subprocess.Popen(cmd, env=harness.clean_env({"PYTHONPATH": str(self.tree)}), cwd=self.tree)
        return agg, self.peer

    def stop_servers(self) -> None:
        """SIGTERM to the web process and the aggregator, each killed if not gone within 30 s."""
        if self.peer is not None:
            harness.stop_process(self.peer, signal.SIGTERM, 30)
        self.stack.close(signal.SIGTERM, timeout=30)

    def wait_up(self) -> None:
        """Until the web process serves its home page (every system has one; only ours has /healthz)."""

        def serving() -> bool:
            try:
                urllib.request.urlopen(self.stack.url("/"), timeout=2).read()
            except OSError:
                return False
            return True

        eventually(serving, 60, f"{self.system} serving /", poll=0.2)

    def web_pids(self, web: subprocess.Popen[bytes]) -> list[int]:
        """The web process, or with workers, each worker (their parent only supervises)."""
        if self.workers == 1:
            return [web.pid]
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == web.pid:
                kids.append(int(stat.parent.name))
        return [web.pid, *kids]

    def measure(self, redis_pid: int) -> dict[str, Any]:
        agg, web = self.start_servers()
        gens: list[subprocess.Popen[str]] = []
        try:
            self.wait_up()
            time.sleep(2.0)
            if self.workers > 1:
                eventually(lambda: len(self.web_pids(web)) == self.workers + 1, 60, "the workers", poll=0.2)
                time.sleep(3.0)  # (every worker listening)
            web_pids = self.web_pids(web)
            rss0 = sum(rss_mb(p) for p in web_pids)
            n_gens = 1 if self.screens < 1000 else 2
            shares = [self.screens // n_gens + (1 if i < self.screens % n_gens else 0) for i in range(n_gens)]
            for i, share in enumerate(shares):
                spec = {
                    "system": self.system,
                    "port": self.port,
                    "screens": share,
                    "local_host": f"127.0.0.{10 + i}",
                    "poll_s": self.args.poll_s,
                }
                gens.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--load", json.dumps({**spec, "system": "wallboard"})],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            t_connect = time.time()
            for g in gens:
                assert g.stdout is not None
                said = g.stdout.readline().strip()
                if said != "ready":
                    return {"system": self.system, "screens": self.screens, "failed": said or "load generator died"}
            connect_s = time.time() - t_connect
            time.sleep(3.0)
            pids = {"web": web_pids, "aggregator": [agg.pid], "redis": [redis_pid], "load": [g.pid for g in gens]}
            cpu0 = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
            w0 = time.time()
            appended = asyncio.run(self.append_events())
            time.sleep(3.0)
            cpu = {k: sum(cpu_seconds(p) for p in v) - cpu0[k] for k, v in pids.items()}
            w1 = time.time()
            window = w1 - w0
            rss = sum(rss_mb(p) for p in web_pids)
            health = None
            if self.system == "wallboard":  # (with workers, /healthz tells one worker's counts)
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as r:
                    health = json.loads(r.read())
            results = []
            for g in gens:
                assert g.stdin is not None and g.stdout is not None
                g.stdin.write(json.dumps({"appended": appended, "window": [w0, w1]}) + "\n")
                g.stdin.flush()
            for g in gens:
                assert g.stdout is not None
                results.append(json.loads(g.stdout.readline()))
                g.wait(60)
        finally:
            for g in gens:
                if g.poll() is None:
                    g.kill()
            self.stop_servers()
        return self.summarise(results, appended, cpu, window, rss0, rss, connect_s, health)

    async def append_events(self) -> dict[int, float]:
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.redis_url)
        appended: dict[int, float] = {}
        start = time.time()
        k = 0
        while time.time() - start < self.args.seconds:
            k += 1
            e = CallQueued(f"fan-{k}", "bench", time.time(), "ventas", f"c{k}")
            t = time.time()
            await client.xadd(self.prefix + "events", encode(e))  # type: ignore[arg-type]
            appended[k] = t
            await asyncio.sleep(max(0.0, start + k - time.time()))
        await client.aclose()
        return appended

    def summarise(
        self,
        results: list[dict[str, Any]],
        appended: dict[int, float],
        cpu: dict[str, float],
        window: float,
        rss0: float,
        rss: float,
        connect_s: float,
        health: Any,
    ) -> dict[str, Any]:
        lat = [x for r in results for x in r["latencies"]]
        expected = len(appended) * self.screens
        sizes: dict[str, list[int]] = {}
        for r in results:
            for k, v in r["sizes"].items():
                sizes.setdefault(k, []).extend(v)
        messages = sum(r["messages"] for r in results)
        web_share = cpu["web"] / window
        out = {
            "system": self.system,
            "screens": self.screens,
            "seconds": self.args.seconds,
            "events": len(appended),
            "expected": expected,
            "shown": len(lat),
            "lost": expected - len(lat),
            "out_of_order": sum(r["out_of_order"] for r in results),
            "gaps": sum(r["gaps"] for r in results),
            "p50_ms": q(lat, 0.50) * 1000,
            "p95_ms": q(lat, 0.95) * 1000,
            "p99_ms": q(lat, 0.99) * 1000,
            "max_ms": max(lat) * 1000 if lat else float("nan"),
            "messages": messages,
            "messages_per_s": messages / window,
            "cpu_s": cpu,
            "window_s": window,
            "web_cpu_share": web_share,
            "web_cpu_ms_per_message": cpu["web"] * 1000 / max(1, messages),
            "screens_per_core": self.screens / web_share if web_share > 0 else None,
            "web_rss_mb": rss,
            "web_rss_before_mb": rss0,
            "rss_kb_per_screen": (rss - rss0) * 1024 / self.screens,
            "connect_s": connect_s,
            "bytes_full_median": statistics.median(sizes["full"]) if sizes.get("full") else None,
            "bytes_patch_median": statistics.median(sizes["patch"]) if sizes.get("patch") else None,
        }
        if health is not None:
            out["server_messages_sent"] = health.get("messages_sent")
            out["server_messages_replaced"] = health.get("messages_replaced")
            out["server_bytes_sent"], out["server_bytes_if_full"] = health["bytes_sent"], health["bytes_if_full"]
        rts = [x for r in results for x in r.get("response_times", [])]
        if rts:
            out["requests_per_s"] = len(rts) / window
            out["web_cpu_ms_per_request"] = cpu["web"] * 1000 / len(rts)
            out["response_p50_ms"], out["response_p99_ms"] = q(rts, 0.5) * 1000, q(rts, 0.99) * 1000
        return out


def line(r: dict[str, Any]) -> str:
    patch = f"{r['bytes_patch_median']:.0f}/{r['bytes_full_median']:.0f}" if r.get("bytes_patch_median") else "-"
    extra = ""
    if "requests_per_s" in r:
        extra = f"  {r['requests_per_s']:.0f} req/s, response p99 {r['response_p99_ms']:.0f} ms"
    return (
        f"{r['system']:>12} {r['screens']:>6}  p50 {r['p50_ms']:7.0f}  p95 {r['p95_ms']:7.0f}  p99 {r['p99_ms']:7.0f}"
        f"  max {r['max_ms']:7.0f} ms  lost {r['lost']:>5}  disorder {r['out_of_order']}  "
        f"web {100 * r['web_cpu_share']:4.0f}% core, {r['web_cpu_ms_per_message']:.3f} ms/msg, "
        f"{r['rss_kb_per_screen']:.1f} KB/screen  load gens {100 * r['cpu_s']['load'] / r['window_s']:.0f}% "
        f"agg {100 * r['cpu_s']['aggregator'] / r['window_s']:.0f}%  bytes patch/full {patch}{extra}"
    )


def charts(results: list[dict[str, Any]], label: str) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: .venv/bin/pip install -e '.[bench]' for the charts)")
        return []
    suffix = f"-{label}" if label else ""
    paths = []
    order = ["wallboard", "dash_ws", "polling"]
    systems = sorted({r["system"] for r in results}, key=lambda s: (order.index(s) if s in order else 0, s))
    names = {
        "wallboard": "wallboard (push, pre-encoded patches)",
        "dash_ws": "Dash WebSocket callbacks",
        "polling": "Dash dcc.Interval polling",
    }
    fig, ax = plt.subplots(figsize=(7, 4))
    for s in systems:
        rs = [r for r in results if r["system"] == s]
        ax.plot([r["screens"] for r in rs], [r["p99_ms"] for r in rs], marker="o", label=names.get(s, s))
    ax.axhline(TARGET_P99_MS, color="grey", linestyle="--", linewidth=1, label="target p99 250 ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("screens on one web process")
    ax.set_ylabel("event → screen latency, p99 (ms)")
    ax.set_title("Fan-out on 2 cores (load generators on the same box)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = ROOT / "docs" / "img" / f"bench-fanout-p99{suffix}.png"
    fig.savefig(path, dpi=110)
    paths.append(str(path.relative_to(ROOT)))
    fig, ax = plt.subplots(figsize=(7, 4))
    for s in systems:
        rs = [r for r in results if r["system"] == s and r.get("screens_per_core")]
        ax.plot([r["screens"] for r in rs], [r["screens_per_core"] for r in rs], marker="o", label=names.get(s, s))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("screens on one web process")
    ax.set_ylabel("screens per core (N ÷ web CPU share)")
    ax.set_title("Efficiency: screens one core of web process serves")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = ROOT / "docs" / "img" / f"bench-fanout-per-core{suffix}.png"
    fig.savefig(path, dpi=110)
    paths.append(str(path.relative_to(ROOT)))
    return paths


def save(results: list[dict[str, Any]], args: argparse.Namespace, started: str) -> None:
    """Write the results so far (after every run: a long invocation keeps what it measured)."""
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"fanout-{args.label}.json" if args.label else "fanout.json"
    meta = {
        "started": started,
        "machine": f"{os.cpu_count()} cores, {platform.python_version()}, {platform.machine()}",
        "args": {k: v for k, v in vars(args).items() if k != "load"},
    }
    (out / name).write_text(json.dumps({"meta": meta, "results": results}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=["wallboard"], choices=["wallboard", "polling", "dash_ws"])
    parser.add_argument("--screens", type=int, nargs="+", default=[100, 1000, 2000, 5000, 10000])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll-s", type=float, default=1.0, help="dcc.Interval period of the polling peer")
    parser.add_argument(
        "--give-up-ms", type=float, default=2000.0, help="stop raising N for a system once its p99 passes this"
    )
    parser.add_argument("--tree", default=str(ROOT), help="checkout whose wallboard processes to run")
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--workers", type=int, nargs="+", help="instead of --systems: wallboard web --workers N for each N"
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers:
        args.systems = [f"wallboard-w{n}" for n in args.workers]
    if args.load:
        run_fast(load(**json.loads(args.load)))
        return
    results: list[dict[str, Any]] = []
    given_up: set[str] = set()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as tmpdir:
        server = EmbeddedRedis(Path(tmpdir) / "redis", persist=False)
        url = server.start()
        try:
            n = 0
            for screens in args.screens:
                for system in args.systems:  # alternated: every system at this N before the next N
                    if system in given_up:
                        continue
                    n += 1
                    assert server.process is not None
                    r = Run(system, screens, args, url, Path(tmpdir), n).measure(server.process.pid)
                    results.append(r)
                    if "failed" in r:
                        print(f"{system:>9} {screens:>6}  FAILED: {r['failed']}", flush=True)
                    else:
                        print(line(r), flush=True)
                    if "failed" in r or not r["p99_ms"] <= args.give_up_ms:
                        given_up.add(system)
                    save(results, args, started)
        finally:
            server.stop()
    for p in [] if args.workers else charts([r for r in results if "failed" not in r], args.label):
        print("chart:", p)


if __name__ == "__main__":
    main()
