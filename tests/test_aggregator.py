"""The aggregator on a real Redis: folding, snapshots, bad entries, restarts, a SIGKILL mid-stream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import until
from wallboard.aggregator import Aggregator
from wallboard.checkpoint import from_dict, to_dict
from wallboard.collectors.simulator import Options, Simulation
from wallboard.config import Config, load_config
from wallboard.events import CallAnswered, CallQueued, Event
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.freshness import SOURCE_STALE_S, source_status
from wallboard.snapshot import build_view
from wallboard.state import CentreState
from wallboard.streams import Streams
from wallboard.wire import decode, encode

ROOT = Path(__file__).resolve().parent.parent
CONFIG: Config = load_config(ROOT / "config.yaml", env={})
START = 1_773_097_200.0  # 2026-03-10 00:00 Europe/Madrid
#: The aggregators' clock in these tests: after every simulated event (100k span ~35 h), within the retained 2 days.
NOW = START + 40 * 3600


def clock() -> float:
    return NOW


def simulated(n: int, seed: int = 3, start: float = START) -> list[Event]:
    sim = Simulation(CONFIG, Options(seed=seed, default_calls_per_hour=300, calls_per_hour={}), start)
    out: list[Event] = []
    for e in sim.events():
        out.append(e)
        if len(out) == n:
            return out
    raise AssertionError("unreachable")


def pure_fold(events: list[Event], now: float = NOW) -> CentreState:
    state = CentreState()
    apply_all(state, FoldSettings.from_config(CONFIG), [decode(encode(e)) for e in events], now)
    return state


def content(state: dict[str, Any]) -> dict[str, Any]:
    """A saved state without its housekeeping clock readings (two runs read the clock at other instants)."""
    return {k: v for k, v in state.items() if k not in ("now", "pruned_at", "generation_start")}


async def drain(agg: Aggregator, streams: Streams, last_id: str) -> None:
    for _ in range(10_000):
        if agg.last_id == last_id:
            break
        await agg.step()
    await agg.commit()


async def test_folds_publishes_and_keeps_seq_monotonic(streams: Streams) -> None:
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=10, publish_min_s=0.0)
    await agg.restore()
    await agg.recover()
    ids = await streams.append(
        [
            CallQueued("q1", "simulador", START + 1, "ventas", "c1"),
            CallAnswered("a1", "simulador", START + 9, "ventas", "c1", "ana", 8.0),
        ]
    )
    await drain(agg, streams, ids[-1])
    await agg.publish()
    first = await streams.latest_snapshot()
    assert first is not None
    assert first["pipeline"]["applied"] == 2
    assert first["queues"]["ventas"]["name"] == "Ventas"
    assert first["generated_at"].endswith("Z")
    assert set(first["sources"]) == {"simulador"} and first["sources"]["simulador"]["stale"]  # no collector beat
    await agg.publish()
    second = await streams.latest_snapshot()
    assert second is not None and second["seq"] == first["seq"] + 1
    # a new aggregator continues the sequence
    agg2 = Aggregator(CONFIG, streams, clock=clock)
    await agg2.restore()
    assert agg2.seq == second["seq"]


async def test_bad_entries_are_kept_counted_and_skipped(streams: Streams) -> None:
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=10)
    await agg.restore()
    await streams.append_raw(
        {
            "kind": "call.answered",
            "id": "x",
            "source": "s",
            "ts": str(START),
            "queue": "ventas",
            "call_id": "c",
            "agent": "a",
            "wait_s": "eleven",
        }
    )
    await streams.append_raw({"garbage": "\x00\xff"})
    last = (await streams.append([CallQueued("ok", "s", START, "ventas", "c9")]))[-1]
    await drain(agg, streams, last)
    assert agg.rejected == 2 and agg.state.applied == 1
    rejected = await streams.redis.xrange(streams.rejected_key)
    reasons = [fields["reason"] for _, fields in rejected]
    assert reasons == ["field 'wait_s': must be a number, got 'eleven'", "field 'kind': is missing"]
    assert (await streams.group_info())["pending"] == 0


async def test_restart_continues_exactly_where_it_stopped(streams: Streams) -> None:
    events = simulated(6_000)
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=10, batch=700)
    await agg.restore()
    ids = await streams.append(events[:3_000])
    await drain(agg, streams, ids[-1])
    # more events are read but not checkpointed when this aggregator "dies"
    ids = await streams.append(events[3_000:])
    await agg.step()
    await agg.step()
    assert agg.state.applied > 3_000
    survivor = Aggregator(CONFIG, streams, clock=clock, block_ms=10)
    await survivor.restore()
    assert survivor.state.applied == 3_000
    await survivor.recover()
    await drain(survivor, streams, ids[-1])
    assert to_dict(survivor.state) == to_dict(pure_fold(events))
    assert (await streams.group_info())["pending"] == 0


# ------------------------------------------------------------- SIGKILL


def _aggregator_process(tmp_path: Path, redis_url: str, prefix: str) -> subprocess.Popen[bytes]:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["redis"] = {"url": redis_url, "prefix": prefix, "stream_maxlen": 2_000_000}
    raw["collectors"] = []
    path = tmp_path / f"{prefix.strip(':')}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    env = {k: v for k, v in os.environ.items() if k != "WALLBOARD_REDIS_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "wallboard", "aggregate", "--config", str(path), "--log-level", "WARNING"], env=env
    )


async def _wait_for(streams: Streams, predicate: Any, timeout: float = 120.0) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        checkpoint = await streams.load_checkpoint()
        return checkpoint if checkpoint is not None and predicate(checkpoint) else None

    found: dict[str, Any] = await until(reached, timeout, "the aggregator's checkpoint")
    return found


async def pending_entries(streams: Streams) -> int:
    pending: int = (await streams.group_info())["pending"]
    return pending


async def _feed(streams: Streams, events: list[Event], batch: int = 1_000) -> str:
    last = ""
    for i in range(0, len(events), batch):
        last = (await streams.append(events[i : i + batch]))[-1]
        await asyncio.sleep(0)
    return last


@pytest.mark.slow
async def test_sigkill_mid_stream_then_restart_equals_uninterrupted_run(
    tmp_path: Path, redis_url: str, streams: Streams, prefix: str
) -> None:
    # Real aggregator processes read the real clock: the events (spanning 35–39 h) end hours
    # before it, so no rolling-window record sits at the window's edge, where two runs a few
    # seconds apart would disagree, and all are within the two days kept.
    events = simulated(100_000, start=time.time() - 46 * 3600)
    now = events[-1].ts + 60

    # uninterrupted run, on keys of its own
    ref_streams = Streams(streams.redis, prefix + "ref:", streams.maxlen)
    ref = _aggregator_process(tmp_path, redis_url, ref_streams.prefix)
    try:
        last = await _feed(ref_streams, events)
        reference = await _wait_for(ref_streams, lambda c: c["last_id"] == last)
    finally:
        ref.send_signal(signal.SIGTERM)
        ref.wait(30)

    # the same stream, with the aggregator killed -9 in the middle of it
    # (a backlog first, so the kill lands while entries are delivered but not yet acknowledged,
    # however fast the aggregator is next to the feed on this machine)
    await _feed(streams, events[:90_000])
    first = _aggregator_process(tmp_path, redis_url, prefix)
    await _wait_for(streams, lambda c: c["state"]["applied"] >= 5_000)  # a checkpoint to restart from
    # kill it while it holds read-but-unacknowledged entries
    await until(lambda: pending_entries(streams), 60, "entries read but not acknowledged")
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    pending = (await streams.group_info())["pending"]
    last = await _feed(streams, events[90_000:])
    second = _aggregator_process(tmp_path, redis_url, prefix)
    try:
        crashed = await _wait_for(streams, lambda c: c["last_id"] == last)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    assert pending > 0, "the kill should leave delivered-but-unacknowledged entries behind"
    assert content(crashed["state"]) == content(reference["state"])
    settings = FoldSettings.from_config(CONFIG)
    assert build_view(from_dict(crashed["state"]), CONFIG, settings, now) == build_view(
        from_dict(reference["state"]), CONFIG, settings, now
    )
    assert content(to_dict(from_dict(crashed["state"]))) == content(to_dict(pure_fold(events, time.time())))
    assert (await streams.group_info())["pending"] == 0
    assert from_dict(crashed["state"]).applied == 100_000


async def test_an_unreadable_checkpoint_is_rebuilt_from_the_stream(streams: Streams) -> None:
    events = simulated(2_000)
    ids = await streams.append(events)
    await streams.ensure_group()
    await streams.redis.xreadgroup("aggregator", "old-version", {streams.events_key: ">"}, count=500)
    await streams.commit({"state": {"version": 1}, "last_id": ids[499], "seq": 41}, ids[:500])
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=10)
    await agg.restore()
    assert agg.seq == 41 and agg.state.applied == 0
    await agg.recover()
    await drain(agg, streams, ids[-1])
    assert to_dict(agg.state) == to_dict(pure_fold(events))


async def test_refused_events_are_kept_named_and_counted_per_source(streams: Streams) -> None:
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=10, publish_min_s=0.0)
    await agg.restore()
    await agg.recover()
    good = [
        CallQueued("q1", "simulador", NOW - 60, "ventas", "c1"),
        CallAnswered("a1", "simulador", NOW - 50, "ventas", "c1", "raul.serrano", 10.0),
    ]
    bad = [
        CallQueued("f1", "simulador", 4_070_908_800.0, "ventas", "c2"),  # 2099
        CallQueued("u1", "simulador", NOW - 40, "invented", "c3"),
    ]
    ids = await streams.append(good + bad)
    await drain(agg, streams, ids[-1])
    await agg.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None
    assert snap["pipeline"]["applied"] == 2
    assert snap["sources"]["simulador"]["refused"] == {"future": 1, "unconfigured_queue": 1}
    assert "last_error" not in snap["sources"]["simulador"]  # screens get counts, not error texts
    assert snap["pipeline"]["unconfigured_queues"] == {"invented": 1}
    assert snap["queues"]["ventas"]["today"]["answered"] == 1 and "invented" not in snap["queues"]
    rejected = [fields for _, fields in await streams.redis.xrange(streams.rejected_key)]
    assert [r["id"] for r in rejected] == ids[2:]
    assert rejected[0]["reason"].startswith("future: event time 2099-01-01T00:00:00.000Z is ")
    assert rejected[1]["reason"].startswith("unconfigured_queue")


# ------------------------------------------------------------ freshness


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (None, (True, "missing")),
        ({"connected": True, "heartbeat_at": NOW - 10.0, "status": "ok"}, (False, "ok")),
        ({"connected": True, "heartbeat_at": NOW - 10.5, "status": "ok"}, (True, "stale")),
        ({"connected": True, "heartbeat_at": NOW - 1, "status": "resyncing"}, (False, "resyncing")),
        ({"connected": True, "heartbeat_at": NOW - 1}, (False, "ok")),
        ({"connected": False, "heartbeat_at": NOW - 1, "status": "ok"}, (True, "stale")),
        ({"connected": True, "status": "ok"}, (True, "stale")),
        ({}, (True, "stale")),
    ],
)
def test_a_source_is_stale_without_a_recent_heartbeat_or_a_link(
    health: dict[str, Any] | None, expected: tuple[bool, str]
) -> None:
    assert source_status(health, NOW, SOURCE_STALE_S) == expected


async def test_the_snapshot_shows_each_sources_freshness_by_the_one_setting(streams: Streams) -> None:
    await streams.set_source_health("simulador", {"kind": "simulator", "connected": True, "heartbeat_at": NOW - 4})
    await streams.set_source_health("crm", {"kind": "http", "connected": True, "heartbeat_at": NOW - 12})
    sources = (await Aggregator(CONFIG, streams, clock=clock).snapshot())["sources"]
    assert (sources["simulador"]["stale"], sources["simulador"]["status"]) == (False, "ok")
    assert (sources["crm"]["stale"], sources["crm"]["status"]) == (True, "stale")  # SOURCE_STALE_S is 10 s
    sources = (await Aggregator(CONFIG, streams, clock=clock, source_stale_s=3.0).snapshot())["sources"]
    assert sources["simulador"]["stale"] and sources["simulador"]["heartbeat_at"] == NOW - 4
