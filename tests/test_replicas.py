"""Three ``wallboard web`` replicas behind a real haproxy: kill -9 one mid-traffic.

Real processes: Redis, ``wallboard aggregate`` (a snapshot a second), three ``wallboard web``
on loopback, Debian's haproxy in front (health check on ``/healthz``; see bench/replicas.py
for its config and the measured distribution). Screens reconnect as the page does
(:class:`wsclient.PageScreen`). The replica holding the most screens is killed with
SIGKILL; every screen must show a snapshot that arrived after the kill within
``RECOVERY_S``, and the killed replica's screens must really have moved to the others.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tests.helpers import until

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from replicas import RECOVERY_S, Replicas, held_by

SCREENS = 30


async def test_screens_of_a_killed_replica_are_fresh_again_within_the_bound(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    with Replicas(tmp_path, redis_url, prefix, 3) as rep:
        screens = rep.screens(SCREENS)
        tasks = [asyncio.create_task(s.run()) for s in screens]
        try:
            await until(lambda: all(s.applied for s in screens), 60, "every screen shows a snapshot")
            held = await until(
                lambda: (
                    (h := {i: held_by(p.pid, rep.ports[i]) for i, p in rep.webs.items()})
                    and sum(h.values()) == SCREENS
                    and h
                ),
                20,
                "haproxy's connections to the replicas",
            )
            assert sum(1 for n in held.values() if n > 0) >= 2, held  # (spread: the kill leaves screens served)
            victim = max(held, key=lambda i: held[i])
            opens = sum(s.opens for s in screens)
            killed_at = time.time()
            rep.kill(victim)
            await until(
                lambda: all(s.last_applied() > killed_at for s in screens),
                RECOVERY_S,
                f"every screen fresh again within {RECOVERY_S:g} s",
            )
            assert sum(s.opens for s in screens) - opens >= held[victim]  # its screens did reconnect
            survivors = await until(
                lambda: (
                    (h := {i: held_by(p.pid, rep.ports[i]) for i, p in rep.webs.items() if i != victim})
                    and sum(h.values()) == SCREENS
                    and h
                ),
                20,
                "every screen on the other replicas",
            )
            assert sum(survivors.values()) == SCREENS, survivors
        finally:
            for s in screens:
                s.stop()
            await asyncio.gather(*tasks)
