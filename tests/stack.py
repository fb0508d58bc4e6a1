"""Real wallboard processes on a generated config: the one way tests, benchmarks and the screenshot
script start the product for real.

A :class:`Stack` writes a config (the demo ``config.yaml``, on a given Redis or the embedded one, a free
web port, changed by an ``adjust`` callback) into a directory of its own and starts its parts as
``python -m wallboard <command> --config <file>`` subprocesses, each logging to ``<command>.log`` there.
It stops or kills one part, waits until ``/healthz`` answers, finds the children of ``wallboard run``
in /proc, appends events to the stream and reads the newest snapshot straight from Redis.

Importable without pytest (the benchmarks put the checkout root on ``sys.path`` and import it as
``tests.stack``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
import yaml

from tests.helpers import eventually, free_port
from wallboard.clock import day_start_at
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import CallQueued, Event
from wallboard.redis_server import read_password
from wallboard.wire import encode

ROOT = Path(__file__).resolve().parent.parent
#: Options of Debian's Chromium for headless runs in a container (the browser tests, benchmarks, screenshots).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # (containers give /dev/shm 64 MB: Chromium's tabs would crash)
    "--autoplay-policy=no-user-gesture-required",  # what a kiosk TV runs with, for the alert chime
]


def chromium() -> str | None:
    """The Chromium to drive: $CHROMIUM, else Debian's on the PATH (never a downloaded browser)."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the variables that would point a child at another wallboard."""
    env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
    env.update(extra or {})
    return env


