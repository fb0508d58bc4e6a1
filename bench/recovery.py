"""How long `wallboard run` takes to recover from kill -9 of each of its processes.

    .venv/bin/python bench/recovery.py                 # 5 kills of each kind (about 4 minutes)
    .venv/bin/python bench/recovery.py --rounds 2      # a quick check

Starts ``wallboard run`` on the demo ``config.yaml`` (embedded Redis, the
simulator at real speed) in a temporary directory, waits until /healthz answers
200, then ``--rounds`` times kills with SIGKILL, one after the other, the
aggregator, the web process, the collector and the embedded Redis (found as the
children of the ``run`` process). After each kill it measures, from the kill
(``time.time()`` just before ``os.kill``), three things, polled every 20 ms
concurrently:

- **snapshot**: a snapshot in Redis with a higher ``seq`` than the last one
  before the kill, a ``generated_at`` later than the kill, and the collector's
  heartbeat in it later than the kill too (read with XREVRANGE straight from
  Redis): the aggregator publishes at least once a second whoever died, so the
  collector's own heartbeat (every second) is what shows that it is back;
- **healthz**: ``/healthz`` answering 200 about such a snapshot (its
  ``snapshot_seq`` higher than before the kill, the collector's heartbeat later
  than the kill). A kill the web process does not notice never stops it
  answering 200 (a source is stale only after 10 s): this is when it reports
  the recovered pipeline;
- **screen**: a newly opened ``/ws`` screen (the TV view of ``sala``, connecting
  again until the web process accepts it) receiving a message whose
  ``generated_at`` is later than the kill.

Before each kill the process to kill has been up for at least ``--healthy-s``
(31 s: past the supervisor's 30 s healthy period), so every restart is a first
one, as for a process that dies once in a while; a crash loop's growing delays
are the tests' business. Medians and maximum per kind are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
import yaml
from websockets.sync.client import connect as ws_connect

from _util import free_port

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("aggregator", "web", "collector", "redis")
TIMEOUT_S = 120.0


def _iso_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def children(parent: int) -> dict[str, tuple[int, float]]:
    """The processes ``parent`` started, by kind, with when each started (seconds since boot)."""
    out: dict[str, tuple[int, float]] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            words = [w.decode() for w in (stat.parent / "cmdline").read_bytes().split(b"\0") if w]
        except OSError:
            continue
        if int(fields[1]) != parent or fields[0] == "Z" or not words:
            continue
        started = int(fields[19]) / ticks
        if "redis-server" in words[0]:
            out["redis"] = (int(stat.parent.name), started)
        for kind, word in (("aggregator", "aggregate"), ("web", "web"), ("collector", "collect")):
            if word in words[1:4]:
                out[kind] = (int(stat.parent.name), started)
    return out


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


class Stack:
    """`wallboard run` on the demo config, in a directory of its own."""

    def __init__(self, tmp: Path) -> None:
        raw = yaml.safe_load((ROOT / "config.yaml").read_text())
        raw["redis"] = {"url": "", "data_dir": str(tmp / "redis")}
        self.port = free_port()
        raw["web"] = {"port": self.port}
        self.config = tmp / "config.yaml"
        self.config.write_text(yaml.safe_dump(raw, allow_unicode=True))
        self.redis_dir = tmp / "redis"
        env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
        self.log = (tmp / "run.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "wallboard", "run", "--config", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def redis(self) -> redis.Redis:
        info = json.loads((self.redis_dir / "server.json").read_text())
        return redis.Redis(port=int(info["port"]), socket_timeout=1, socket_connect_timeout=1)

    def latest(self) -> dict[str, Any] | None:
        """The newest snapshot in Redis."""
        try:
            client = self.redis()
            try:
                entries = client.xrevrange("wb:snapshots", count=1)
            finally:
                client.close()
        except (OSError, ValueError, redis.RedisError):
            return None
        if not entries:
            return None
        snap: dict[str, Any] = json.loads(entries[0][1][b"json"])
        return snap

    def healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        self.log.close()


def _poll(fn: Any, deadline: float) -> float | None:
    while time.time() < deadline:
        if fn():
            return time.time()
        time.sleep(0.02)
    return None


def measure(stack: Stack, kind: str, pid: int) -> dict[str, float | None]:
    """Kill ``pid`` and time the three recoveries."""
    before = stack.latest()
    seq0 = before["seq"] if before else -1
    results: dict[str, float | None] = {}

    def beat_after_kill(sources: dict[str, Any]) -> bool:
        return (sources.get("simulador") or {}).get("heartbeat_at", 0) > killed_at

    def fresh_snapshot() -> bool:
        snap = stack.latest()
        return (snap is not None and snap["seq"] > seq0 and _iso_ts(snap["generated_at"]) > killed_at
                and beat_after_kill(snap["sources"]))

    def healthy() -> bool:
        status, body = stack.healthz()
        return status == 200 and (body.get("snapshot_seq") or -1) > seq0 and beat_after_kill(body["sources"])

    def screen() -> bool:
        try:
            with ws_connect(f"ws://127.0.0.1:{stack.port}/ws", open_timeout=2, close_timeout=1) as ws:
                ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["sala"]}}))
                end = time.time() + 3
                while time.time() < end:
                    msg = json.loads(ws.recv(timeout=max(0.05, end - time.time())))
                    if msg.get("generated_at") and _iso_ts(msg["generated_at"]) > killed_at:
                        return True
        except Exception:  # refused, reset, closed while the web process restarts: try again
            return False
        return False

    def run(name: str, fn: Any) -> None:
        at = _poll(fn, killed_at + TIMEOUT_S)
        results[name] = None if at is None else at - killed_at

    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    threads = [threading.Thread(target=run, args=(n, f)) for n, f in
               (("snapshot", fresh_snapshot), ("healthz", healthy), ("screen", screen))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--healthy-s", type=float, default=31.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            if _poll(lambda: stack.healthz()[0] == 200, time.time() + TIMEOUT_S) is None:
                raise SystemExit("the wallboard did not become healthy")
            times: dict[str, list[dict[str, float | None]]] = {k: [] for k in KINDS}
            for round_ in range(args.rounds):
                for kind in KINDS:
                    kids = children(stack.proc.pid)
                    pid, started = kids[kind]
                    wait = started + args.healthy_s - uptime()
                    if wait > 0:
                        time.sleep(wait)
                    r = measure(stack, kind, pid)
                    times[kind].append(r)
                    print(f"round {round_ + 1} {kind:<10} " + "  ".join(
                        f"{n} {'—' if v is None else f'{v:.2f} s'}" for n, v in r.items()), flush=True)
                    _poll(lambda: set(children(stack.proc.pid)) == set(KINDS), time.time() + TIMEOUT_S)
        finally:
            stack.stop()
            log = Path(tmp, "run.log").read_text()
    deaths = sum("was killed by SIGKILL" in line for line in log.splitlines())
    print(f"\nkills logged by the supervisor: {deaths}; Tracebacks in the log: {log.count('Traceback')}")
    print("\n| killed | kills | fresh snapshot in Redis: median / max | /healthz 200: median / max | "
          "new /ws screen gets a fresh snapshot: median / max |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        cells = []
        for name in ("snapshot", "healthz", "screen"):
            values = [r[name] for r in times[kind]]
            got = [v for v in values if v is not None]
            missed = len(values) - len(got)
            cell = f"{statistics.median(got):.2f} s / {max(got):.2f} s" if got else "—"
            cells.append(cell + (f" ({missed} never)" if missed else ""))
        print(f"| {kind} | {len(times[kind])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
