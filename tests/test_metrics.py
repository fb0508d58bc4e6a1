"""Prometheus metrics: real Redis, real sockets, real processes.

A collector context emitting to a real Redis moves its counters; the hub with subscribers shows
screens per view and counts messages per broadcast; two worker processes in multiprocess mode are
summed by a scrape of either; the stream lag is read from a real consumer group; the asyncio server
and the web route answer a scrape only with the token; the Grafana dashboard queries exactly the
metrics defined.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request

from tests.helpers import free_port, until
from wallboard import metrics
from wallboard.collectors.runtime import CollectorContext
from wallboard.config import parse_config
from wallboard.events import CallQueued
from wallboard.hub import Hub
from wallboard.push import Message
from wallboard.streams import GROUP, Streams, connect
from wallboard.views import Selector

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "grafana" / "wallboard.json"
TS = time.time() - 60


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 when it has none yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: bytes | str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    body = text.decode() if isinstance(text, bytes) else text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


class NoOptions(BaseModel):
    pass


class Sink:
    """A screen's sink that keeps what it was sent; ``is_ready`` off is a full socket."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.is_ready = True
        self.on_ready: Any = None

    def ready(self) -> bool:
        return self.is_ready

    def write(self, message: Message) -> None:
        self.sent.append(message)

    def close(self) -> None:
        pass


def snapshot(seq: int, waiting: int = 0) -> dict[str, Any]:
    return {
        "seq": seq,
        "generated_at": "2026-03-10T08:00:00.000Z",
        "now": time.time() - 2.0,
        "screens": {"sala": {"waiting": waiting}},
        "teams": {"norte": {"name": "N"}},
        "agents": {},
        "queues": {},
        "sources": {},
    }


# ------------------------------------------------------------------ collectors


async def test_a_collector_counts_events_rejections_and_redis_retries(streams: Streams) -> None:
    config = parse_config({"collectors": [{"kind": "simulator", "name": "pbx1"}]}, env={})
    ctx = CollectorContext(config, config.collectors[0], NoOptions(), streams)
    events, rejected = (
        value("wallboard_collector_events_total", source="pbx1"),
        value("wallboard_collector_rejected_total", source="pbx1"),
    )
    await ctx.emit([CallQueued(f"e{i}", "pbx1", TS, "q", f"c{i}") for i in range(3)])
    ctx.reject("line 7: not a queue_log line")
    assert await streams.redis.xlen(streams.events_key) == 3
    assert value("wallboard_collector_events_total", source="pbx1") == events + 3
    assert value("wallboard_collector_rejected_total", source="pbx1") == rejected + 1

    # A Redis that is not there: the events are held and retried, each retry counted.
    down = connect(f"redis://127.0.0.1:{free_port()}/0")
    lost = CollectorContext(config, config.collectors[0], NoOptions(), Streams(down, "x:"))
    retries, errors = (
        value("wallboard_collector_redis_retries_total", source="pbx1"),
        value("wallboard_redis_errors_total", operation="append"),
    )
    task = asyncio.create_task(lost.emit([CallQueued("held", "pbx1", TS, "q", "c")]))
    try:
        await until(lambda: value("wallboard_collector_redis_retries_total", source="pbx1") >= retries + 2, 30)
        assert value("wallboard_redis_errors_total", operation="append") >= errors + 2
        assert not task.done()  # held, never dropped
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await down.aclose()


# ------------------------------------------------------------------------- hub


