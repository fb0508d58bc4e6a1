"""Keeping every part alive: the supervisor with real child processes, and `wallboard run` under kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.helpers import eventually, stays, wait_for_port
from tests.stack import Stack, clean_env
from tests.test_cli import demo_stack, snapshot
from wallboard.redis_server import find_running
from wallboard.supervisor import RestartPolicy, describe_exit

# A child: records its pid; "crash" exits at once with status 3, "flaky" too while the file
# <dir>/crash exists, else it stays up (and says so); on SIGTERM it waits a little, records
# that it stopped, and exits.
CHILD = """
import os, signal, sys, time
from pathlib import Path
d, name, mode, stop_delay = Path(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
with open(d / f"{name}.pids", "a") as f:
    f.write(f"{os.getpid()}\\n")
if mode == "crash" or (mode == "flaky" and (d / "crash").exists()):
    sys.exit(3)
def stop(signum, frame):
    time.sleep(stop_delay)
    with open(d / "stops", "a") as f:
        f.write(name + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(d / f"{name}.up").write_text(str(os.getpid()))
while True:
    time.sleep(1)
"""

RUNNER = """
import functools, json, logging, subprocess, sys
from wallboard.supervisor import ChildSpec, RestartPolicy, Supervisor
spec = json.loads(sys.argv[1])
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
children = [ChildSpec(c["name"], functools.partial(subprocess.Popen, c["cmd"]), c.get("last", False))
            for c in spec["children"]]
Supervisor(children, RestartPolicy(**spec["policy"]), poll_s=0.02).run()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Supervised:
    """A supervisor process (the real module) looking after CHILD processes in ``tmp``."""

    def __init__(self, tmp: Path, children: dict[str, tuple[str, float, bool]], **policy: float) -> None:
        self.dir = tmp
        self.log = tmp / "supervisor.log"
        spec = {
            "policy": policy,
            "children": [
                {"name": name, "last": last, "cmd": [sys.executable, "-c", CHILD, str(tmp), name, mode, str(delay)]}
                for name, (mode, delay, last) in children.items()
            ],
        }
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(spec)], stderr=out, env=clean_env())

    def pids(self, name: str) -> list[int]:
        path = self.dir / f"{name}.pids"
        return [int(x) for x in path.read_text().split()] if path.exists() else []

    def deaths(self, name: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith(f"wallboard.supervisor: {name} ")]

    def delays(self, name: str) -> list[float]:
        return [
            float(re.search(r"restarting it in ([0-9.]+) s", d).group(1))  # type: ignore[union-attr]
            for d in self.deaths(name)
        ]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    made: list[Supervised] = []

    def make(children: dict[str, tuple[str, float, bool]], **policy: float) -> Supervised:
        made.append(Supervised(tmp_path, children, **policy))
        return made[-1]

    yield make
    for s in made:
        s.stop()


