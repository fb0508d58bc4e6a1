"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import inspect
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

    from wallboard.config import Config
    from wallboard.streams import Streams


def post_events(port: int, token: str, events: list[dict[str, Any]]) -> int:
    """POST ``events`` to the ingest API on ``port`` with a source's bearer ``token``: the status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/events",
            json.dumps({"events": events}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listening(port: int) -> bool:
    """Whether something accepts connections on loopback ``port`` right now."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


def wait_for_port(port: int, timeout: float = 30.0, what: str = "server") -> None:
    """Block until something accepts connections on loopback ``port``."""
    eventually(lambda: listening(port), timeout, f"{what} listening on port {port}")


POLL_S = 0.05


def eventually(
    condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition", *, poll: float = POLL_S
) -> Any:
    """Wait until ``condition()`` returns something true, and return it (blocking: for sync tests;
    ``poll``: the seconds between two tries)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        time.sleep(poll)


def stays(condition: Callable[[], Any], seconds: float, what: str = "condition") -> None:
    """Check that ``condition()`` stays true for ``seconds`` (the "stays quiet for" of a sync test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            raise AssertionError(f"{what} stopped holding within {seconds:g} s")
        time.sleep(POLL_S)


async def _value(condition: Callable[[], Any]) -> Any:
    result = condition()
    return await result if inspect.isawaitable(result) else result


async def until(condition: Callable[[], Any | Awaitable[Any]], timeout: float = 30.0, what: str = "condition") -> Any:
    """Await until ``condition()`` (a plain or an async callable) gives something true, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        result = await _value(condition)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        await asyncio.sleep(POLL_S)


async def holds(condition: Callable[[], Any | Awaitable[Any]], seconds: float, what: str = "condition") -> None:
    """Await ``seconds`` while checking that ``condition()`` stays true (nothing arrives that should not)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await _value(condition):
            raise AssertionError(f"{what} stopped holding within {seconds:g} s")
        await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def collector_running(
    config: Config, streams: Streams, source: str | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Run a configured collector (the first, or the one named ``source``) in the background, as
    ``wallboard collect`` runs it (options validated, health reported, restarted on a crash); cancel it after."""
    from wallboard.collectors import configure
    from wallboard.collectors.runtime import run_collector

    configured = next(c for c in configure(config) if source is None or c.source == source)
    task = asyncio.create_task(run_collector(config, configured, streams))
    try:
        yield task
    finally:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=5)
        if not done:  # fail clearly rather than hang (and ask again, so nothing is left running)
            task.cancel()
            await asyncio.wait([task], timeout=5)
            raise AssertionError("the collector did not stop when cancelled")
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def uvicorn_serving(config: uvicorn.Config) -> AsyncIterator[uvicorn.Server]:
    """A uvicorn server of ``config`` in this event loop while the block runs (the test owns the
    process's signals, so the server installs no handler of its own)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done(), 10, "the server started")
        assert not task.done(), "the server did not start"
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
