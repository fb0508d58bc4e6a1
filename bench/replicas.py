"""Web replicas behind a real haproxy: kill -9 one mid-traffic, how long do screens stay stale?

    .venv/bin/python bench/replicas.py                      # 3 replicas, 300 screens, 3 kills
    .venv/bin/python bench/replicas.py --screens 600 --kills 5

A real Redis (embedded binary), ``wallboard aggregate`` (a snapshot a second as the clock
moves) and three ``wallboard web`` processes on loopback, each its own port, behind Debian's
haproxy (``/usr/sbin/haproxy``, the config written to a temporary directory: health check on
``/healthz`` every second, down after 2 failures, websocket tunnels kept for an hour, a
refused connection sent to another server). Screens are :class:`wsclient.PageScreen`: they
reconnect as the page does. For each kill: the replica holding the most screens is killed
with SIGKILL and started again; each of its screens' stale time is the gap between the last
snapshot it showed before the kill and the first after; the distribution over every kill is
printed (median, p99, max), with the screens of the other replicas for comparison.

``tests/test_replicas.py`` uses the same harness (:class:`Replicas`) and asserts the bound only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from wsclient import PageScreen

from tests import stack as harness
from tests.helpers import eventually, free_port, listening

HAPROXY = "/usr/sbin/haproxy"
HEARTBEAT_S = 1
SUBSCRIBE = json.dumps({"subscribe": {"view": "wall", "screens": ["sala"]}}).encode()
#: A screen whose replica died shows fresh snapshots again within this: its socket closes at once
#: (haproxy closes the client side when the server side goes), its first retry comes within
#: 0.5 s, then 1 s, 2 s, 4 s (the page's backoff); haproxy sends a refused connection to another
#: server at once (redispatch) and marks the dead one down within 2 s (2 checks 1 s apart).
RECOVERY_S = 10.0

HAPROXY_CONFIG = """\
global
    maxconn 8000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout client-fin 5s
    timeout http-request 10s
    option redispatch
    retries 3
frontend screens
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}
"""


def haproxy_config(port: int, backends: list[int]) -> str:
    servers = "\n".join(f"    server web{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(backends))
    return HAPROXY_CONFIG.format(port=port, servers=servers)


class Replicas:
    """Redis (given), the aggregator, ``n`` web processes and haproxy in front, all real processes."""

    def __init__(self, tmp: Path, redis_url: str, prefix: str, n: int = 3) -> None:
        def adjust(raw: dict[str, Any]) -> None:
            raw["collectors"] = []
            raw["web"].update(heartbeat_s=HEARTBEAT_S, max_connections_per_client=100_000)

        self.stack = harness.Stack(tmp, redis_url=redis_url, prefix=prefix, adjust=adjust, log_level="WARNING")
        self.ports = [free_port() for _ in range(n)]
        self.port = free_port()
        self.webs: dict[int, subprocess.Popen[bytes]] = {}
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.dir = tmp

    def start_web(self, i: int) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "wallboard", "web", "--config", str(self.stack.config)]
        cmd += ["--log-level", "WARNING", "--port", str(self.ports[i])]
        with (self.dir / f"web{i + 1}.log").open("ab") as log:
            self.webs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=harness.clean_env())
        return self.webs[i]

    def __enter__(self) -> Replicas:
        if not Path(HAPROXY).exists():
            raise RuntimeError(f"no haproxy at {HAPROXY}: install Debian's (apt-get install haproxy)")
        try:
            self.stack.start("aggregate")
            for i in range(len(self.ports)):
                self.start_web(i)
            cfg = self.dir / "haproxy.cfg"
            cfg.write_text(haproxy_config(self.port, self.ports))
            check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
            with (self.dir / "haproxy.log").open("ab") as log:
                self.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
            for p in self.ports:
                eventually(lambda p=p: self.healthy(p), 60, f"the replica on {p} healthy", poll=0.2)
            eventually(lambda: listening(self.port), 30, "haproxy listening")
        except BaseException:
            self.close()
            raise
        return self

    def healthy(self, port: int) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def kill(self, i: int) -> None:
        proc = self.webs[i]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def screens(self, n: int) -> list[PageScreen]:
        return [PageScreen(f"ws://127.0.0.1:{self.port}/ws", SUBSCRIBE, heartbeat_s=HEARTBEAT_S) for _ in range(n)]

    def close(self) -> None:
        if self.haproxy is not None:
            harness.stop_process(self.haproxy, signal.SIGTERM, 15)
        for proc in self.webs.values():
            harness.stop_process(proc, signal.SIGTERM, 30)
        self.stack.close(signal.SIGTERM, forget=True)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def held_by(pid: int, port: int) -> int:
    """Established connections on loopback ``port`` that process ``pid`` holds (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                f = line.split()
                if f[3] == "01" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{f[9]}]")
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
        except OSError:
            pass
    return count


