"""The AMI collector against recordings of a real Asterisk, compared with Asterisk's own counters.

Each scenario in tests/data/asterisk/ is served session by session by the
recording stand-in on a real socket; the real collector follows it into a real
Redis, and the day's totals the fold makes of its events are compared per queue
with what Asterisk counted (``QueueStatus``/``QueueSummary`` at the end of the
recording, with the queue_log for what those counters do not split: see each
scenario's README.md). After an AMI outage AMI alone cannot know what happened
while its link was down: it must then count no more than Asterisk, and leave
no call it saw waiting without an outcome or a ``call.lost``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from tests.collectors.asterisk_ami.recording import (
    RECORDINGS,
    SECTIONS,
    RecordingServer,
    ami_collector,
    counters,
    differences,
    expected,
    load_sessions,
    settled,
    stream_events,
    totals,
)
from tests.helpers import collector_running, until
from wallboard.config import parse_config
from wallboard.events import (
    AnyEvent,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallExited,
    CallLost,
    CallQueued,
    CallTransferred,
)
from wallboard.streams import Streams

SOURCE = "pbx"
#: What is compared, and must agree: counts, ASA, SL (ServicelevelPerf) and SL2 (ServicelevelPerf2), waits.
COUNTS = ("offered", "answered", "answered_within_sl", "abandoned", "short_abandoned", "timeouts", "exit_key")
MEANS = ("asa_s", "avg_abandon_wait_s", "max_wait_s", "sl_answered_pct", "sl2_pct")
#: Scenarios without an AMI outage (an outage is only in the queue_log: see test_outage_*).
WHOLE = ("day", "restart")


@dataclass(frozen=True)
class Replayed:
    """What the collector made of a whole scenario: per-queue totals, the source's health, the events."""

    totals: dict[str, dict[str, Any]]
    health: dict[str, Any]
    events: list[AnyEvent]


_replays: dict[str, Replayed] = {}


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect at once after a recorded session ends (an outage or a restart), not after a backoff."""
    monkeypatch.setattr("wallboard.retry.backoff", lambda attempt, base=0.5, cap=30.0: 0.05)
    monkeypatch.setattr("wallboard.collectors.runtime.HEARTBEAT_S", 0.1)


async def replay(scenario: str, streams: Streams) -> Replayed:
    """What the collector made of a whole scenario (replayed once per test session: it is plain data)."""
    if scenario in _replays:
        return _replays[scenario]
    server = RecordingServer(load_sessions(RECORDINGS / scenario))
    await server.start()
    try:
        config = parse_config({**SECTIONS, "collectors": [ami_collector(SOURCE, server.port)]})
        async with collector_running(config, streams):
            await until(lambda: server.served == len(server.sessions), 30, "every recorded session served")
            await until(settled(lambda: streams.redis.xlen(streams.events_key)), 30, "the stream settled")
            health: dict[str, Any] = (await streams.source_health())[SOURCE]
            events = await stream_events(streams)
    finally:
        await server.stop()
    assert server.logins == len(server.sessions)  # one login per recorded session, no more
    _replays[scenario] = Replayed(totals(events), health, events)
    return _replays[scenario]


# ------------------------------------------------------------------ the recordings themselves


@pytest.mark.parametrize("scenario", [*WHOLE, "day_outage"])
def test_recordings_agree_with_asterisk(scenario: str) -> None:
    """The recorded counters are consistent (what the recorder checked when it wrote them): an
    offered call is answered, abandoned, timed out or left with a key; Asterisk's Abandoned holds
    the timeouts; its ServicelevelPerf is answered within 20 s over answered."""
    for queue, want in expected(scenario).items():
        params = [run["QueueParams"] for run in counters(scenario)["queues"][queue]["asterisk"]]
        completed = sum(int(p["Completed"]) for p in params)
        abandoned = sum(int(p["Abandoned"]) for p in params)
        assert want["answered"] == completed
        assert want["abandoned"] + want["timeouts"] == abandoned
        assert want["offered"] == completed + abandoned + want["exit_key"]
        assert round(100 * want["answered_within_sl"] / completed, 1) == want["sl_answered_pct"]
        sessions = load_sessions(RECORDINGS / scenario)
        assert all(s.banner.startswith(b"Asterisk Call Manager/") for s in sessions)


# ------------------------------------------------------------------ what must agree today


@pytest.mark.parametrize("scenario", WHOLE)
async def test_ami_counts_what_asterisk_counted(scenario: str, streams: Streams) -> None:
    got = (await replay(scenario, streams)).totals
    want = expected(scenario)
    assert set(got) == set(want)
    for queue in want:
        assert differences(got[queue], want[queue], COUNTS + MEANS) == {}, queue


@pytest.mark.parametrize("scenario", WHOLE)
async def test_ami_handled_time_is_asterisks(scenario: str, streams: Streams) -> None:
    """AHT: mean TalkTime of the calls Asterisk completed (queue_log's COMPLETE* times, the same ones)."""
    got = (await replay(scenario, streams)).totals
    for queue, want in expected(scenario).items():
        assert got[queue]["handled"] == want["answered"], queue
        assert differences(got[queue], want, ("aht_s",)) == {}, queue


@pytest.mark.parametrize("scenario", [*WHOLE, "day_outage"])
async def test_ami_reads_every_message_of_a_real_asterisk(scenario: str, streams: Streams) -> None:
    """Nothing a real Asterisk sent is rejected (OriginateResponse carries ``Response: Success``;
    AgentComplete comes without the caller's fields once the caller's channel is gone)."""
    health = (await replay(scenario, streams)).health
    assert health["errors_total"] == 0, health.get("last_error")


# ------------------------------------------------------------------ an AMI outage


async def test_outage_ami_alone_never_counts_more_than_asterisk(streams: Streams) -> None:
    """Outcomes of calls that ended during the outage are only in the queue_log; what AMI did see
    counts once (the reconnect and its QueueStatus list double nothing)."""
    got = (await replay("day_outage", streams)).totals
    for queue, want in expected("day_outage").items():
        exits = got[queue]["exits"]
        mine = {**got[queue], "timeouts": exits.get("timeout", 0), "exit_key": exits.get("exit_key", 0)}
        for key in COUNTS:
            assert mine[key] <= want[key], (queue, key)
        assert got[queue]["offered"] < want["offered"], queue  # the outage did hide calls: the scenario has one


def calls(events: list[AnyEvent], *kinds: type[AnyEvent]) -> set[tuple[str, str]]:
    """(queue, call id) of the events of these kinds."""
    return {(cast(Any, e).queue, cast(Any, e).call_id) for e in events if isinstance(e, kinds)}


async def test_outage_every_call_ami_saw_waiting_has_an_outcome_or_is_lost(streams: Streams) -> None:
    """A call seen waiting before the outage and gone after it is reported lost, never silently dropped."""
    events = (await replay("day_outage", streams)).events
    assert calls(events, CallQueued) - calls(events, CallAnswered, CallAbandoned, CallExited, CallLost) == set()


async def test_outage_no_call_ends_without_its_answer(streams: Streams) -> None:
    """A call answered while the link was down and ended after it: its AgentComplete says it was
    answered, by whom, after what wait; the answer is counted from it."""
    events = (await replay("day_outage", streams)).events
    assert calls(events, CallEnded, CallTransferred) - calls(events, CallAnswered) == set()