async def test_the_hub_shows_screens_per_view_and_counts_per_broadcast(streams: Streams) -> None:
    hub = Hub(streams, block_ms=100, heartbeat_s=3600)
    runner = asyncio.create_task(hub.run())
    base = {v: value("wallboard_web_screens", view=v) for v in metrics.VIEWS}
    sent, replaced = value("wallboard_web_messages_sent_total"), value("wallboard_web_messages_replaced_total")
    sent_bytes = value("wallboard_web_sent_bytes_total")
    try:
        await streams.publish_snapshot(1, json.dumps(snapshot(1)))
        await until(lambda: hub.latest is not None, 10, "the first snapshot")
        walls = [hub.subscribe(Selector("wall", ("sala",)), Sink()) for _ in range(3)]
        teams = [hub.subscribe(Selector("team", team="norte"), Sink()) for _ in range(2)]
        assert value("wallboard_web_screens", view="wall") == base["wall"] + 3
        assert value("wallboard_web_screens", view="team") == base["team"] + 2
        assert value("wallboard_web_screens", view="manager") == base["manager"]

        stalled = walls[0].sink
        assert isinstance(stalled, Sink)
        stalled.is_ready = False
        for seq in (2, 3):
            await streams.publish_snapshot(seq, json.dumps(snapshot(seq, waiting=seq)))
            await until(lambda s=seq: hub.latest is not None and hub.latest["seq"] == s, 10, f"snapshot {seq}")
        # 5 full views on connect, then 4 screens × 2 snapshots; the stalled screen missed snapshot 3.
        assert value("wallboard_web_messages_sent_total") == sent + 5 + 8 == sent + hub.messages_sent
        assert value("wallboard_web_messages_replaced_total") == replaced + 1
        assert value("wallboard_web_sent_bytes_total") == sent_bytes + hub.bytes_sent
        sample = scraped(metrics.exposition())
        assert 1.0 <= sample[("wallboard_web_snapshot_age_seconds", ())] < 60

        for sub in walls + teams:
            hub.unsubscribe(sub)
        hub.unsubscribe(walls[0])  # twice: counted once
        assert {v: value("wallboard_web_screens", view=v) for v in metrics.VIEWS} == base
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


# ---------------------------------------------------------- multiprocess mode

