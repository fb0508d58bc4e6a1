"""What a wrong clock or invented names do to the numbers and the snapshot, on a real Redis.

A real aggregator folds a simulated day of ``config.yaml`` up to now from a real
Redis stream and publishes; then the stream gets (1) 5 000 events naming queues
that are not configured and 5 000 naming agents that are not, (2) one event
dated 2099 and one dated next year. Printed: the snapshot's size before and
after, today's numbers per queue before and after (they must be equal), the
refusal counts and the rejected stream's length.

    .venv/bin/python bench/admission.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wallboard.aggregator import Aggregator
from wallboard.clock import day_start_at
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import load_config
from wallboard.events import AgentStateChanged, CallQueued, Event
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect

COUNTS = ("offered", "answered", "abandoned", "other_exits", "handled")


async def drain(agg: Aggregator, streams: Streams, last_id: str) -> None:
    while agg.last_id != last_id:
        await agg.step()
    await agg.commit()
    await agg.publish()


def today_numbers(snap: dict) -> dict[str, tuple[int, ...]]:
    return {q: tuple(v["today"][k] for k in COUNTS) for q, v in snap["queues"].items()}


async def main() -> None:
    config = load_config(ROOT / "config.yaml", env={})
    now = time.time()
    source = next(c.source for c in config.collectors if c.kind == "simulator")
    start = day_start_at(now, config.zone, config.day_start_time)
    events: list[Event] = list(Simulation(config, Options(seed=7), start, source).events(until=now))
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as redis:
        client = connect(redis.url)
        streams = Streams(client, "bench:", 2_000_000)
        agg = Aggregator(config, streams, block_ms=10)
        await agg.restore()
        await agg.recover()
        for i in range(0, len(events), 5_000):
            last = (await streams.append(events[i : i + 5_000]))[-1]
        await drain(agg, streams, last)
        before = await streams.latest_snapshot()
        assert before is not None
        size_before = len(json.dumps(before, ensure_ascii=False).encode())
        memory_before = (await client.info("memory"))["used_memory"]

        t = now - 60
        invented: list[Event] = [CallQueued(f"inv-q{i}", source, t, f"invented-{i}", f"x{i}") for i in range(5_000)]
        invented += [AgentStateChanged(f"inv-a{i}", source, t, f"PJSIP/9{i:04d}", "available") for i in range(5_000)]
        last = (await streams.append(invented))[-1]
        await drain(agg, streams, last)
        after_invented = await streams.latest_snapshot()
        assert after_invented is not None
        size_after = len(json.dumps(after_invented, ensure_ascii=False).encode())

        future = [
            CallQueued("y2099", source, 4_070_908_800.0, "ventas", "f1"),
            CallQueued("next-year", source, now + 365 * 86_400, "ventas", "f2"),
        ]
        last = (await streams.append(future))[-1]
        await drain(agg, streams, last)
        after_future = await streams.latest_snapshot()
        assert after_future is not None
        memory_after = (await client.info("memory"))["used_memory"]
        rejected = await client.xlen(streams.rejected_key)
        await client.aclose()

    same_after_invented = today_numbers(before) == today_numbers(after_invented)
    same_after_future = today_numbers(before) == today_numbers(after_future)
    print(f"simulated events today so far: {len(events)}")
    print(
        f"snapshot: {size_before / 1e6:.3f} MB before, {size_after / 1e6:.3f} MB after 5 000 events inventing "
        f"queues and 5 000 inventing agents ({len(after_invented['queues'])} queues, "
        f"{len(after_invented['agents'])} agents in it)"
    )
    print(
        f"today's numbers unchanged by the invented names: {same_after_invented}; by a 2099 and a next-year "
        f"event: {same_after_future}"
    )
    print(f"refused by source: {after_future['sources'][source]['refused']}; rejected stream: {rejected} entries")
    print(f"Redis used_memory: {memory_before / 1e6:.1f} MB → {memory_after / 1e6:.1f} MB")
    centre = after_future["centre"]["today"]
    print(f"centre today: offered {centre['offered']}, answered {centre['answered']}")
    if not (same_after_invented and same_after_future):
        raise SystemExit("today's numbers changed")


if __name__ == "__main__":
    asyncio.run(main())
