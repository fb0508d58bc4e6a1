"""Health checks of the processes that serve no HTTP: an aggregator and a collector (compose.yaml).

    python deploy/healthcheck.py aggregator      # 0 when the lease is held and the newest snapshot is fresh
    python deploy/healthcheck.py source NAME     # 0 when collector NAME's heartbeat in Redis is fresh

Both read the config (``$WALLBOARD_CONFIG``) and Redis (``$WALLBOARD_REDIS_URL``) like the process
they check. An aggregator is healthy while *some* aggregator holds the lease and publishes: the
active one and its standby answer alike (the standby is ready to take over, which is its job); both
turn unhealthy when nobody folds. One line on stdout says why (no names of agents or callers, no
secrets: the lease holder is an aggregator's name).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime

from wallboard.config import ENV_REDIS_URL, config_path, load_config
from wallboard.freshness import SOURCE_STALE_S, source_status
from wallboard.streams import Streams, connect

#: A snapshot older than this means no aggregator is publishing (they publish every second).
SNAPSHOT_STALE_S = 10.0


async def check(what: list[str]) -> tuple[bool, str]:
    import os

    config = load_config(config_path(None))
    url = os.environ.get(ENV_REDIS_URL) or config.redis.url
    if not url:
        return False, f"no Redis: set {ENV_REDIS_URL}"
    client = connect(url)
    try:
        streams = Streams.configured(client, config.redis)
        if what == ["aggregator"]:
            holder = await client.get(streams.lease_key)
            if holder is None:
                return False, "no aggregator holds the lease"
            snap = await streams.latest_snapshot()
            if snap is None:
                return False, "no snapshot published yet"
            age = time.time() - datetime.fromisoformat(snap["generated_at"].replace("Z", "+00:00")).timestamp()
            name = (holder.decode() if isinstance(holder, bytes) else str(holder)).split(" ")[1:2]
            ok = age <= SNAPSHOT_STALE_S
            return ok, f"lease held by {name[0] if name else '?'}; newest snapshot {age:.1f} s old"
        if len(what) == 2 and what[0] == "source":
            health = (await streams.source_health()).get(what[1])
            stale, status = source_status(health, time.time(), SOURCE_STALE_S)
            return not stale, f"source {what[1]}: {status}"
        return False, "usage: healthcheck.py aggregator | source NAME"
    finally:
        await client.aclose()


def main(argv: list[str]) -> int:
    try:
        ok, why = asyncio.run(asyncio.wait_for(check(argv), 10.0))
    except Exception as exc:  # any failure to tell is unhealthy, with its reason
        ok, why = False, f"{type(exc).__name__}: {exc}"
    print(("healthy: " if ok else "unhealthy: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
