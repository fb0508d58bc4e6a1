"""Redis memory per accepted ingest event: the bounded id store against a SET NX key per event.

    .venv/bin/python bench/idstore.py [--events 200000]

Against an embedded Redis of its own: N ids as a client would send them
(``crm:`` + a UUID) claimed through :meth:`Streams.claim_ids` in batches of
1000, as the ingest API does (16-byte digests in a ring of four sets); then the
same N ids the way the API did before (``SET <prefix>ingest:<id> 1 NX EX 86400``
per event). Bytes per event from ``MEMORY USAGE`` (every element counted,
``SAMPLES 0``) and from ``used_memory`` before and after. Prints JSON and
writes bench/results/idstore.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect


async def used(client: Any) -> int:
    return int((await client.info("memory"))["used_memory"])


async def main(n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="idstore-"))
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()
    client = connect(redis.url)
    streams = Streams(client, "bench:")
    try:
        ids = [f"crm:{uuid.uuid4()}" for _ in range(n)]
        before = await used(client)
        t0 = time.perf_counter()
        for i in range(0, n, 1000):
            digests = [hashlib.blake2b(e.encode(), digest_size=16).digest() for e in ids[i : i + 1000]]
            await streams.claim_ids(
                "ingest:crm", digests, now=time.time(), horizon_s=3 * 3600, max_ids=max(4 * n, 1000)
            )
        claim_s = time.perf_counter() - t0
        ring = sum([int(await client.memory_usage(k, samples=0) or 0) for k in streams.id_store_keys("ingest:crm")])
        ring_used = await used(client) - before
        held = await streams.id_store_size("ingest:crm")
        before = await used(client)
        t0 = time.perf_counter()
        for i in range(0, n, 1000):
            pipe = client.pipeline(transaction=False)
            for e in ids[i : i + 1000]:
                pipe.set(f"bench:ingest:{e}", 1, nx=True, ex=86_400)
            await pipe.execute()
        setnx_s = time.perf_counter() - t0
        one_key = int(await client.memory_usage(f"bench:ingest:{ids[0]}", samples=0) or 0)
        setnx_used = await used(client) - before
    finally:
        await client.aclose()
        redis.stop()
    return {
        "events": n,
        "ring_ids_held": held,
        "ring_memory_usage_bytes_per_event": round(ring / n, 1),
        "ring_used_memory_bytes_per_event": round(ring_used / n, 1),
        "ring_claim_events_per_s": round(n / claim_s),
        "setnx_memory_usage_one_key_bytes": one_key,
        "setnx_used_memory_bytes_per_event": round(setnx_used / n, 1),
        "setnx_events_per_s": round(n / setnx_s),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    result = asyncio.run(main(parser.parse_args().events))
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "idstore.json").write_text(json.dumps(result, indent=2))
