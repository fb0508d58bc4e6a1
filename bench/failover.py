"""A Sentinel failover under load: acknowledged events lost, time to the first write, and what WAIT costs.

    .venv/bin/python bench/failover.py                     # 5 trials each way, batch sizes 1, 10, 100
    .venv/bin/python bench/failover.py --trials 2 --seconds 1

Each trial starts a fresh Sentinel topology (tests/topology.py: a master, two replicas, three
sentinels, ``down-after-milliseconds`` 1000, all real ``redis-server`` processes on loopback)
and a writer that appends events as a collector does (``Streams.append`` of a batch, through
``redis+sentinel://``; on an unreachable Redis, or ``ReplicasBehind``, the same batch again after
50 ms). Once the writer has run ``--warmup-s`` the master is killed with SIGKILL. Measured:

- **lost**: events ``append`` had returned for (acknowledged, as a collector would advance its
  cursor past them) that are not on the new master's stream once the failover is over;
- **failover**: from the kill to the end of the first ``append`` begun after it that succeeds (the
  sentinels' detection, 1 s here, their vote and promotion, and the client finding the new master);

with ``redis.wait_replicas`` 0 and 1 (two replicas: after the failover the new master keeps one
to acknowledge). Then, on one topology without kills, **throughput**: events appended per second
by one writer for ``--seconds`` at each batch size, with and without WAIT. Medians and maximums
are printed as Markdown tables (docs/REDIS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.topology import SentinelSet, master_client
from wallboard.events import CallAnswered
from wallboard.redis_client import client_for
from wallboard.streams import UNREACHABLE, Streams
from wallboard.wire import decode

PREFIX = "{wb}:"


def _batch(start: int, size: int) -> list[CallAnswered]:
    now = time.time()
    return [
        CallAnswered(
            id=f"ev-{k}", ts=now, source="bench", queue="ventas", call_id=f"c{k}", agent="raul.serrano", wait_s=1.0
        )
        for k in range(start, start + size)
    ]


@dataclass
class Writer:
    """Appends batches until told to stop; what was acknowledged, and when each append ended."""

    streams: Streams
    batch: int
    acked: list[str] = field(default_factory=list)
    ok: list[tuple[float, float]] = field(default_factory=list)  # (started, ended) of each append taken
    failures: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        k = 0
        while not self.stop.is_set():
            events = _batch(k, self.batch)
            while True:
                started = time.time()
                try:
                    await self.streams.append(events)
                    break
                except UNREACHABLE:
                    self.failures += 1
                    if self.stop.is_set():
                        return
                    await asyncio.sleep(0.05)
            self.ok.append((started, time.time()))
            self.acked.extend(e.id for e in events)
            k += self.batch


async def _trial(tmp: Path, wait_replicas: int, batch: int, warmup_s: float) -> dict[str, float]:
    with SentinelSet(tmp, replicas=2) as topology:
        client = client_for(topology.url())
        try:
            streams = Streams(client, PREFIX, wait_replicas=wait_replicas, wait_timeout_ms=1000)
            writer = Writer(streams, batch)
            task = asyncio.create_task(writer.run())
            await asyncio.sleep(warmup_s)
            old = await asyncio.to_thread(topology.current_master)
            killed_at = time.time()
            old.kill()
            dead_at = time.time()  # (reaped: an append that started after this went elsewhere)
            await asyncio.to_thread(topology.wait_failover, old, 60.0)
            deadline = time.monotonic() + 60
            while not any(started > dead_at for started, _ in writer.ok):
                if time.monotonic() > deadline or task.done():
                    raise RuntimeError("no write succeeded within 60 s of the kill")
                await asyncio.sleep(0.01)
            first_ok = next(ended for started, ended in writer.ok if started > dead_at)
            await asyncio.sleep(0.5)
            writer.stop.set()
            await task
        finally:
            await client.aclose()
        with master_client(topology) as direct:
            on_stream = {decode(f).id for _, f in direct.xrange(PREFIX + "events")}
    acked = set(writer.acked)
    return {
        "lost": float(len(acked - on_stream)),
        "acked": float(len(acked)),
        "failover_s": first_ok - killed_at,
        "retries": float(writer.failures),
    }


async def _throughput(topology: SentinelSet, wait_replicas: int, batch: int, seconds: float) -> float:
    client = client_for(topology.url())
    try:
        streams = Streams(client, PREFIX, maxlen=200_000, wait_replicas=wait_replicas, wait_timeout_ms=1000)
        await streams.append(_batch(0, batch))  # (the script loaded, the connection made)
        n, k = 0, 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await streams.append(_batch(k, batch))
            n += batch
            k += batch
        return n / (time.perf_counter() - started)
    finally:
        await client.aclose()


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10, help="events per append in the failover trials")
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput measurement")
    parser.add_argument("--batches", default="1,10,100", help="batch sizes of the throughput measurements")
    args = parser.parse_args()
    results: dict[int, list[dict[str, float]]] = {0: [], 1: []}
    with tempfile.TemporaryDirectory() as tmp:
        for trial in range(args.trials):
            for wait in (0, 1):
                r = asyncio.run(_trial(Path(tmp) / f"t{trial}-w{wait}", wait, args.batch, args.warmup_s))
                results[wait].append(r)
                print(
                    f"trial {trial + 1} wait_replicas {wait}: lost {r['lost']:.0f} of {r['acked']:.0f} acknowledged, "
                    f"first write {r['failover_s']:.2f} s after the kill, {r['retries']:.0f} retries",
                    flush=True,
                )
        rates: dict[tuple[int, int], float] = {}
        with SentinelSet(Path(tmp) / "throughput", replicas=2) as topology:
            for batch in (int(b) for b in args.batches.split(",")):
                for wait in (0, 1):
                    rates[(batch, wait)] = asyncio.run(_throughput(topology, wait, batch, args.seconds))
                    print(f"batch {batch} wait_replicas {wait}: {rates[(batch, wait)]:.0f} events/s", flush=True)
    print(f"\n{args.trials} trials, batches of {args.batch}, kill -9 of the master after {args.warmup_s:g} s\n")
    print("| redis.wait_replicas | acknowledged events lost (median / max) | kill → first write, s (median / max) |")
    print("|---|---|---|")
    for wait in (0, 1):
        rs = results[wait]
        print(f"| {wait} | {_stats([r['lost'] for r in rs])} | {_stats([r['failover_s'] for r in rs])} |")
    print("\n| batch | events/s, wait_replicas 0 | events/s, wait_replicas 1 | cost of WAIT |")
    print("|---|---|---|---|")
    for batch in sorted({b for b, _ in rates}):
        w0, w1 = rates[(batch, 0)], rates[(batch, 1)]
        print(f"| {batch} | {w0:,.0f} | {w1:,.0f} | {100 * (1 - w1 / w0):.0f} % fewer |")
    print(f"\n(threads alive at the end: {threading.active_count()})")


if __name__ == "__main__":
    main()
