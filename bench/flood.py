"""A flood of idle TCP connections against a real `wallboard web` process, with /healthz timed.

    .venv/bin/python bench/flood.py [--addresses 40] [--max-open 17000] [--seconds 120]

Starts an embedded Redis and `wallboard web` (real uvicorn, its own process,
the default `web:` limits except `handshake_timeout_s`, raised to 300 s so
that the idle connections stay as long as the flood runs: the worst case, a
flooder that reconnects faster than the timeout). This process keeps a fresh
snapshot published (so a healthy /healthz is a 200) and then:

1. from 127.0.0.2 alone, opens idle connections (nothing sent) until the server
   refuses one: how many one address holds;
2. from `--addresses` other loopback addresses (127.0.0.10, 127.0.0.11, …) in
   turn, opens idle connections until the server starts closing them (the
   oldest idle ones make room at the limit) or refusing them;
3. all along, GETs /healthz from 127.0.0.1 every 50 ms on a new connection:
   status and latency, before and during the flood;
4. at the end, with the flood held, connects a new screen from 127.0.0.250
   (WebSocket, subscribe, first full view).

Bounded in count (`--max-open` connections at most) and time (`--seconds`);
traffic only to 127.0.0.1 from 127.0.0.0/8. Prints the numbers and writes
bench/results/flood.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import Stack
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect

PREFIX = "flood:"


class Idle:
    """One idle connection and the moment the server closed or answered it, if it did."""

    __slots__ = ("writer", "ended", "answer", "task")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.ended: float | None = None
        self.answer = b""
        self.task = asyncio.create_task(self._watch(reader))

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            self.answer = await reader.read(64)
        self.ended = time.monotonic()

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def healthz(port: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    return int(data.split(b" ", 2)[1]), time.perf_counter() - t0


async def keep_fresh(streams: Streams, stop: asyncio.Event) -> None:
    seq = 0
    while not stop.is_set():
        seq += 1
        await streams.publish_snapshot(
            seq, json.dumps({"seq": seq, "now": time.time(), "sources": {}, "generated_at": "2026-12-01T00:00:00Z"})
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def time_healthz(port: int, samples: list[dict[str, Any]], phase: list[str], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            status, seconds = await healthz(port)
        except (OSError, TimeoutError, IndexError, ValueError) as exc:
            status, seconds = 0, float("nan")
            print(f"  /healthz failed: {type(exc).__name__}")
        samples.append({"phase": phase[0], "status": status, "s": seconds})
        await asyncio.sleep(0.05)


async def open_until_refused(
    port: int, sources: list[str], per_source: int, budget: int, deadline: float, held: list[Idle]
) -> dict[str, Any]:
    """Open idle connections from each source in turn until one is refused or closed by the server."""
    opened_at_first_end = None
    errors = 0
    start = len(held)
    for source in sources:
        for _ in range(per_source):
            if len(held) >= budget or time.monotonic() > deadline:
                return {
                    "opened": len(held) - start,
                    "first_end_after": opened_at_first_end,
                    "connect_errors": errors,
                    "stopped": "budget" if len(held) >= budget else "time",
                }
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 10
                )
            except (OSError, TimeoutError):
                errors += 1
                continue
            held.append(Idle(reader, writer))
            if len(held) % 200 == 0:
                await asyncio.sleep(0.05)  # let the watchers see what the server did
                if any(c.ended is not None for c in held[start:]):
                    opened_at_first_end = len(held) - start
                    return {
                        "opened": len(held) - start,
                        "first_end_after": opened_at_first_end,
                        "connect_errors": errors,
                        "stopped": "server closed or refused connections",
                    }
    return {
        "opened": len(held) - start,
        "first_end_after": opened_at_first_end,
        "connect_errors": errors,
        "stopped": "sources exhausted",
    }


async def new_screen(port: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws", local_addr=("127.0.0.250", 0), open_timeout=10, compression=None
        ) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return {"connected": first.get("type") == "full", "s": round(time.perf_counter() - t0, 4)}
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
        return {"connected": False, "error": f"{type(exc).__name__}: {exc}"}


def pct(values: list[float], q: float) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process holds the flood
    tmp = Path(tempfile.mkdtemp(prefix="flood-"))
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()

    def web_only(raw: dict[str, Any]) -> None:
        raw["collectors"] = []
        raw["web"]["handshake_timeout_s"] = 300

    stack = Stack(tmp / "stack", redis_url=redis.url, prefix=PREFIX, adjust=web_only, log_level="WARNING")
    port = stack.port
    stack.start("web")
    client = connect(redis.url)
    streams = Streams(client, PREFIX)
    stop = asyncio.Event()
    samples: list[dict[str, Any]] = []
    phase = ["before"]
    held: list[Idle] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks.append(asyncio.create_task(keep_fresh(streams, stop)))
        await asyncio.to_thread(stack.wait_healthy, 30)  # a 200 once keep_fresh published
        tasks.append(asyncio.create_task(time_healthz(port, samples, phase, stop)))
        await asyncio.sleep(2)
        deadline = time.monotonic() + args.seconds
        phase[0] = "one address"
        one = await open_until_refused(port, ["127.0.0.2"], 2000, args.max_open, deadline, held)
        await asyncio.sleep(0.5)
        one_held = sum(1 for c in held if c.ended is None)
        one_refused = [c.answer.split(b"\r\n")[0].decode(errors="replace") for c in held if c.ended is not None]
        phase[0] = "flood"
        sources = [f"127.0.0.{10 + i}" for i in range(args.addresses)]
        flood = await open_until_refused(port, sources, 480, args.max_open, deadline, held)
        await asyncio.sleep(2)  # the flood held: healthz keeps being timed
        screen = await new_screen(port)
        await asyncio.sleep(1)
        phase[0] = "after"
        status, _ = await healthz(port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        body = json.loads((await asyncio.wait_for(reader.read(), 10)).partition(b"\r\n\r\n")[2])
        writer.close()
        still_open = sum(1 for c in held if c.ended is None)
        answers = sorted(
            {
                c.answer.split(b"\r\n")[0].decode(errors="replace") or "(closed)"
                for c in held[len(held) - flood["opened"] :]
                if c.ended is not None
            }
        )
    finally:
        stop.set()
        for c in held:
            c.close()
        await asyncio.gather(*tasks, *(c.task for c in held), return_exceptions=True)
        stack.close(signal.SIGTERM, timeout=30)
        await client.aclose()
        redis.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def summary(name: str) -> dict[str, Any]:
        rows = [s for s in samples if s["phase"] == name]
        ok = [s["s"] for s in rows if s["status"] == 200]
        return {
            "requests": len(rows),
            "status_200": len(ok),
            "other": sorted({s["status"] for s in rows if s["status"] != 200}),
            "p50_ms": round(pct(ok, 0.5) * 1000, 2),
            "p99_ms": round(pct(ok, 0.99) * 1000, 2),
        }

    return {
        "one_address": {**one, "held": one_held, "refusals": sorted(set(one_refused))},
        "flood": {**flood, "still_open_at_end": still_open, "addresses": args.addresses, "ended_with": answers},
        "new_screen_during_flood": screen,
        "healthz": {name: summary(name) for name in ("before", "one address", "flood")},
        "healthz_after_status": status,
        "connections": body.get("connections"),
        "open_file_limit": hard,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=40, help="flooding source addresses (at most 200)")
    parser.add_argument("--max-open", type=int, default=17_000, help="connections this process opens at most")
    parser.add_argument("--seconds", type=float, default=120.0, help="time the flood may take at most")
    args = parser.parse_args()
    args.addresses = max(1, min(args.addresses, 200))
    result = asyncio.run(main(args))
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "flood.json").write_text(json.dumps(result, indent=2))
    print(
        f"one address held {result['one_address']['held']} idle connections before refusal; "
        f"the flood {result['flood']['first_end_after']} before the server began closing or refusing; "
        f"/healthz during the flood p50 {result['healthz']['flood']['p50_ms']} ms, "
        f"p99 {result['healthz']['flood']['p99_ms']} ms ({result['healthz']['flood']['status_200']}/"
        f"{result['healthz']['flood']['requests']} answered 200); "
        f"a new screen during the flood: {'connected' if result['new_screen_during_flood']['connected'] else 'FAILED'}"
    )
