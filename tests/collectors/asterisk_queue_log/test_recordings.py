"""The queue_log collector against the queue_log of a real Asterisk, compared with Asterisk's own counters.

Each scenario's recorded queue_log (tests/data/asterisk/<scenario>/) is written
into a real file while the real collector follows it into a real Redis; the
day's totals the fold makes of its events are compared per queue with what
Asterisk counted. Then both sources of one PBX together, as README.md
recommends: the AMI recording served by the recording stand-in and the
queue_log followed at the same time, into one stream, with one ``system`` name
(each call counted once, the AMI outage's calls completed by the queue_log),
and without it (every call counted twice, which is why the setting exists).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.collectors.asterisk_ami.recording import (
    RECORDINGS,
    SECTIONS,
    RecordingServer,
    ami_collector,
    differences,
    expected,
    load_sessions,
    settled,
    stream_events,
    totals,
)
from tests.helpers import collector_running, until
from wallboard.config import Config, parse_config
from wallboard.streams import Streams

SOURCE = "pbx-log"
SCENARIOS = ("day", "day_outage", "restart")
#: Everything queue_log can tell: counts, ASA, AHT, SL (ServicelevelPerf), SL2 (ServicelevelPerf2), waits.
COMPARED = (
    "offered",
    "answered",
    "answered_within_sl",
    "abandoned",
    "short_abandoned",
    "timeouts",
    "exit_key",
    "asa_s",
    "aht_s",
    "avg_abandon_wait_s",
    "max_wait_s",
    "sl_answered_pct",
    "sl2_pct",
)
_followed: dict[str, dict[str, dict[str, Any]]] = {}


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect at once after a recorded AMI session ends, and report health fast."""
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.05)
    monkeypatch.setattr("wallboard.collectors.runtime.HEARTBEAT_S", 0.1)


def log_collector(path: Path, system: str = "") -> dict[str, Any]:
    """A queue_log collector that starts at the end of ``path`` and sends every line written after
    (``system``: the PBX's name shared with its AMI collector)."""
    options: dict[str, Any] = {"path": str(path), "load_today": False, "poll_s": 0.02}
    if system:
        options["system"] = system
    return {"kind": "asterisk_queue_log", "name": SOURCE, "options": options}


@contextlib.asynccontextmanager
async def following(config: Config, streams: Streams, log: Path) -> AsyncIterator[None]:
    """The queue_log collector running, positioned at the end of the (empty) ``log``."""

    async def positioned() -> bool:
        position = (await streams.load_cursor(SOURCE)).get("position", {})
        return bool(position.get("inode") == log.stat().st_ino)

    async with collector_running(config, streams, SOURCE):
        await until(positioned, 10, "the collector at the end of the file")
        yield


async def written_and_read(scenario: str, streams: Streams, log: Path) -> None:
    """Append the recorded queue_log to ``log`` as Asterisk wrote it, and wait until it is all read."""
    with log.open("ab") as out:
        out.write((RECORDINGS / scenario / "queue_log").read_bytes())

    async def all_read() -> bool:
        position = (await streams.load_cursor(SOURCE)).get("position", {})
        return bool(position.get("offset") == log.stat().st_size)

    await until(all_read, 30, "the whole queue_log read")
    await until(settled(lambda: streams.redis.xlen(streams.events_key)), 30, "the stream settled")


async def follow(scenario: str, streams: Streams, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Per-queue totals after the collector followed a scenario's queue_log (once per test session)."""
    if scenario not in _followed:
        log = tmp_path / "queue_log"
        log.write_bytes(b"")
        async with following(parse_config({**SECTIONS, "collectors": [log_collector(log)]}), streams, log):
            await written_and_read(scenario, streams, log)
        _followed[scenario] = totals(await stream_events(streams))
    return _followed[scenario]


async def both(scenario: str, streams: Streams, tmp_path: Path, system: str = "") -> dict[str, dict[str, Any]]:
    """Per-queue totals with the AMI recording and the queue_log of one PBX followed together
    (``system``: the name both collectors share, "" for none)."""
    log = tmp_path / "queue_log"
    log.write_bytes(b"")
    server = RecordingServer(load_sessions(RECORDINGS / scenario))
    await server.start()
    collectors = [ami_collector("pbx", server.port, system), log_collector(log, system)]
    config = parse_config({**SECTIONS, "collectors": collectors})
    try:
        async with collector_running(config, streams, "pbx"), following(config, streams, log):
            await until(lambda: server.served == len(server.sessions), 30, "every recorded session served")
            await written_and_read(scenario, streams, log)
            events = await stream_events(streams)
    finally:
        await server.stop()
    assert {e.source for e in events} == {"pbx", SOURCE}
    return totals(events)


# ------------------------------------------------------------------ queue_log alone


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_queue_log_counts_what_asterisk_counted(scenario: str, streams: Streams, tmp_path: Path) -> None:
    got = await follow(scenario, streams, tmp_path)
    want = expected(scenario)
    assert set(got) == set(want)
    for queue in want:
        assert differences(got[queue], want[queue], COMPARED) == {}, queue


# ------------------------------------------------------------------ AMI and queue_log together


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_both_sources_of_one_system_count_each_call_once(scenario: str, streams: Streams, tmp_path: Path) -> None:
    """With an AMI outage in the middle too: queue_log completes what AMI missed, nothing doubled."""
    got = await both(scenario, streams, tmp_path, system="pbx1")
    want = expected(scenario)
    assert {q: differences(got[q], want[q], COMPARED) for q in want} == {q: {} for q in want}


async def test_both_sources_without_a_shared_system_count_twice(streams: Streams, tmp_path: Path) -> None:
    """Why the setting exists: each source then makes its own ids, and every call counts twice."""
    got = await both("day", streams, tmp_path)
    want = expected("day")
    assert {q: got[q]["offered"] for q in want} == {q: 2 * want[q]["offered"] for q in want}
