"""Write a realistic Asterisk queue_log from the simulator, for benchmarks of `wallboard report`.

    python bench/queue_log_writer.py OUT.log --lines 1000000 [--config config.yaml] [--seed 1]

Every simulated event becomes the line Asterisk would write (ENTERQUEUE, CONNECT,
COMPLETECALLER/COMPLETEAGENT, ABANDON, EXITWITHTIMEOUT, BLINDTRANSFER,
ADDMEMBER/REMOVEMEMBER, PAUSE/UNPAUSE), plus a RINGNOANSWER now and then.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import Config, load_config
from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallQueued,
    CallTransferred,
)

START = 1_773_097_200.0  # 2026-03-10 00:00 Europe/Madrid


def lines(config: Config, seed: int, calls_per_hour: float) -> Iterator[str]:
    """Endless queue_log lines of a simulated centre."""
    alias = {a.id: (a.aliases[0] if a.aliases else a.id) for a in config.agents}
    sim = Simulation(config, Options(seed=seed, default_calls_per_hour=calls_per_hour, calls_per_hour={}), START)
    queues_of: dict[str, set[str]] = {}
    paused: set[str] = set()
    for e in sim.events():
        t = int(e.ts)
        if isinstance(e, CallQueued):
            yield f"{t}|{e.call_id}|{e.queue}|NONE|ENTERQUEUE||6001{t % 100000:05d}|1"
        elif isinstance(e, CallAnswered):
            if t % 7 == 0:
                yield f"{t}|{e.call_id}|{e.queue}|{alias[e.agent]}|RINGNOANSWER|15000"
            yield f"{t}|{e.call_id}|{e.queue}|{alias[e.agent]}|CONNECT|{int(e.wait_s)}|{e.call_id}9|3"
        elif isinstance(e, CallTransferred):
            yield f"{t}|{e.call_id}|{e.queue}|{alias[e.agent]}|BLINDTRANSFER|2000|from-internal|0|{int(e.talk_s)}|1"
        elif isinstance(e, CallEnded):
            who = "COMPLETECALLER" if t % 2 else "COMPLETEAGENT"
            yield f"{t}|{e.call_id}|{e.queue}|{alias[e.agent]}|{who}|0|{int(e.talk_s + e.hold_s)}|1"
        elif isinstance(e, CallAbandoned):
            yield f"{t}|{e.call_id}|{e.queue}|NONE|ABANDON|1|1|{int(e.wait_s)}"
        elif isinstance(e, CallExited):
            yield f"{t}|{e.call_id}|{e.queue}|NONE|EXITWITHTIMEOUT|1|1|{int(e.wait_s)}"
        elif isinstance(e, AgentLogin):
            queues_of.setdefault(e.agent, set()).add(e.queue)
            yield f"{t}|NONE|{e.queue}|{alias[e.agent]}|ADDMEMBER|"
        elif isinstance(e, AgentLogout):
            for q in sorted(queues_of.pop(e.agent, set())):
                yield f"{t}|NONE|{q}|{alias[e.agent]}|REMOVEMEMBER|"
        elif isinstance(e, AgentStateChanged):
            if e.state == "not_ready":
                paused.add(e.agent)
                yield f"{t}|NONE|NONE|{alias[e.agent]}|PAUSEALL|{e.reason.capitalize()}"
            elif e.state == "available" and e.agent in paused:
                paused.discard(e.agent)
                yield f"{t}|NONE|NONE|{alias[e.agent]}|UNPAUSEALL|"


def write(path: Path, n: int, config: Config, seed: int = 1, calls_per_hour: float = 300.0) -> int:
    written = 0
    with path.open("w") as fh:
        for line in lines(config, seed, calls_per_hour):
            fh.write(line + "\n")
            written += 1
            if written >= n:
                break
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = write(args.out, args.lines, load_config(args.config, env={}), args.seed)
    print(f"wrote {n:,} lines to {args.out}")


if __name__ == "__main__":
    main()
