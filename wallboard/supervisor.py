"""Keeping ``wallboard run``'s processes alive: start each, restart each one that dies, stop all.

Each child is described by a :class:`ChildSpec` (a name and how to start it). One
loop in the main thread looks at every child every ``poll_s``: a child that has
died is logged once, with its exit status or signal, and given a due time for its
restart; the loop goes on looking after the others meanwhile, so a child that
crash-loops never delays restarting another. The delay grows for a child that
keeps dying (immediately, then 1, 2, 4 … 30 s) and starts again from nothing once
a child has stayed up for ``healthy_s``: a process killed once a day comes back at
once, every time.

The loop runs in the thread that starts every child, for as long as they live: the
embedded Redis asks for a signal when that *thread* ends (PR_SET_PDEATHSIG), so it
must not be started from a helper thread that finishes first.

On SIGINT or SIGTERM the children are sent SIGTERM, and those marked ``stops_last``
(the Redis the others save their checkpoints to) only once the others have exited.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

log = logging.getLogger("wallboard.supervisor")


class Process(Protocol):
    """What the supervisor needs of a child process (``subprocess.Popen`` has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class ChildSpec:
    """One supervised child: its name in the log, and how to start it (returns at once)."""

    name: str
    start: Callable[[], Process]
    stops_last: bool = False
    on_exit: Callable[[int], None] | None = None  # told the pid of each of its deaths


@dataclass(frozen=True)
class RestartPolicy:
    """When a dead child is started again."""

    base_s: float = 1.0
    cap_s: float = 30.0
    healthy_s: float = 30.0  # up this long, a child's next death counts as its first

    def delay(self, deaths: int) -> float:
        """Seconds before restarting a child after ``deaths`` deaths in a row: 0, base, 2·base, 4·base … cap."""
        if deaths <= 1:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** min(deaths - 2, 30)))


def describe_exit(code: int) -> str:
    """``exited with status 1`` or ``was killed by SIGKILL`` (Popen's negative return code)."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Child:
    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.process: Process | None = None
        self.started_at = 0.0
        self.deaths = 0  # in a row, without a healthy run between them
        self.due: float | None = None  # when to start it again, while it is down

    def launch(self, now: float, policy: RestartPolicy, first: bool) -> None:
        self.due = None
        self.started_at = now
        try:
            self.process = self.spec.start()
        except Exception as exc:  # a start that fails counts as a death, and is retried the same way
            self.process = None
            self._died(now, policy, f"could not be started ({type(exc).__name__}: {exc})")
            return
        (log.info if first else log.debug)("started %s (pid %d)", self.spec.name, self.process.pid)

    def check(self, now: float, policy: RestartPolicy) -> None:
        """Restart the child when due; notice (and log once) that it has died."""
        if self.due is not None:
            if now >= self.due:
                self.launch(now, policy, first=False)
            return
        code = None if self.process is None else self.process.poll()
        if code is not None:
            if self.spec.on_exit is not None and self.process is not None:
                self.spec.on_exit(self.process.pid)
            self._died(now, policy, describe_exit(code))
            if self.due is not None and now >= self.due:
                self.launch(now, policy, first=False)

    def _died(self, now: float, policy: RestartPolicy, how: str) -> None:
        up = now - self.started_at
        self.deaths = 1 if up >= policy.healthy_s else self.deaths + 1
        delay = policy.delay(self.deaths)
        self.due = now + delay
        log.error(
            "%s %s after %.1f s up; restarting it in %.1f s (deaths in a row: %d)",
            self.spec.name,
            how,
            up,
            delay,
            self.deaths,
        )


class Supervisor:
    """Runs children until SIGINT/SIGTERM, restarting each one that dies on its own schedule."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        policy: RestartPolicy = RestartPolicy(),
        *,
        poll_s: float = 0.1,
        stop_timeout_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = [_Child(spec) for spec in specs]
        self.policy = policy
        self.poll_s = poll_s
        self.stop_timeout_s = stop_timeout_s
        self.clock = clock
        self._stopping = False

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Stop restarting children and stop them all (the SIGINT/SIGTERM handler)."""
        self._stopping = True

    def run(self, running: Mapping[str, Process] | None = None, on_started: Callable[[], None] | None = None) -> None:
        """Start every child (except those in ``running``, already started by the caller), look
        after them until a signal, then stop them all."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            now = self.clock()
            for child in self.children:
                adopted = (running or {}).get(child.spec.name)
                if adopted is not None:
                    child.process, child.started_at = adopted, now
                elif not self._stopping:
                    child.launch(now, self.policy, first=True)
            if on_started is not None:
                on_started()
            while not self._stopping:
                time.sleep(self.poll_s)
                now = self.clock()
                for child in self.children:
                    if self._stopping:
                        break
                    child.check(now, self.policy)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop_all(self) -> None:
        """SIGTERM to every child, and to those that stop last once the others have exited."""
        for last in (False, True):
            group = [c for c in self.children if c.spec.stops_last == last and c.process is not None]
            deadline = time.monotonic() + self.stop_timeout_s
            for child in group:
                assert child.process is not None
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                assert child.process is not None
                try:
                    child.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in %.0f s; killing it", child.spec.name, self.stop_timeout_s)
                    child.process.kill()
                    child.process.wait()