def stale_times(screens: list[PageScreen], killed_at: float) -> list[float]:
    """Each screen's gap between the last snapshot shown before ``killed_at`` and the first after."""
    out = []
    for s in screens:
        before = [t for t, _, _ in s.applied if t <= killed_at]
        after = [t for t, _, _ in s.applied if t > killed_at]
        if before and after:
            out.append(after[0] - before[-1])
        else:
            out.append(float("inf"))
    return out


def q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


async def one_kill(rep: Replicas, screens: list[PageScreen], victim: int) -> tuple[list[float], list[float]]:
    """Kill replica ``victim``; the stale times of the screens that were reconnected, and of the others."""
    opens = [s.opens for s in screens]
    await asyncio.sleep(2.0)  # (a steady flow before the kill)
    killed_at = time.time()
    rep.kill(victim)
    deadline = time.monotonic() + 60
    while not all(s.last_applied() > killed_at for s in screens) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stale = stale_times(screens, killed_at)
    moved = [x for x, s, o in zip(stale, screens, opens, strict=True) if s.opens > o]
    stayed = [x for x, s, o in zip(stale, screens, opens, strict=True) if s.opens == o]
    rep.start_web(victim)
    port = rep.ports[victim]
    while not rep.healthy(port):
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # haproxy's rise (2 checks) before the next kill
    return moved, stayed


async def bench(args: argparse.Namespace, redis_url: str, tmp: Path) -> None:
    with Replicas(tmp, redis_url, "replicas:", 3) as rep:
        screens = rep.screens(args.screens)
        tasks = [asyncio.create_task(s.run()) for s in screens]
        try:
            deadline = time.monotonic() + 120
            while not all(s.applied for s in screens):
                if time.monotonic() > deadline:
                    raise SystemExit("not every screen got a snapshot in 120 s")
                await asyncio.sleep(0.1)
            moved: list[float] = []
            stayed: list[float] = []
            for k in range(args.kills):
                held = {i: held_by(p.pid, rep.ports[i]) for i, p in rep.webs.items()}
                victim = max(held, key=lambda i: held[i])
                m, s = await one_kill(rep, screens, victim)
                print(
                    f"kill {k + 1}: web{victim + 1} held {held[victim]} of {sum(held.values())} screens; "
                    f"its screens stale max {max(m, default=float('nan')):.2f} s",
                    flush=True,
                )
                moved += m
                stayed += s
        finally:
            for s in screens:
                s.stop()
            await asyncio.gather(*tasks)
    for name, xs in (("screens of the killed replica", moved), ("screens of the others", stayed)):
        print(
            f"{name}: n={len(xs)}  median {q(xs, 0.5):.2f} s  p99 {q(xs, 0.99):.2f} s  "
            f"max {max(xs, default=float('nan')):.2f} s"
        )
    print(
        f"(stale time = gap between the last snapshot shown before the kill and the first after; "
        f"snapshots every 1 s; bound asserted by tests/test_replicas.py: {RECOVERY_S:g} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=300)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    from wallboard.redis_server import EmbeddedRedis

    with tempfile.TemporaryDirectory() as tmpdir:
        server = EmbeddedRedis(Path(tmpdir) / "redis", persist=False)
        url = server.start()
        try:
            asyncio.run(bench(args, url, Path(tmpdir) / "stack"))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
