"""`wallboard run` as a benchmark drives it: started in a directory of its own, its children found in /proc.

Shared by bench/recovery.py (kill -9 each kind of process, time the recovery) and bench/faults.py
(the fault campaign).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
import yaml
from _util import free_port

ROOT = Path(__file__).resolve().parent.parent


def iso_ts(value: str) -> float:
    """POSIX seconds of an ISO 8601 time such as a snapshot's ``generated_at``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def children(parent: int) -> dict[str, tuple[int, float]]:
    """The live processes ``parent`` started, by kind, with when each started (seconds since boot)."""
    out: dict[str, tuple[int, float]] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            words = [w.decode() for w in (stat.parent / "cmdline").read_bytes().split(b"\0") if w]
        except OSError:
            continue
        if int(fields[1]) != parent or fields[0] in ("Z", "X") or not words:
            continue
        started = int(fields[19]) / ticks
        if "redis-server" in words[0]:
            out["redis"] = (int(stat.parent.name), started)
        for kind, word in (("aggregator", "aggregate"), ("web", "web"), ("collector", "collect")):
            if word in words[1:4]:
                out[kind] = (int(stat.parent.name), started)
    return out


def uptime() -> float:
    """Seconds since boot (the clock of :func:`children`' start times)."""
    return float(Path("/proc/uptime").read_text().split()[0])


class RunStack:
    """`wallboard run` on the demo config (changed by ``adjust``), with an embedded Redis, in ``tmp``."""

    def __init__(self, tmp: Path, adjust: Callable[[dict[str, Any]], None] | None = None) -> None:
        raw = yaml.safe_load((ROOT / "config.yaml").read_text())
        raw["redis"] = {"url": "", "data_dir": str(tmp / "redis")}
        self.port = free_port()
        raw["web"] = {"port": self.port}
        if adjust is not None:
            adjust(raw)
        self.raw = raw
        self.config = tmp / "config.yaml"
        self.config.write_text(yaml.safe_dump(raw, allow_unicode=True))
        self.redis_dir = tmp / "redis"
        env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
        self.log_path = tmp / "run.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wallboard", "run", "--config", str(self.config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
        self._client: redis.Redis | None = None

    def redis(self) -> redis.Redis:
        """A client of the embedded Redis (it reconnects by itself after a restart: same port)."""
        if self._client is None:
            info = json.loads((self.redis_dir / "server.json").read_text())
            self._client = redis.Redis(port=int(info["port"]), socket_timeout=5, socket_connect_timeout=1)
        return self._client

    def latest(self) -> dict[str, Any] | None:
        """The newest snapshot in Redis (raises while Redis is down)."""
        entries: Any = self.redis().xrevrange("wb:snapshots", count=1)
        return dict(json.loads(entries[0][1][b"json"])) if entries else None

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """Status and body of ``/healthz`` (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def stop(self) -> None:
        """Ctrl-C, as a person would; killed if it does not stop within a minute."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._client is not None:
            self._client.close()
        self._log.close()
