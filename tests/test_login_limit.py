"""The sign-in limit is shared by every web process (in Redis), and so is a person's session.

Two real web apps (each its own uvicorn, its own gate and hub) on one real Redis and one
users file, as two replicas behind a load balancer are: failures spread over both are
refused at the limit with 429 and Retry-After, a person signed in through one is signed in
on the other, and no visitor can make the limit's keys grow past their bound.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2 as httpx
import pytest
import websockets

import wallboard.layouts  # noqa: F401 - Dash sets its context at import: in the main context, not one test's
from tests.helpers import free_port, until, uvicorn_serving
from tests.stack import demo_config
from tests.test_doors import _gate, _snapshot
from wallboard.config import LoginLimits, parse_config
from wallboard.doors.limits import SharedLoginLimiter
from wallboard.streams import Streams
from wallboard.users import UserStore
from wallboard.web import server_config

PASSWORD = "the-manager-pw"


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


@contextlib.asynccontextmanager
async def replicas(tmp_path: Path, redis_url: str, prefix: str, streams: Streams, n: int) -> AsyncIterator[list[str]]:
    """``n`` web apps of one wallboard (one prefix, one users file), each on its own port."""
    users_file = tmp_path / "users.yaml"
    UserStore(users_file).add("marta", "manager", PASSWORD)
    snap = _snapshot()
    await streams.publish_snapshot(snap["seq"], json.dumps(snap))
    bases: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(n):
            raw = demo_config()
            raw["redis"].update(url=redis_url, prefix=prefix)
            raw["web"].update(port=free_port(), heartbeat_s=1, trusted_proxies=["127.0.0.1"])
            raw["auth"] = {
                "users_file": str(users_file),
                "login_limits": {"per_user": 3, "per_address": 5, "window_s": 60},
            }
            raw["collectors"] = []
            config = parse_config(raw, source="test")
            server = await stack.enter_async_context(uvicorn_serving(server_config(config, redis_url)))
            app = server.config.loaded_app
            await until(lambda app=app: _gate(app).signer is not None, 10, "the gate is ready")
            bases.append(f"http://127.0.0.1:{config.web.port}")
        yield bases


async def _try(c: httpx.AsyncClient, base: str, user: str, password: str, address: str) -> httpx.Response:
    """One sign-in through the real form of ``base``, as if from ``address`` (via the trusted proxy)."""
    headers = {"x-forwarded-for": address}
    page = await c.get(f"{base}/login", headers=headers)
    form = {"csrf": _csrf(page), "username": user, "password": password, "next": "/manager"}
    return await c.post(f"{base}/login", data=form, headers=headers)


async def test_failures_spread_over_two_web_processes_are_refused_at_the_limit(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams
) -> None:
    async with (
        replicas(tmp_path, redis_url, prefix, streams, 2) as (a, b),
        httpx.AsyncClient(follow_redirects=False, timeout=20) as c,
    ):
        # per user from one address: 3; each process sees fewer than 3 of them
        for base in (a, b, a):
            r = await _try(c, base, "marta", "wrong-password", "10.1.1.1")
            assert r.status_code == 401, (base, r.status_code)
        limited = await _try(c, b, "marta", PASSWORD, "10.1.1.1")
        assert limited.status_code == 429, limited.status_code
        assert 0 < int(limited.headers["retry-after"]) <= 60
        elsewhere = await _try(c, a, "marta", PASSWORD, "10.2.2.2")  # (another address is not limited)
        assert elsewhere.status_code == 303, elsewhere.status_code

        # per address: 5, over other user names, alternating between the processes
        for i in range(5):
            r = await _try(c, (a, b)[i % 2], f"guess{i}", "wrong-password", "10.3.3.3")
            assert r.status_code == 401, (i, r.status_code)
        for base in (a, b):
            r = await _try(c, base, "marta", PASSWORD, "10.3.3.3")
            assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, (base, r.status_code)


async def test_a_person_signed_in_through_one_replica_is_signed_in_on_the_others(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams
) -> None:
    async with (
        replicas(tmp_path, redis_url, prefix, streams, 2) as (a, b),
        httpx.AsyncClient(follow_redirects=False, timeout=20) as c,
    ):
        r = await _try(c, a, "marta", PASSWORD, "10.9.9.9")
        assert r.status_code == 303, r.status_code
        page = await c.get(f"{b}/manager")
        assert page.status_code == 200, page.status_code
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        async with websockets.connect(
            b.replace("http", "ws") + "/ws", additional_headers={"cookie": cookie}, open_timeout=10
        ) as ws:
            await ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            first = json.loads(await ws.recv())
            assert first.get("type") != "error", first
        # signed out through B: A refuses the kept cookie within its refresh (about a second)
        out = await c.post(f"{b}/logout", headers={"origin": b})
        assert out.status_code == 303, out.status_code

        async def refused_on_a() -> bool:
            return (await c.get(f"{a}/manager")).status_code == 303

        await until(refused_on_a, 10, "the session signed out through B is refused by A")


async def _limit_keys(streams: Streams, prefix: str) -> list[str]:
    return [k async for k in streams.redis.scan_iter(match=f"{prefix}auth:fail*", count=1000)]


async def test_the_shared_limit_cannot_be_grown_without_bound(streams: Streams, prefix: str) -> None:
    limiter = SharedLoginLimiter(
        streams.redis, prefix, LoginLimits(per_user=3, per_address=5, window_s=60), max_keys=30
    )
    for i in range(60):  # 60 addresses, 60 names: 180 keys asked for
        await limiter.failed(f"name{i}", f"10.0.{i // 256}.{i % 256}")
    keys = await _limit_keys(streams, prefix)
    assert len(keys) <= 30 + 1, len(keys)  # (+ the registry)
    assert await limiter.retry_after("name59", "10.0.0.59") == 0  # one failure each: nobody is limited
    for _ in range(10):  # one key failed 10 times keeps only the 3 that decide
        await limiter.failed("marta", "10.7.7.7")
    pair = limiter._keys("marta", "10.7.7.7")[0]
    assert await streams.redis.zcard(pair) == 3
    assert 59 < await limiter.retry_after("marta", "10.7.7.7") <= 60
    for key in await _limit_keys(streams, prefix):
        ttl = await streams.redis.pttl(key)
        assert 0 < ttl <= 60_000, (key, ttl)  # every key expires within the window
    assert not any("marta" in k or "10.7.7.7" in k for k in await _limit_keys(streams, prefix))  # hashed names
    await limiter.succeeded("marta", "10.7.7.7")
    assert await streams.redis.exists(pair) == 0
    assert await limiter.retry_after("marta", "10.7.7.7") > 0  # (10 failures from that address: its limit stands)
    assert await limiter.retry_after("marta", "10.8.8.8") == 0


async def test_a_bound_too_small_to_count_one_failure_is_refused(streams: Streams, prefix: str) -> None:
    with pytest.raises(ValueError, match="max_keys must be at least 3"):
        SharedLoginLimiter(streams.redis, prefix, LoginLimits(), max_keys=2)
