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
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis
from websockets.sync.client import connect as ws_connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import stack as harness

KINDS = ("aggregator", "web", "collector", "redis")
TIMEOUT_S = 120.0


class Stack(harness.Stack):
    """`wallboard run` on the demo config, in a directory of its own."""

    def latest(self) -> dict[str, Any] | None:
        """The newest snapshot in Redis, or None while it cannot be read."""
        try:
            return super().latest()
        except (OSError, ValueError, redis.RedisError):
            return None


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
        return bool((sources.get("simulador") or {}).get("heartbeat_at", 0) > killed_at)

    def fresh_snapshot() -> bool:
        snap = stack.latest()
        return (
            snap is not None
            and snap["seq"] > seq0
            and harness.iso_ts(snap["generated_at"]) > killed_at
            and beat_after_kill(snap["sources"])
        )

    def healthy() -> bool:
        status, body = stack.healthz(timeout=2)
        return status == 200 and (body.get("snapshot_seq") or -1) > seq0 and beat_after_kill(body["sources"])

    def screen() -> bool:
        try:
            with ws_connect(f"ws://127.0.0.1:{stack.port}/ws", open_timeout=2, close_timeout=1) as ws:
                ws.send(json.dumps({"subscribe": {"view": "wall", "screens": ["sala"]}}))
                end = time.time() + 3
                while time.time() < end:
                    msg = json.loads(ws.recv(timeout=max(0.05, end - time.time())))
                    if msg.get("generated_at") and harness.iso_ts(msg["generated_at"]) > killed_at:
                        return True
        except Exception:  # refused, reset, closed while the web process restarts: try again
            return False
        return False

    def run(name: str, fn: Any) -> None:
        at = _poll(fn, killed_at + TIMEOUT_S)
        results[name] = None if at is None else at - killed_at

    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    threads = [
        threading.Thread(target=run, args=(n, f))
        for n, f in (("snapshot", fresh_snapshot), ("healthz", healthy), ("screen", screen))
    ]
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
        stack.start("run")
        try:
            if _poll(lambda: stack.healthz(timeout=2)[0] == 200, time.time() + TIMEOUT_S) is None:
                raise SystemExit("the wallboard did not become healthy")
            times: dict[str, list[dict[str, float | None]]] = {k: [] for k in KINDS}
            for round_ in range(args.rounds):
                for kind in KINDS:
                    kids = stack.children()
                    pid, started = kids[kind]
                    wait = started + args.healthy_s - harness.uptime()
                    if wait > 0:
                        time.sleep(wait)
                    r = measure(stack, kind, pid)
                    times[kind].append(r)
                    print(
                        f"round {round_ + 1} {kind:<10} "
                        + "  ".join(f"{n} {'—' if v is None else f'{v:.2f} s'}" for n, v in r.items()),
                        flush=True,
                    )
                    _poll(lambda: set(stack.children()) == set(KINDS), time.time() + TIMEOUT_S)
        finally:
            stack.close()
            log = stack.output("run")
    deaths = sum("was killed by SIGKILL" in line for line in log.splitlines())
    print(f"\nkills logged by the supervisor: {deaths}; Tracebacks in the log: {log.count('Traceback')}")
    print(
        "\n| killed | kills | fresh snapshot in Redis: median / max | /healthz 200: median / max | "
        "new /ws screen gets a fresh snapshot: median / max |"
    )
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
