"""``wallboard web --workers N``: N real web processes on one port, each kept alive.

Real processes throughout: a real Redis, ``wallboard aggregate`` (a snapshot a second) and ``wallboard web`` with
``$WALLBOARD_WEB_WORKERS=2`` (the parent supervises two workers, each binding the port with
SO_REUSEPORT). Which worker serves a screen is read from the kernel: the established
connections on the port, matched to the sockets each worker's process holds (/proc).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eventually, until
from tests.stack import Stack, cli, stop_process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from wsclient import PageScreen

HEARTBEAT_S = 1
SUBSCRIBE = json.dumps({"subscribe": {"view": "wall", "screens": ["sala"]}}).encode()
SCREENS = 40
#: A screen whose worker died shows fresh data again within this (its first retry comes within
#: 0.5 s, then 1, 2 s…; a new connection goes to a live worker at once): the product's promise.
RECOVERY_S = 10.0


def child_pids(parent: int) -> set[int]:
    """The live processes whose parent is ``parent``."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            out.add(int(stat.parent.name))
    return out


def established_on(port: int, state: str = "01") -> dict[int, int]:
    """Socket inode → remote port of every established TCP connection to local ``port`` (IPv4 and 6;
    ``state`` "0A": the listening sockets)."""
    out: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                f = line.split()
                local, remote, inode = f[1], f[2], int(f[9])
                if f[3] == state and int(local.rsplit(":", 1)[1], 16) == port:
                    out[inode] = int(remote.rsplit(":", 1)[1], 16)
    return out


def connections_by_process(pids: set[int], port: int, state: str = "01") -> dict[int, int]:
    """How many established (or, "0A", listening) sockets on ``port`` each process of ``pids`` holds."""
    inodes = established_on(port, state)
    counts = dict.fromkeys(pids, 0)
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                counts[pid] += 1
    return counts


@pytest.fixture
def workers(tmp_path: Path, redis_url: str, prefix: str) -> Iterator[Stack]:
    def adjust(raw: dict[str, Any]) -> None:
        raw["collectors"] = []  # (the aggregator publishes a snapshot every second as the clock moves)
        raw["web"].update(heartbeat_s=HEARTBEAT_S)

    stack = Stack(tmp_path, redis_url=redis_url, prefix=prefix, adjust=adjust, env={"WALLBOARD_WEB_WORKERS": "2"})
    try:
        stack.start("aggregate")
        stack.start("web")
        yield stack
    finally:
        stack.close(signal.SIGTERM, forget=True)


async def _screens(port: int) -> list[PageScreen]:
    return [PageScreen(f"ws://127.0.0.1:{port}/ws", SUBSCRIBE, heartbeat_s=HEARTBEAT_S) for _ in range(SCREENS)]


async def test_two_workers_share_the_port_and_a_killed_one_is_replaced(workers: Stack) -> None:
    parent = workers.pid("web")
    first = eventually(lambda: (c := child_pids(parent)) and len(c) == 2 and c, 60, "two web workers")
    eventually(lambda: all(connections_by_process(first, workers.port, "0A").values()), 60, "both workers listen")
    screens = await _screens(workers.port)
    tasks = [asyncio.create_task(s.run()) for s in screens]
    try:
        await until(lambda: all(s.applied for s in screens), 60, "every screen shows a snapshot")
        # both workers serve screens: each holds some of the established connections
        by_worker = await until(
            lambda: (c := connections_by_process(first, workers.port)) and sum(c.values()) == SCREENS and c,
            20,
            f"the {SCREENS} connections held by the workers",
        )
        assert all(n > 0 for n in by_worker.values()), by_worker
        victim = max(by_worker, key=lambda pid: by_worker[pid])
        opens_before = sum(s.opens for s in screens)
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        # the supervisor starts another worker in its place
        replaced = eventually(
            lambda: (c := child_pids(parent)) and len(c) == 2 and victim not in c and c, 30, "a new worker"
        )
        assert len(replaced & first) == 1, (first, replaced)
        eventually(lambda: all(connections_by_process(replaced, workers.port, "0A").values()), 60, "it listens")
        # every screen shows a snapshot that arrived after the kill, within the promise
        await until(lambda: all(s.last_applied() > killed_at for s in screens), RECOVERY_S, "every screen fresh again")
        reconnected = sum(s.opens for s in screens) - opens_before
        assert reconnected >= by_worker[victim], (reconnected, by_worker)  # (its screens did reconnect)
        # the new worker serves too: new connections are spread over both again
        more = await _screens(workers.port)
        screens += more
        tasks += [asyncio.create_task(s.run()) for s in more]
        await until(lambda: all(s.applied for s in more), 30, "the new screens show a snapshot")
        held = await until(
            lambda: (c := connections_by_process(replaced, workers.port)) and sum(c.values()) == 2 * SCREENS and c,
            20,
            "every connection held by the workers",
        )
        assert all(n > 0 for n in held.values()), held
    finally:
        for s in screens:
            s.stop()
        await asyncio.gather(*tasks)
    # SIGTERM to the parent stops every worker
    assert stop_process(workers.procs.pop("web"), signal.SIGTERM, 30) == 0
    assert not child_pids(parent)
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


@pytest.mark.parametrize(("given", "said"), [("0", "between 1 and 64, got 0"), ("two", "whole number")])
def test_a_bad_worker_count_is_refused_with_why(tmp_path: Path, given: str, said: str) -> None:
    stack = Stack(tmp_path)
    done = cli("web", "--config", str(stack.config), env={"WALLBOARD_WEB_WORKERS": given}, timeout=60)
    assert done.returncode == 2, done
    assert "WALLBOARD_WEB_WORKERS" in done.stderr and said in done.stderr, done.stderr
    done = cli("web", "--config", str(stack.config), "--workers", "65", timeout=60)
    assert done.returncode == 2 and "--workers must be between 1 and 64, got 65" in done.stderr, done.stderr