def test_exit_descriptions() -> None:
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert [RestartPolicy(base_s=1, cap_s=30).delay(n) for n in range(1, 9)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_a_crash_looping_child_does_not_delay_restarting_another(supervised: Callable[..., Supervised]) -> None:
    s = supervised({"looper": ("crash", 0, False), "steady": ("stay", 0, False)}, base_s=60, cap_s=60)
    # The looper died twice: restarted at once, then due again only in 60 s.
    eventually(lambda: len(s.deaths("looper")) == 2, what="the looper's second death")
    assert s.delays("looper") == [0.0, 60.0]
    assert "looper exited with status 3 after" in s.deaths("looper")[0]
    first = int(eventually(lambda: (s.dir / "steady.up").exists() and (s.dir / "steady.up").read_text()))
    os.kill(first, signal.SIGKILL)
    eventually(lambda: len(s.pids("steady")) == 2, what="steady's restart")
    assert len(s.pids("looper")) == 2  # still waiting out its 60 s meanwhile
    assert len(s.deaths("steady")) == 1 and "steady was killed by SIGKILL" in s.deaths("steady")[0]
    assert s.delays("steady") == [0.0]
    assert s.stop() == 0


def test_backoff_grows_for_a_child_that_keeps_dying_and_resets_once_it_stayed_up(
    supervised: Callable[..., Supervised],
) -> None:
    healthy_s = 1.0
    s = supervised({"flaky": ("flaky", 0, False)}, base_s=0.1, cap_s=0.4, healthy_s=healthy_s)
    (s.dir / "crash").touch()
    eventually(lambda: len(s.deaths("flaky")) >= 5, what="five deaths in a row")
    assert s.delays("flaky")[:5] == [0.0, 0.1, 0.2, 0.4, 0.4]  # capped
    (s.dir / "crash").unlink()
    up = int(eventually(lambda: (s.dir / "flaky.up").exists() and (s.dir / "flaky.up").read_text()))
    before = len(s.deaths("flaky"))
    stays(lambda: alive(up), healthy_s + 0.5, "flaky up")  # longer than the healthy period (no time is asserted)
    os.kill(up, signal.SIGKILL)
    eventually(lambda: len(s.deaths("flaky")) == before + 1, what="the death after a healthy run")
    assert s.delays("flaky")[-1] == 0.0 and "(deaths in a row: 1)" in s.deaths("flaky")[-1]
    # ... and dying again at once counts as the second death: the delay grows again
    again = int(eventually(lambda: (s.dir / "flaky.up").read_text() != str(up) and (s.dir / "flaky.up").read_text()))
    os.kill(again, signal.SIGKILL)
    eventually(lambda: len(s.deaths("flaky")) == before + 2, what="the next death")
    assert s.delays("flaky")[-1] == 0.1


def test_shutdown_stops_the_children_first_and_the_last_ones_after(supervised: Callable[..., Supervised]) -> None:
    s = supervised({"a": ("stay", 0.5, False), "store": ("stay", 0, True), "b": ("stay", 0.5, False)})
    pids = [
        int(eventually(lambda n=n: (s.dir / f"{n}.up").exists() and (s.dir / f"{n}.up").read_text()))
        for n in ("a", "store", "b")
    ]
    assert s.stop() == 0
    stops = (s.dir / "stops").read_text().split()
    assert sorted(stops[:2]) == ["a", "b"] and stops[2:] == ["store"]
    assert not any(alive(pid) for pid in pids)
    assert not any(s.deaths(n) for n in ("a", "b", "store"))  # a stop is not a death to restart


# ------------------------------------------------------------ wallboard run


def _pids(stack: Stack) -> dict[str, int]:
    """The children of the stack's `wallboard run`, by kind: redis, aggregator, web, collector."""
    return {kind: pid for kind, (pid, _) in stack.children().items()}


def test_run_brings_back_redis_and_every_child_after_kill_9(tmp_path: Path) -> None:
    # real time: the events stay within the aggregator's clock; busy: events flow at any hour
    stack = demo_stack(tmp_path, speed=1.0, busy=True)
    proc = stack.start("run")
    seen: list[int] = []
    try:

        def newer(seq: int) -> Callable[[], dict[str, Any] | None]:
            def check() -> dict[str, Any] | None:
                snap = snapshot(stack)
                return snap if snap and snap["seq"] > seq and snap["pipeline"]["applied"] > 0 else None

            return check

        snap = eventually(newer(-1), what="a first snapshot")
        wait_for_port(stack.port, 60, "web")
        stack.wait_healthy()
        kids = eventually(
            lambda: (k := _pids(stack)).keys() == {"redis", "aggregator", "web", "collector"} and k,
            what="every child",
        )
        seen += kids.values()

        # The embedded Redis: back on the same port, with its data, and the pipeline moves on.
        url = find_running(stack.redis_dir)
        assert url is not None
        client = redis.Redis.from_url(url)
        client.set("kept", "yes")
        client.close()
        # in the file before the kill: Redis may put a write to it off for up to 2 s when the
        # disk is slow to fsync (DEPLOYMENT.md); what is tested is that the file is reloaded
        eventually(lambda: b"kept" in (stack.redis_dir / "appendonly.aof").read_bytes(), what="the AOF write")
        os.kill(kids["redis"], signal.SIGKILL)
        eventually(lambda: _pids(stack).get("redis", kids["redis"]) != kids["redis"], what="a new Redis")
        assert eventually(lambda: find_running(stack.redis_dir), what="Redis answering") == url
        client = redis.Redis.from_url(url)
        assert client.get("kept") == b"yes"
        client.close()
        snap = eventually(newer(snap["seq"]), what="a snapshot after the Redis restart")

        for kind in ("aggregator", "web", "collector"):
            old = _pids(stack)[kind]
            applied = snap["pipeline"]["applied"]
            os.kill(old, signal.SIGKILL)
            new = eventually(
                lambda kind=kind, old=old: _pids(stack).get(kind, old) != old and _pids(stack).get(kind),
                what=f"{kind} restarted",
            )
            seen.append(new)
            if kind == "web":
                eventually(lambda: stack.healthz()[0] == 200, what="/healthz 200 after the web restart")
            snap = eventually(
                lambda applied=applied, snap=snap: (
                    (s := newer(snap["seq"])()) and s["pipeline"]["applied"] > applied and s
                ),
                what=f"events flowing after {kind}",
            )
        assert stack.healthz()[0] == 200
    finally:
        code = stack.stop("run")
        output = stack.output("run")
        print(output)  # shown when the test fails
    assert code == 0
    for name in ("embedded Redis", "aggregator", "web", "collector simulador"):
        deaths = [line for line in output.splitlines() if f"supervisor[{proc.pid}]: {name} " in line]
        assert len(deaths) == 1 and "was killed by SIGKILL" in deaths[0], output
    assert "checkpoint saved" in output and "embedded Redis stopped" in output
    assert "Traceback" not in output
    assert not any(alive(pid) for pid in seen)
    assert find_running(stack.redis_dir) is None


def test_run_killed_itself_leaves_no_process_behind(tmp_path: Path) -> None:
    stack = demo_stack(tmp_path, speed=1.0)
    stack.start("run")
    try:
        kids = eventually(
            lambda: (k := _pids(stack)).keys() == {"redis", "aggregator", "web", "collector"} and k,
            what="every child",
        )
    finally:
        stack.kill("run")  # kill -9 of the supervisor itself: its children are told to stop (SIGTERM)
    eventually(lambda: not any(alive(pid) for pid in kids.values()), timeout=30, what="every child gone")