def cli(*args: str, timeout: float = 60, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one ``wallboard`` command to its end, its output captured as text (``env`` added to the clean one)."""
    return subprocess.run(
        [sys.executable, "-m", "wallboard", *args], capture_output=True, text=True, timeout=timeout, env=clean_env(env)
    )


def demo_config() -> dict[str, Any]:
    """The demo ``config.yaml`` of the checkout, as the data a test or benchmark changes."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text())
    return raw


def iso_ts(value: str) -> float:
    """POSIX seconds of an ISO 8601 time such as a snapshot's ``generated_at``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def uptime() -> float:
    """Seconds since boot (the clock of :func:`children`' start times)."""
    return float(Path("/proc/uptime").read_text().split()[0])


def start_time(pid: int) -> float:
    """When process ``pid`` started (seconds since boot, as :func:`children` gives it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def children(parent: int) -> dict[str, tuple[int, float]]:
    """The live processes ``parent`` (a ``wallboard run``) started, by kind (redis, aggregator, web,
    collector), each with its pid and when it started (seconds since boot)."""
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
        if "redis-server" in words[0]:  # its title: "…/redis-server 127.0.0.1:PORT"
            out["redis"] = (int(stat.parent.name), started)
        for kind, word in (("aggregator", "aggregate"), ("web", "web"), ("collector", "collect")):
            if word in words[1:4]:
                out[kind] = (int(stat.parent.name), started)
    return out


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = 60) -> int:
    """Signal a process and wait for it; killed if it has not stopped within ``timeout``. Its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Stack:
    """Wallboard processes started for real in ``tmp`` on one generated config.

    ``redis_url`` None: the embedded Redis, its data under ``tmp/redis`` (started by ``run`` or ``web``);
    else that server, with ``prefix`` when given. ``adjust`` changes the config's data before it is
    written; ``env`` adds variables (secrets the config names); ``log_level`` is passed to every part;
    ``open_access=False`` keeps sign-in and display keys on (the shipped default).
    """

    def __init__(
        self,
        tmp: Path,
        *,
        redis_url: str | None = None,
        prefix: str | None = None,
        adjust: Callable[[dict[str, Any]], None] | None = None,
        env: Mapping[str, str] | None = None,
        open_access: bool = True,
        log_level: str | None = None,
    ) -> None:
        raw = demo_config()
        tmp.mkdir(parents=True, exist_ok=True)
        self.dir = tmp
        self.redis_dir = tmp / "redis"
        if redis_url is None:
            raw["redis"] = {"url": "", "data_dir": str(self.redis_dir)}
        else:
            raw["redis"] = {"url": redis_url}
        if prefix is not None:
            raw["redis"]["prefix"] = prefix
        self.port = free_port()
        #: The monitor's token: /healthz in full whatever the sign-in (see healthz()).
        self.health_token = f"health-{os.getpid()}-{self.port}"
        raw["web"] = {"port": self.port, "health_token": self.health_token}
        # Open mode (no sign-in) unless asked: the tests of the screens' numbers need no account;
        # those of the doors ask for sign-in (tests/test_doors*.py).
        raw["auth"] = {"open": open_access, "users_file": str(tmp / "users.yaml")}
        if adjust is not None:
            adjust(raw)
        self.raw = raw
        self.prefix: str = raw["redis"].get("prefix", "wb:")
        self.config = tmp / "config.yaml"
        self.config.write_text(yaml.safe_dump(raw, allow_unicode=True))
        self.redis_url = redis_url
        self.extra_env = dict(env or {})
        self.log_level = log_level
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._client: redis.Redis | None = None

    # ------------------------------------------------------------------ processes

    def start(self, command: str = "run", *, name: str | None = None) -> subprocess.Popen[bytes]:
        """Start ``wallboard <command>`` (run, aggregate, web, collect) on this config; its output
        goes to ``<command>.log`` in the stack's directory (appended to across restarts).

        ``name``: a second part of one kind, known by that name here (its log ``<name>.log``); an
        aggregator so started is named so too (``$WALLBOARD_AGGREGATOR_NAME``)."""
        args = [sys.executable, "-m", "wallboard", command, "--config", str(self.config)]
        if self.log_level is not None:
            args += ["--log-level", self.log_level]
        key = name or command
        env = dict(self.extra_env, **({"WALLBOARD_AGGREGATOR_NAME": name} if name and command == "aggregate" else {}))
        with self.log_path(key).open("ab") as log:  # the child writes to its own copy
            self.procs[key] = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=clean_env(env), cwd=self.dir
            )
        return self.procs[key]

    @property
    def lease_ttl_s(self) -> float:
        """The aggregators' lease (``aggregator.lease_ttl_s``)."""
        return float(self.raw.get("aggregator", {}).get("lease_ttl_s", 5.0))

    def stop(self, command: str = "run", sig: int = signal.SIGINT, timeout: float = 60) -> int:
        """Signal one part (Ctrl-C by default, as a person would) and wait for it (see :func:`stop_process`)."""
        return stop_process(self.procs.pop(command), sig, timeout)

    def kill(self, command: str = "run") -> int:
        """kill -9 of one part (for ``run``: the supervisor itself, not its children)."""
        return self.stop(command, signal.SIGKILL)

    def pid(self, command: str = "run") -> int:
        return self.procs[command].pid

    def cli(self, command: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a one-shot ``wallboard <command>`` (ticker, report, snapshot…) on this config to its end."""
        return cli(command, "--config", str(self.config), *args, timeout=timeout, env=self.extra_env)

    def children(self) -> dict[str, tuple[int, float]]:
        """The live children of the ``run`` part, by kind (see :func:`children`)."""
        return children(self.pid("run"))

    def log_path(self, command: str = "run") -> Path:
        return self.dir / f"{command}.log"

    def output(self, command: str = "run") -> str:
        """What a part wrote so far (every start of it)."""
        path = self.log_path(command)
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self, sig: int = signal.SIGINT, *, timeout: float = 60, forget: bool = False) -> None:
        """Stop every part still running, the last started first, and let go of the Redis client;
        with ``forget``, delete every key under the stack's prefix first (a shared Redis left as found)."""
        for command in reversed(list(self.procs)):
            self.stop(command, sig, timeout)
        if forget:
            client = self.redis()
            keys = list(client.scan_iter(match=self.prefix + "*"))
            if keys:
                client.delete(*keys)
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ----------------------------------------------------------------------- web

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def healthz(self, timeout: float = 5) -> tuple[int, dict[str, Any]]:
        """Status and body of ``/healthz`` (a 503 has its body too: it says why); 0 when nothing answers."""
        request = urllib.request.Request(self.url("/healthz"), headers={"authorization": f"Bearer {self.health_token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, dict(json.loads(exc.read()))
            except ValueError:
                return exc.code, {}
        except (OSError, ValueError):
            return 0, {}

    def wait_healthy(self, timeout: float = 60, *, degraded: bool = False) -> dict[str, Any]:
        """Wait until ``/healthz`` answers 200 (any status with ``degraded``: the web process serves),
        and return its body."""

        def answered() -> tuple[int, dict[str, Any]] | None:
            status, body = self.healthz()
            return (status, body) if status == 200 or (degraded and status != 0) else None

        body: dict[str, Any] = eventually(answered, timeout, "/healthz answering")[1]
        return body

    # --------------------------------------------------------------------- Redis

    def redis(self) -> redis.Redis:
        """A client of the stack's Redis (it reconnects by itself after a restart of the embedded one:
        same port)."""
        if self._client is None:
            if self.redis_url is None:
                info = json.loads((self.redis_dir / "server.json").read_text())
                self._client = redis.Redis(
                    port=int(info["port"]),
                    password=read_password(self.redis_dir),
                    socket_timeout=5,
                    socket_connect_timeout=1,
                )
            else:
                self._client = redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=1)
        return self._client

    def append(self, events: Iterable[Event]) -> float:
        """Put events on the stream as a collector does (one round trip); when they were sent."""
        pipe = self.redis().pipeline(transaction=False)
        for e in events:
            pipe.xadd(self.prefix + "events", encode(e))  # type: ignore[arg-type]
        at = time.time()
        pipe.execute()
        return at

    def latest(self) -> dict[str, Any] | None:
        """The newest snapshot in Redis, None before the first (raises while Redis is down)."""
        entries: Any = self.redis().xrevrange(self.prefix + "snapshots", count=1)
        return dict(json.loads(entries[0][1][b"json"])) if entries else None


@contextlib.contextmanager
def watched_page(browser: Any, width: int = 1920, height: int = 1080, init_script: str = "") -> Iterator[Any]:
    """A page of its own browser context that keeps its console errors and uncaught exceptions
    in ``page.console_errors`` (tests assert it stays empty)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if init_script:
        context.add_init_script(init_script)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    try:
        yield pg
    finally:
        context.close()


class LiveDay(Stack):
    """Aggregator and web process on a real Redis, with today's simulated day so far on the stream
    (the browser tests' stack); ``queue_calls`` adds calls waiting, now."""

    def __init__(self, tmp: Path, redis_url: str, prefix: str, adjust: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(tmp, redis_url=redis_url, prefix=prefix, adjust=adjust, log_level="WARNING")
        self.wallboard = load_config(self.config)
        self.n = 0

    def queue_calls(self, queue: str, n: int = 1) -> float:
        now = time.time()
        calls: list[Event] = []
        for _ in range(n):
            self.n += 1
            calls.append(CallQueued(f"{self.prefix}{os.getpid()}-{self.n}", "test", now, queue, f"tc{self.n}"))
        return self.append(calls)

    @classmethod
    @contextlib.contextmanager
    def running(
        cls, tmp: Path, redis_url: str, prefix: str, adjust: Callable[[dict[str, Any]], None], seed: int
    ) -> Iterator[LiveDay]:
        """Today's simulated day (``seed``) appended, then ``aggregate`` and ``web`` started and healthy."""
        s = cls(tmp, redis_url, prefix, adjust)
        now = time.time()
        start = day_start_at(now, s.wallboard.zone, s.wallboard.day_start_time)
        s.append(Simulation(s.wallboard, Options(seed=seed), start, "simulador").advance(now))
        s.start("aggregate")
        s.start("web")
        try:
            s.wait_healthy()
            yield s
        finally:
            s.close(signal.SIGTERM, forget=True)
