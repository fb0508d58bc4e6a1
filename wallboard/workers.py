"""``wallboard web --workers N``: N web processes on one host sharing one port.

Each worker is a whole ``wallboard web`` of its own (its own uvicorn server, hub,
Redis reader and connection guard), started as a child process with
``--reuse-port``: it makes its own listening socket with ``SO_REUSEPORT`` and hands
it to uvicorn (``uvicorn.Server.run(sockets=[...])``), so the kernel spreads new
connections over the workers (by a hash of each connection's addresses and ports)
and a worker that dies takes only its own connections with it. There is no shared
accept socket and no master in the data path: the parent only keeps the workers
alive with :class:`wallboard.supervisor.Supervisor` (a dead worker is started again;
SIGTERM or SIGINT stops them all).

What is shared between workers goes through Redis, as between replicas on several
hosts: the snapshots each worker's hub reads itself, the cookie secret, the signed-out
sessions, the display keys and the sign-in failure limits. The connection caps
(``web.max_connections``, ``web.max_connections_per_client``) are each worker's own:
N workers hold up to N times as many.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence

from wallboard.redis_server import stop_with_parent
from wallboard.supervisor import ChildSpec, Supervisor

log = logging.getLogger("wallboard.workers")

#: ``--workers`` when not given on the command line.
ENV_WORKERS = "WALLBOARD_WEB_WORKERS"
MAX_WORKERS = 64
BACKLOG = 2048


def worker_count(given: int | None, env: Mapping[str, str] = os.environ) -> int:
    """How many workers: ``--workers``, else ``$WALLBOARD_WEB_WORKERS``, else 1; a bad value is refused."""
    if given is not None:
        value, where = str(given), "--workers"
    else:
        value, where = env.get(ENV_WORKERS, "").strip() or "1", ENV_WORKERS
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{where} must be a whole number of worker processes, got {value!r}") from None
    if not 1 <= n <= MAX_WORKERS:
        raise ValueError(f"{where} must be between 1 and {MAX_WORKERS}, got {n}")
    return n


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other processes may bind too (``SO_REUSEPORT``)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("this system has no SO_REUSEPORT: run one web process per port")
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(False)
    except OSError:
        sock.close()
        raise
    return sock


def worker_commands(n: int, base: Sequence[str]) -> dict[str, list[str]]:
    """The command line of each worker: ``base`` (``… wallboard web --config …``) with ``--reuse-port``."""
    return {f"web worker {i + 1}": [*base, "--workers", "1", "--reuse-port"] for i in range(n)}


def run_workers(commands: Mapping[str, Sequence[str]], env: Mapping[str, str]) -> int:
    """Start every worker, keep each alive until SIGINT/SIGTERM, then stop them all.

    Their metrics are summed (a scrape of the port lands on any one of them): each writes its
    values to a directory of its own run (``PROMETHEUS_MULTIPROC_DIR``), and a dead worker's
    live gauges (screens, connections) are dropped there."""
    from wallboard import metrics

    with tempfile.TemporaryDirectory(prefix="wallboard-metrics-") as directory:
        metrics.prepare_multiprocess_dir(directory)
        child_env = dict(env, **{metrics.MULTIPROC_ENV: directory})
        exited = functools.partial(metrics.process_exited, path=directory)
        specs = [
            ChildSpec(
                name,
                functools.partial(subprocess.Popen, list(cmd), env=child_env, preexec_fn=stop_with_parent),
                on_exit=exited,
            )
            for name, cmd in commands.items()
        ]
        Supervisor(specs).run(on_started=lambda: log.info("%d web workers started", len(specs)))
    return 0
