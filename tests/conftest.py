"""Shared fixtures: a real Redis server, isolated key prefixes, config factories."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wallboard.config import Config, parse_config
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: $REDIS_URL if given, else a server started from the embedded binary."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own, so tests never see each other's keys."""
    return f"test{os.getpid()}-{next(_prefixes)}:"


@pytest.fixture
async def streams(redis_url: str, prefix: str) -> AsyncIterator[Streams]:
    client = connect(redis_url)
    try:
        yield Streams(client, prefix, maxlen=2_000_000)
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def make_config() -> Callable[..., Config]:
    """Build a Config from keyword sections (validated exactly like config.yaml)."""

    def make(**sections: Any) -> Config:
        sections.setdefault("timezone", "Europe/Madrid")
        return parse_config(sections, source="test-config")

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, one per test module (required in CI: ``make test``
    installs it; elsewhere the browser tests are skipped without it)."""
    from playwright.sync_api import sync_playwright

    from tests.stack import CHROMIUM_ARGS, chromium

    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required for the browser tests in CI (make test installs Debian's chromium)")
        pytest.skip("no chromium on this machine (make test installs it when it can)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
