"""The HTTP ingest API over real sockets: a `wallboard web` process, http.client, a real Redis."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from tests.helpers import eventually, free_port, wait_for_port
from tests.stack import Stack
from wallboard.collectors import configure
from wallboard.collectors.runtime import run_collector
from wallboard.config import parse_config
from wallboard.events import EVENT_TYPES
from wallboard.ingest.rate import TokenBucket
from wallboard.ingest.schema import json_schema
from wallboard.streams import Streams
from wallboard.wire import decode

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "crm-token-0123456789abcdef"
SLOW_TOKEN = "slow-token-0123456789abcdef"
TINY_TOKEN = "tiny-token-0123456789abcdef"
TS = time.time() - 60


class Web:
    """`wallboard web` with two ingest sources and display keys on (the API must not need them)."""

    def __init__(self, tmp: Path, redis_url: str) -> None:
        def adjust(raw: dict[str, Any]) -> None:
            raw["collectors"] = [
                {
                    "kind": "http",
                    "name": "crm",
                    "options": {"tokens": ["${CRM_TOKEN}"], "max_batch": 50, "max_body_bytes": 20_000},
                },
                {
                    "kind": "http",
                    "name": "dialer",
                    "options": {"tokens": ["${DIALER_TOKEN}"], "rate_per_s": 1, "burst": 5},
                },
                {"kind": "http", "name": "tiny", "options": {"tokens": ["${TINY_TOKEN}"], "dedup_max_ids": 1000}},
            ]
            raw["auth"]["open"] = False  # the API takes its own tokens whatever the screens' sign-in

        secrets = {"CRM_TOKEN": TOKEN, "DIALER_TOKEN": SLOW_TOKEN, "TINY_TOKEN": TINY_TOKEN}
        self.stack = Stack(
            tmp, redis_url=redis_url, prefix=f"ingest{os.getpid()}-{tmp.name}:", adjust=adjust, env=secrets
        )
        self.port, self.prefix = self.stack.port, self.stack.prefix
        self.stack.start("web")
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        wait_for_port(self.port, 30, "web process")

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            is_json = r.getheader("content-type", "").startswith("application/json")
            return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(data) if is_json else data
        finally:
            conn.close()

    def post(
        self, payload: Any, token: str | None = TOKEN, raw: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", "/api/v1/events", body, headers)

    def events(self) -> list[Any]:
        return [decode(fields) for _, fields in self.redis.xrange(self.prefix + "events")]

    def health(self, source: str) -> dict[str, Any]:
        return json.loads(self.redis.hget(self.prefix + "sources", source) or "{}")  # type: ignore[arg-type]

    def stop(self) -> None:
        self.stack.stop("web", signal.SIGTERM, 30)
        self.redis.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Web]:
    w = Web(tmp_path_factory.mktemp("ingest"), redis_url)
    try:
        yield w
    finally:
        w.stop()


def call(i: int, **over: Any) -> dict[str, Any]:
    return {
        "kind": "call.answered",
        "id": f"ans-{i}",
        "ts": TS + i / 1000,
        "queue": "ventas",
        "call_id": f"c{i}",
        "agent": "raul.serrano",
        "wait_s": 12.5,
        **over,
    }


def test_a_batch_is_accepted_and_a_retry_counts_once(web: Web) -> None:
    batch = {
        "events": [
            {"kind": "call.queued", "id": "q-1", "ts": TS, "queue": "ventas", "call_id": "c1"},
            call(1),
            {
                "kind": "agent.state",
                "id": "s-1",
                "ts": TS + 2,
                "agent": "raul.serrano",
                "state": "not_ready",
                "reason": "lunch",
                "source": "crm",
            },
        ]
    }
    before = len(web.events())
    status, _, body = web.post(batch)
    assert (status, body) == (200, {"accepted": 3, "duplicates": 0})
    events = web.events()[before:]
    assert [(e.KIND, e.id, e.source) for e in events] == [
        ("call.queued", "crm:q-1", "crm"),
        ("call.answered", "crm:ans-1", "crm"),
        ("agent.state", "crm:s-1", "crm"),
    ]
    assert events[1].wait_s == 12.5 and events[2].reason == "lunch"
    # the client timed out and sends the same batch again: nothing is appended twice
    status, _, body = web.post(batch)
    assert (status, body) == (200, {"accepted": 0, "duplicates": 3})
    assert len(web.events()) == before + 3
    # the same id twice in one batch is one event
    status, _, body = web.post({"events": [call(7), call(7)]})
    assert (status, body) == (200, {"accepted": 1, "duplicates": 1})


def test_tokens_say_which_source_and_nothing_else_gets_in(web: Web) -> None:
    for token in (None, "", "crm-token-0123456789abcdeX", TOKEN[:-1]):
        status, headers, body = web.post({"events": [call(100)]}, token=token)
        assert status == 401 and "token" in body["error"]
        assert headers["www-authenticate"].startswith("Bearer")
    status, _, body = web.post({"events": [call(101, source="dialer")]})
    assert status == 422
    assert body["errors"] == [
        {
            "index": 0,
            "id": "ans-101",
            "field": "source",
            "reason": "must be 'crm' (the token's source) or left out, got 'dialer'",
        }
    ]
    status, _, body = web.post({"events": [call(102)]}, token=SLOW_TOKEN)
    assert status == 200
    assert [e.source for e in web.events() if e.id.endswith("ans-102")] == ["dialer"]


def test_every_bad_event_is_reported_and_none_is_taken(web: Web) -> None:
    before = len(web.events())
    errors_before = web.health("crm").get("errors_total", 0)
    batch = {
        "events": [
            call(200),  # fine, but the batch is all or nothing
            call(201, wait_s="twelve"),
            {k: v for k, v in call(202).items() if k != "agent"},
            {"kind": "call.teleported", "id": "x-1", "ts": TS},
            call(203, colour="blue"),
            "not an object",
            call(204, id=""),
            call(205, ts=12),
            {"kind": "agent.state", "id": "s-9", "ts": TS, "agent": "ana", "state": "dancing"},
        ]
    }
    status, _, body = web.post(batch)
    assert status == 422
    assert body["accepted"] == 0 and body["error"] == "8 invalid event(s); none accepted"
    got = [(e["index"], e["field"], e["reason"]) for e in body["errors"]]
    assert got == [
        (1, "wait_s", "must be a number, got 'twelve'"),
        (2, "agent", "is missing (required for call.answered)"),
        (3, "kind", "unknown event kind; known: " + ", ".join(EVENT_TYPES) + ", got 'call.teleported'"),
        (4, "colour", "is not a field of call.answered"),
        (5, "(event)", "must be a JSON object"),
        (6, "id", "must be a non-empty text (your own unique id: retries reuse it), got ''"),
        (7, "ts", "must be POSIX seconds between 2000 and 2100, got 12"),
        (
            8,
            "state",
            "must be one of logged_out, available, ringing, on_call, on_hold, wrap_up, not_ready, got 'dancing'",
        ),
    ]
    assert len(web.events()) == before
    # (+1 if the last test's is published late)
    eventually(lambda: web.health("crm").get("errors_total", 0) >= errors_before + 8, 5, "8 more errors reported")
    assert "HTTP 422" in web.health("crm")["last_error"]


def test_malformed_requests_get_the_status_that_fits(web: Web) -> None:
    assert web.post(None, raw=b'{"events": [')[0] == 400
    assert web.post(None, raw=b"\xff\xfe\x00garbage")[0] == 400
    assert web.post({"evnts": [call(1)]})[0] == 400
    assert web.post({"events": []})[0] == 400
    assert web.post([call(1)])[0] == 400
    assert web.post({"events": [call(1)]}, content_type="text/plain")[0] == 415
    status, _, body = web.post({"events": [call(i) for i in range(51)]})
    assert status == 413 and "at most 50" in body["error"]
    status, _, body = web.post({"events": [call(1, queue="x" * 200)] * 200})
    assert status == 413 and "20000 bytes" in body["error"]
    assert web.request("GET", "/api/v1/events")[0] == 405
    assert web.stack.procs["web"].poll() is None  # still serving


def test_what_the_stream_takes_but_the_api_does_not(web: Web) -> None:
    before = len(web.events())
    packed = json.dumps(["call.queued", "pbx:spoofed", "pbx", TS, "ventas", "c9"])
    status, _, body = web.post({"events": [{"e": packed, "id": "x1"}]})  # the stream's packed form
    assert status == 422 and body["errors"][0]["field"] == "kind"
    status, _, body = web.post(None, raw=b"[" * 9_000 + b"]" * 9_000)  # nested too deeply for a parser
    assert (status, body["error"]) == (400, "body is not valid JSON: nested too deeply")
    assert len(web.events()) == before and web.stack.procs["web"].poll() is None


def test_text_that_is_not_unicode_is_a_422_naming_the_field(web: Web) -> None:
    before = len(web.events())
    errors_before = web.health("crm").get("errors_total", 0)
    # JSON can spell a lone surrogate; UTF-8 (and so Redis, the log, the reply) cannot carry it
    ts = json.dumps(TS)
    bodies = {
        "queue": f'{{"events": [{{"kind": "call.queued", "id": "u-1", "ts": {ts}, "queue": "\\ud800", '
        f'"call_id": "c1"}}]}}',
        "id": f'{{"events": [{{"kind": "call.queued", "id": "u-\\udfff", "ts": {ts}, "queue": "ventas", '
        f'"call_id": "c1"}}]}}',
        "qu\\ud800eue": f'{{"events": [{{"kind": "call.queued", "id": "u-3", "ts": {ts}, "qu\\ud800eue": "v", '
        f'"call_id": "c1"}}]}}',
    }
    expected_id = {"queue": "u-1", "id": None, "qu\\ud800eue": "u-3"}  # (an id that cannot be shown is null)
    for field, body in bodies.items():
        status, _, reply = web.post(None, raw=body.encode())
        assert status == 422, reply
        assert reply["errors"] == [
            {
                "index": 0,
                "id": expected_id[field],
                "field": field,
                "reason": "is not valid Unicode text (a lone surrogate such as \\ud800)",
            }
        ]
    assert len(web.events()) == before and web.stack.procs["web"].poll() is None
    eventually(lambda: web.health("crm").get("errors_total", 0) >= errors_before + 3, 5, "3 more errors reported")
    assert "not valid Unicode" in web.health("crm")["last_error"]


def test_the_id_store_stays_under_its_cap_and_a_retry_is_taken_once(web: Web) -> None:
    store = [web.prefix + f"seen:ingest:tiny:{k}" for k in range(4)]
    before = len(web.events())
    for n in range(3):  # 3 000 ids into a store of at most 1 000
        batch = {"events": [call(5000 + 1000 * n + i) for i in range(1000)]}
        status, _, body = web.post(batch, token=TINY_TOKEN)
        assert (status, body) == (200, {"accepted": 1000, "duplicates": 0})
        assert sum(web.redis.scard(k) for k in store) <= 1000  # type: ignore[misc]
    status, _, body = web.post(batch, token=TINY_TOKEN)  # the last batch, retried
    assert (status, body) == (200, {"accepted": 0, "duplicates": 1000})
    assert len(web.events()) == before + 3000


async def test_the_id_store_forgets_after_its_horizon(streams: Streams) -> None:
    ids = [bytes([i]) * 16 for i in range(3)]
    t0 = 1_800_000_000.0
    assert await streams.claim_ids("s", ids, now=t0, horizon_s=3 * 3600, max_ids=1000) == ([0, 1, 2], 0)
    assert await streams.claim_ids("s", ids[1:], now=t0 + 2 * 3600, horizon_s=3 * 3600, max_ids=1000) == ([], 0)
    assert await streams.claim_ids("s", ids[:1], now=t0 + 3 * 3600, horizon_s=3 * 3600, max_ids=1000) == ([], 0)
    # remembered for the horizon and at most a span (an hour) more
    assert await streams.claim_ids("s", ids, now=t0 + 4 * 3600 + 1, horizon_s=3 * 3600, max_ids=1000) == ([0, 1, 2], 0)


async def test_a_full_id_store_forgets_its_oldest_quarter_never_more_than_its_cap(streams: Streams) -> None:
    early_total = 0
    for n in range(10):
        batch = [n.to_bytes(2, "big") + i.to_bytes(14, "big") for i in range(700)]
        fresh, early = await streams.claim_ids("cap", batch, now=1_800_000_000.0 + n, horizon_s=3600, max_ids=2000)
        assert fresh == list(range(700))
        early_total += early
        assert await streams.id_store_size("cap") <= 2000
        fresh, _ = await streams.claim_ids("cap", batch, now=1_800_000_000.0 + n, horizon_s=3600, max_ids=2000)
        assert fresh == []  # the newest are always remembered
    assert early_total >= 2
    await streams.release_ids("cap", batch)
    fresh, _ = await streams.claim_ids("cap", batch[:5], now=1_800_000_010.0, horizon_s=3600, max_ids=2000)
    assert fresh == [0, 1, 2, 3, 4]  # released: a retry may take them


def test_concurrent_retries_of_a_batch_append_it_once(web: Web) -> None:
    from concurrent.futures import ThreadPoolExecutor

    batch = {"events": [call(900 + i) for i in range(20)]}
    before = len(web.events())
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: web.post(batch), range(8)))
    assert all(status == 200 for status, _, _ in results)
    assert sorted(body["accepted"] for _, _, body in results) == [0] * 7 + [20]
    assert len(web.events()) == before + 20


def test_rate_limit_answers_429_with_retry_after(web: Web) -> None:
    # dialer: 1 event/s, burst 5 (test_tokens used one of them)
    status, _, body = web.post({"events": [call(300 + i) for i in range(6)]}, token=SLOW_TOKEN)
    assert status == 413 and "burst" in body["error"]
    codes = []
    for i in range(4):
        status, headers, body = web.post({"events": [call(310 + i)]}, token=SLOW_TOKEN)
        codes.append(status)
    status, headers, body = web.post({"events": [call(320), call(321)]}, token=SLOW_TOKEN)
    assert status == 429 and int(headers["retry-after"]) >= 1 and "1 events/s" in body["error"]
    assert codes.count(200) >= 3


def test_health_is_reported_and_the_schema_served(web: Web) -> None:
    eventually(lambda: web.health("crm").get("events_total", 0) >= 1, 5, "events counted in the health")
    assert web.health("crm")["kind"] == "http" and web.health("crm")["connected"] is True
    status, _, schema = web.request("GET", "/api/v1/schema")
    assert status == 200 and schema == json_schema()


def test_the_rate_limit_lets_a_burst_through_then_the_rate() -> None:
    bucket = TokenBucket.full(2.0, 5, now=0.0)
    assert bucket.take(5, 0.0) == 0.0
    assert bucket.take(1, 0.0) == 0.5  # seconds until one more may pass
    assert bucket.take(1, 0.5) == 0.0
    assert bucket.take(5, 100.0) == 0.0  # refilled to the burst, never past it
    assert bucket.take(1, 100.0) == 0.5


def test_the_documented_schema_is_the_one_served() -> None:
    documented = json.loads((ROOT / "docs" / "ingest.schema.json").read_text())
    assert documented == json_schema(), "regenerate: python -m wallboard.ingest.schema > docs/ingest.schema.json"
    kinds = [v["properties"]["kind"]["const"] for v in documented["properties"]["events"]["items"]["oneOf"]]
    assert kinds == list(EVENT_TYPES)


async def test_served_alone_on_its_own_port(streams: Streams) -> None:
    port = free_port()
    config = parse_config(
        {
            "queues": [{"id": "ventas"}],
            "agents": [{"id": "raul.serrano"}],
            "web": {"handshake_timeout_s": 0.5, "max_connections_per_client": 2},
            "collectors": [{"kind": "http", "name": "cloud", "options": {"tokens": [TOKEN], "port": port}}],
        },
        env={},
    )
    task = asyncio.create_task(run_collector(config, configure(config)[0], streams))
    try:
        await asyncio.to_thread(wait_for_port, port, 30, "ingest API")

        def post() -> tuple[int, Any]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                "/api/v1/events",
                json.dumps({"events": [call(1)]}),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            r = conn.getresponse()
            out = r.status, json.loads(r.read())
            conn.close()
            return out

        assert await asyncio.to_thread(post) == (200, {"accepted": 1, "duplicates": 0})
        entries = await streams.redis.xrange(streams.events_key)
        assert [decode(f).id for _, f in entries] == ["cloud:ans-1"]
        # the web process's routes: the schema too, and a wrong method is a 405

        def get(path: str) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                return r.status, r.read()
            finally:
                conn.close()

        status, body = await asyncio.to_thread(get, "/api/v1/schema")
        assert status == 200 and json.loads(body) == json_schema()
        assert (await asyncio.to_thread(get, "/api/v1/events"))[0] == 405
        # the web process's limits hold on this port too: an idle connection is closed ...
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # ... and a third connection from one address is refused
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 403")
        for _, w in [*held, (reader, writer)]:
            w.close()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_redis_down_is_a_503_and_nothing_is_half_taken(tmp_path: Path) -> None:
    from wallboard.redis_server import EmbeddedRedis
    from wallboard.streams import connect

    server = EmbeddedRedis(tmp_path / "r", persist=False)
    server.start()
    client = connect(server.url)
    port = free_port()
    config = parse_config(
        {
            "queues": [{"id": "ventas"}],
            "agents": [{"id": "raul.serrano"}],
            "collectors": [{"kind": "http", "name": "cloud", "options": {"tokens": [TOKEN], "port": port}}],
        },
        env={},
    )
    task = asyncio.create_task(run_collector(config, configure(config)[0], Streams(client, "down:")))

    def post() -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(
                "POST",
                "/api/v1/events",
                json.dumps({"events": [call(1)]}),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(r.read())
        finally:
            conn.close()

    try:
        await asyncio.to_thread(wait_for_port, port, 30, "ingest API")
        server.stop()
        status, headers, body = await asyncio.to_thread(post)
        assert status == 503 and headers["retry-after"] == "5" and "nothing was taken" in body["error"]
        server.start()  # the same port: the client's retry now goes through, once
        assert (await asyncio.to_thread(post))[0::2] == (200, {"accepted": 1, "duplicates": 0})
        assert (await asyncio.to_thread(post))[0::2] == (200, {"accepted": 0, "duplicates": 1})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        server.stop()


def test_collect_refuses_an_api_the_web_process_serves(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"collectors": [{"kind": "http", "name": "crm", "options": {"tokens": [TOKEN]}}]}))
    r = subprocess.run(
        [sys.executable, "-m", "wallboard", "collect", "--source", "crm", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "served by `wallboard web`" in r.stderr


def test_a_short_token_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"collectors": [{"kind": "http", "name": "crm", "options": {"tokens": ["short"]}}]}))
    r = subprocess.run(
        [sys.executable, "-m", "wallboard", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "collectors[0].options.tokens" in r.stderr and "shorter than 16" in r.stderr


def test_what_the_aggregator_would_refuse_is_a_422_that_says_why(web: Web) -> None:
    now = time.time()
    cases = [
        (
            call(300, ts=4_070_908_800.0),
            "ts",
            "s ahead of the wallboard's clock (at most 120 s, events.max_clock_skew_s): check the sender's clock",
        ),
        (call(301, ts=now - 3 * 86_400), "ts", "is older than the 2 days the wallboard keeps (events.retain_days)"),
        (call(302, queue="invented"), "queue", "is not a queue of the wallboard's config, got 'invented'"),
        (
            {"kind": "agent.state", "id": "s-303", "ts": now, "agent": "Ana Rojas +34699555123", "state": "available"},
            "agent",
            "is not an agent id of the wallboard's config",
        ),
    ]
    before = len(web.events())
    for event, field, reason in cases:
        status, _, body = web.post({"events": [call(299), event]})
        assert status == 422 and body["accepted"] == 0
        [error] = body["errors"]
        assert error["index"] == 1 and error["field"] == field and error["reason"].endswith(reason)
        assert "+34699555123" not in json.dumps(body)
    assert len(web.events()) == before  # all or nothing: the good event of each batch was not taken either
    # within the skew: a sender's clock a little fast is fine
    status, _, body = web.post({"events": [call(304, ts=now + 60)]})
    assert (status, body) == (200, {"accepted": 1, "duplicates": 0})