WORKER = """
import asyncio, sys, time
from wallboard import metrics
from wallboard.hub import Hub
from wallboard.streams import Streams, connect
from wallboard.views import Selector

class Sink:
    on_ready = None
    def ready(self): return True
    def write(self, message): pass
    def close(self): pass

async def main(url, prefix, walls, managers):
    metrics.started("web")
    client = connect(url)
    hub = Hub(Streams(client, prefix), block_ms=100, heartbeat_s=3600)
    task = asyncio.create_task(hub.run())
    for _ in range(walls):
        hub.subscribe(Selector("wall", ("sala",)), Sink())
    for _ in range(managers):
        hub.subscribe(Selector("manager"), Sink())
    while hub.latest is None or hub.latest["seq"] < 2:
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    task.cancel()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


@pytest.fixture
async def two_workers(tmp_path: Path, redis_url: str, streams: Streams) -> AsyncIterator[tuple[Path, list[Any]]]:
    directory = metrics.prepare_multiprocess_dir(tmp_path / "prom")
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    await streams.publish_snapshot(1, json.dumps(snapshot(1)))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, streams.prefix, str(walls), str(managers)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for walls, managers in ((3, 1), (4, 0))
    ]
    try:
        await streams.publish_snapshot(2, json.dumps(snapshot(2, waiting=1)))
        for w in workers:
            assert w.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(w.stdout.readline), 60)
            assert line.strip() == "ready"
        yield directory, workers
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait(30)
            for pipe in (w.stdin, w.stdout):
                if pipe is not None:
                    pipe.close()


async def test_multiprocess_mode_sums_the_workers_and_forgets_a_dead_ones_gauges(
    two_workers: tuple[Path, list[Any]],
) -> None:
    directory, workers = two_workers
    sample = scraped(metrics.exposition(directory))
    assert sample[("wallboard_web_screens", (("view", "wall"),))] == 7
    assert sample[("wallboard_web_screens", (("view", "manager"),))] == 1
    # Each screen got the full view of snapshot 1 or 2 at once and then maybe snapshot 2: 8 to 16 messages.
    assert 8 <= sample[("wallboard_web_messages_sent_total", ())] <= 16
    version = metrics.version()
    assert sample[("wallboard_process_info", (("role", "web"), ("version", version)))] == 2
    assert 1.0 <= sample[("wallboard_web_snapshot_age_seconds", ())] < 60
    sent_before = sample[("wallboard_web_messages_sent_total", ())]

    first = workers[0]
    assert first.stdin is not None
    first.stdin.close()  # it ends
    first.wait(30)
    metrics.process_exited(first.pid, directory)
    sample = scraped(metrics.exposition(directory))
    assert sample[("wallboard_web_screens", (("view", "wall"),))] == 4
    assert sample.get(("wallboard_web_screens", (("view", "manager"),)), 0) == 0  # (the dead worker had it)
    assert sample[("wallboard_process_info", (("role", "web"), ("version", version)))] == 1
    assert sample[("wallboard_web_messages_sent_total", ())] == sent_before  # a counter keeps what it counted


def test_the_multiprocess_directory_must_be_set_before_the_process_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported"):
        metrics.exposition()


# ------------------------------------------------------------------ stream lag


async def test_stream_lag_is_what_the_group_has_not_read(streams: Streams) -> None:
    await streams.ensure_group()
    assert await metrics.read_stream_lag(streams.redis, streams.events_key, GROUP) == 0
    assert value("wallboard_aggregator_stream_lag_entries") == 0
    await streams.append([CallQueued(f"l{i}", "pbx1", TS, "q", f"c{i}") for i in range(25)])
    assert await metrics.read_stream_lag(streams.redis, streams.events_key, GROUP) == 25
    assert value("wallboard_aggregator_stream_lag_entries") == 25
    assert 0 <= value("wallboard_aggregator_stream_lag_seconds") < 60
    read = await streams.read_new("c1", 10, 100)
    assert len(read) == 10
    assert await metrics.read_stream_lag(streams.redis, streams.events_key, GROUP) == 15
    assert value("wallboard_aggregator_stream_pending_entries") == 10
    await streams.read_new("c1", 100, 100)
    assert await metrics.read_stream_lag(streams.redis, streams.events_key, GROUP) == 0
    assert value("wallboard_aggregator_stream_lag_seconds") == 0


def test_aggregator_totals_are_read_at_scrape_time_with_bounded_labels() -> None:
    refused: dict[str, dict[str, int]] = {"pbx1": {"future": 2}}
    figures = {"applied": 10}
    metrics.watch_aggregator(lambda: metrics.FoldFigures(figures["applied"], 1, 0, refused), sources=("pbx1",))
    try:
        assert scraped(metrics.exposition())[("wallboard_aggregator_events_folded_total", ())] == 10
        figures["applied"] = 12
        refused["+34699555123"] = {"unconfigured_queue": 1, "invented": 4}  # a source read from input
        sample = scraped(metrics.exposition())
        assert sample[("wallboard_aggregator_events_folded_total", ())] == 12
        assert sample[("wallboard_aggregator_refused_total", (("reason", "future"), ("source", "pbx1")))] == 2
        assert (
            sample[("wallboard_aggregator_refused_total", (("reason", "unconfigured_queue"), ("source", "other")))] == 1
        )
        assert sample[("wallboard_aggregator_refused_total", (("reason", "other"), ("source", "other")))] == 4
        assert b"34699555123" not in metrics.exposition()
    finally:
        metrics.unwatch_aggregator()
    assert ("wallboard_aggregator_events_folded_total", ()) not in scraped(metrics.exposition())


# ----------------------------------------------------------------- exposition


async def _get(port: int, path: str = "/metrics", token: str | None = None) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split(" ")[1]), body


async def test_serve_answers_a_scrape_with_the_token_only() -> None:
    metrics.started("aggregate")
    port = free_port()
    server = await metrics.serve(port, token="s3cret")
    try:
        assert (await _get(port))[0] == 401
        assert (await _get(port, token="wrong"))[0] == 401
        assert (await _get(port, "/other", token="s3cret"))[0] == 404
        status, body = await _get(port, token="s3cret")
        assert status == 200
        sample = scraped(body)
        assert sample[("wallboard_process_info", (("role", "aggregate"), ("version", metrics.version())))] == 1
        assert ("process_start_time_seconds", ()) in sample  # the default collector, for restarts
        assert (
            abs(sample[("wallboard_process_start_time_seconds", ())] - sample[("process_start_time_seconds", ())]) < 2
        )
    finally:
        server.close()
        await server.wait_closed()


async def test_metrics_route_follows_the_rule_it_is_given() -> None:
    def may_read(request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer t0ken"

    app = Starlette(routes=[metrics.metrics_route(may_read)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401 and "health_token" in refused.text
        answer = await client.get("/metrics", headers={"authorization": "Bearer t0ken"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    sample = scraped(answer.text)
    assert sample[("wallboard_process_info", (("role", "web"), ("version", metrics.version())))] == 1
    assert ("wallboard_web_screens", (("view", "wall"),)) in sample or "wallboard_web_screens" in answer.text


async def test_the_web_app_serves_metrics_like_healthz(
    tmp_path: Path, redis_url: str, prefix: str, streams: Streams
) -> None:
    """The real web process: /metrics with web.health_token, 401 without (needs the route in create_app)."""
    from tests.test_doors import serving

    async with (
        serving(tmp_path, redis_url, prefix, streams) as site,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{site.port}") as client,
    ):
        refused = await client.get("/metrics", follow_redirects=False)
        answer = await client.get("/metrics", headers={"authorization": "Bearer a-token-for-the-monitor"})
    assert refused.status_code == 401 and "web.health_token" in refused.text  # (the gate's own 401 says sign in)
    assert answer.status_code == 200, answer.text[:200]
    sample = scraped(answer.text)
    assert sample[("wallboard_process_info", (("role", "web"), ("version", metrics.version())))] == 1
    assert ("wallboard_web_connections_open", ()) in sample


async def test_the_ingest_api_counts_by_source_and_status(streams: Streams) -> None:
    from wallboard.collectors import configure
    from wallboard.ingest.routes import Ingest, routes

    raw = {
        "queues": [{"id": "ventas", "name": "Ventas"}],
        "collectors": [{"kind": "http", "name": "crm", "options": {"tokens": ["tok-0123456789abcdef"]}}],
    }
    config = parse_config(raw, env={})
    app = Starlette(routes=routes())
    app.state.ingest = Ingest.for_web(config, configure(config), streams)
    accepted, duplicates = (
        value("wallboard_ingest_events_accepted_total", source="crm"),
        value("wallboard_ingest_events_duplicate_total", source="crm"),
    )
    ok, bad = (
        value("wallboard_ingest_requests_total", source="crm", status="200"),
        value("wallboard_ingest_requests_total", source="crm", status="422"),
    )
    unknown = value("wallboard_ingest_requests_total", source="none", status="401")
    refused = value("wallboard_ingest_events_refused_total", source="crm")
    batch = {
        "events": [
            {"kind": "call.queued", "id": f"i{i}", "ts": TS, "queue": "ventas", "call_id": "c"} for i in range(4)
        ]
    }
    headers = {"authorization": "Bearer tok-0123456789abcdef"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w") as client:
        assert (await client.post("/api/v1/events", json=batch, headers=headers)).status_code == 200
        assert (await client.post("/api/v1/events", json=batch, headers=headers)).status_code == 200
        invalid = {"events": [*batch["events"], {"kind": "call.queued", "id": "x", "ts": "soon"}]}
        assert (await client.post("/api/v1/events", json=invalid, headers=headers)).status_code == 422
        assert (await client.post("/api/v1/events", json=batch)).status_code == 401
    assert value("wallboard_ingest_events_accepted_total", source="crm") == accepted + 4
    assert value("wallboard_ingest_events_duplicate_total", source="crm") == duplicates + 4
    assert value("wallboard_ingest_requests_total", source="crm", status="200") == ok + 2
    assert value("wallboard_ingest_requests_total", source="crm", status="422") == bad + 1
    assert value("wallboard_ingest_requests_total", source="none", status="401") == unknown + 1
    assert value("wallboard_ingest_events_refused_total", source="crm") == refused + 5


# ------------------------------------------------------------------- the names


def test_every_metric_is_named_with_its_unit_and_bounded_labels() -> None:
    found = metrics.families()
    assert len(found) >= 30
    for name, kind in found.items():
        assert name.startswith("wallboard_"), name
        if kind == "counter":
            assert name.endswith("_total"), name
        elif name not in ("wallboard_process_info", "wallboard_aggregator_active", "wallboard_web_screens"):
            assert re.search(r"_(seconds|bytes|entries|open)$", name), f"{name}: no unit in its name"
    labels = {
        label for m in REGISTRY.collect() for s in m.samples for label in s.labels if m.name.startswith("wallboard_")
    }
    assert labels <= {"source", "view", "reason", "code", "status", "operation", "role", "version", "le"}, labels


def _queried(expr: str) -> set[str]:
    names = set(re.findall(r"\b(?:wallboard|process)_[a-z_]+", expr))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


def test_the_dashboard_queries_every_metric_and_only_those() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in board["templating"]["list"])
    queried: set[str] = set()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            queried |= _queried(target["expr"])
    defined = set(metrics.families()) | {"process_start_time_seconds"}  # (the default collector)
    histograms = {n for n, k in metrics.families().items() if k == "histogram"}
    assert queried - defined == set(), "the dashboard queries metrics that do not exist"
    assert set(metrics.families()) - queried == set(), "metrics no panel shows"
    assert histograms  # fold time p50/p99 among them
    assert any("histogram_quantile(0.99" in t["expr"] for p in board["panels"] for t in p.get("targets", []))
