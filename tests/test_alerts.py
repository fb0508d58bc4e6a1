"""The alert log: levels as the screens colour them, crossings, hysteresis, the bound, and the
aggregator keeping the log in its snapshots and in Redis across a restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wallboard.aggregator import Aggregator
from wallboard.alerts import (
    LOG_SIZE,
    AlertLog,
    Change,
    Crossing,
    Held,
    Key,
    Level,
    Scope,
    crossings,
    level,
    parse_entry,
)
from wallboard.config import Config, Threshold, load_config
from wallboard.events import CallAnswered, CallQueued
from wallboard.streams import Streams

ROOT = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------ hand-built views


def block(
    waiting: int = 0,
    longest: float | None = None,
    sl: tuple[float | None, int] = (None, 0),
    sl_15: tuple[float | None, int] = (None, 0),
    abandon: tuple[float | None, int] = (None, 0),
    abandon_15: tuple[float | None, int] = (None, 0),
    asa: tuple[float | None, int] = (None, 0),
) -> dict[str, Any]:
    """A queue or centre block with only what the alert log reads: (value, its calls) pairs."""
    return {
        "waiting": waiting,
        "longest_wait_s": longest,
        "today": {
            "sl": {"pct": sl[0], "numerator": 0, "denominator": sl[1]},
            "abandon_rate_pct": abandon[0],
            "offered": abandon[1],
            "asa_s": asa[0],
            "answered": asa[1],
        },
        "windows": {
            "15": {
                "sl": {"pct": sl_15[0], "numerator": 0, "denominator": sl_15[1]},
                "abandon_rate_pct": abandon_15[0],
                "offered": abandon_15[1],
            },
            "30": {"sl": {"pct": 0.0, "numerator": 0, "denominator": 100}, "abandon_rate_pct": 90.0, "offered": 100},
        },
    }


def view(now: float, centre: dict[str, Any] | None = None, **queues: dict[str, Any]) -> dict[str, Any]:
    return {"now": now, "windows": [15, 30], "queues": queues, "centre": centre or block()}


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The built-in thresholds (waiting 3/8, longest 30/90 s, SL 80/70 %, abandonment 5/10 %, ASA
    20/45 s); Retención's abandonment 3/6 %."""
    return make_config(
        queues=[
            {"id": "ventas"},
            {
                "id": "retencion",
                "thresholds": {"abandon_rate_pct": {"warn": 3, "alert": 6, "direction": "higher_is_worse"}},
            },
        ]
    )


def q(qid: str, metric: str, window: str) -> Key:
    return Key(Scope.QUEUE, qid, metric, window)


def entry(at: float, key: Key, change: str, value: float | None, alert: float) -> dict[str, Any]:
    return {
        "at": at,
        "scope": key.scope.value,
        "id": key.id,
        "metric": key.metric,
        "window": key.window,
        "level": change,
        "value": value,
        "alert": alert,
    }


# ------------------------------------------------------------------------ levels


def test_level_is_the_screens_at_and_around_each_threshold() -> None:
    up = Threshold(warn=3, alert=8, direction="higher_is_worse")
    down = Threshold(warn=80, alert=70, direction="lower_is_worse")
    assert [level(v, up) for v in (0, 2.9, 3, 7.9, 8, 100)] == [
        Level.OK,
        Level.OK,
        Level.WARN,
        Level.WARN,
        Level.ALERT,
        Level.ALERT,
    ]
    assert [level(v, down) for v in (100, 80.1, 80, 70.1, 70, 0)] == [
        Level.OK,
        Level.OK,
        Level.WARN,
        Level.WARN,
        Level.ALERT,
        Level.ALERT,
    ]
    assert level(None, up) is None and level(None, down) is None


def test_every_watched_figure_enters_alert_with_its_value_and_threshold(config: Config) -> None:
    ventas = block(
        waiting=8,
        longest=90.0,
        sl=(70.0, 10),
        sl_15=(60.0, 5),
        abandon=(10.0, 10),
        abandon_15=(20.0, 5),
        asa=(45.0, 9),
    )
    found, held = crossings(view(1000.0, ventas=ventas), config, {})
    assert [c.as_dict() for c in found] == [
        entry(1000.0, q("ventas", "waiting", "now"), "alert", 8, 8),
        entry(1000.0, q("ventas", "longest_wait_s", "now"), "alert", 90.0, 90),
        entry(1000.0, q("ventas", "service_level_pct", "today"), "alert", 70.0, 70),
        entry(1000.0, q("ventas", "service_level_pct", "15"), "alert", 60.0, 70),
        entry(1000.0, q("ventas", "abandon_rate_pct", "today"), "alert", 10.0, 10),
        entry(1000.0, q("ventas", "abandon_rate_pct", "15"), "alert", 20.0, 10),
        entry(1000.0, q("ventas", "asa_s", "today"), "alert", 45.0, 45),
    ]
    assert held == {c.key: Held() for c in found}
    # One step short of each alert (warn): nothing; the 30-minute window (in alert) is not watched.
    warn = block(waiting=7, longest=89.9, sl=(70.1, 10), sl_15=(70.1, 5), abandon=(9.9, 10), asa=(44.9, 9))
    assert crossings(view(1000.0, ventas=warn), config, {}) == ([], {})


def test_the_centre_and_each_queue_by_their_own_thresholds(config: Config) -> None:
    """Abandonment 6 %: Retención's alert (its own 6 %), Ventas's and the centre's warn (10 %)."""
    six = block(abandon=(6.0, 50))
    found, _ = crossings(view(5.0, centre=block(abandon=(10.0, 100)), ventas=six, retencion=six), config, {})
    assert [c.as_dict() for c in found] == [
        entry(5.0, q("retencion", "abandon_rate_pct", "today"), "alert", 6.0, 6),
        entry(5.0, Key(Scope.CENTRE, "centre", "abandon_rate_pct", "today"), "alert", 10.0, 10),
    ]


def test_figures_of_fewer_than_five_calls_have_no_level(config: Config) -> None:
    """SL 0 %, abandonment 100 %, ASA 300 s: over 4 calls nothing; over 5 each is an alert."""
    four = block(sl=(0.0, 4), sl_15=(0.0, 4), abandon=(100.0, 4), abandon_15=(100.0, 4), asa=(300.0, 4))
    assert crossings(view(0.0, ventas=four), config, {}) == ([], {})
    five = block(sl=(0.0, 5), sl_15=(0.0, 5), abandon=(100.0, 5), abandon_15=(100.0, 5), asa=(300.0, 5))
    found, _ = crossings(view(0.0, ventas=five), config, {})
    assert [(c.key.metric, c.key.window) for c in found] == [
        ("service_level_pct", "today"),
        ("service_level_pct", "15"),
        ("abandon_rate_pct", "today"),
        ("abandon_rate_pct", "15"),
        ("asa_s", "today"),
    ]


# -------------------------------------------------------------------- hysteresis


def test_cleared_only_after_60_s_out_of_alert_and_a_quick_return_is_no_crossing(config: Config) -> None:
    log = AlertLog()
    key = q("ventas", "waiting", "now")
    steps = [  # (time, calls waiting, what is logged)
        (0.0, 8, [entry(0.0, key, "alert", 8, 8)]),
        (10.0, 7, []),  # warn: out of alert since 10
        (50.0, 8, []),  # back within 60 s: no new crossing
        (60.0, 2, []),  # out again: the 60 s start again here
        (70.0, 2, []),  # 60 s after the first exit, 10 s after this one
        (119.0, 2, []),  # 59 s out
        (120.0, 2, [entry(120.0, key, "cleared", 2, 8)]),
        (121.0, 2, []),
        (122.0, 9, [entry(122.0, key, "alert", 9, 8)]),
    ]
    for now, waiting, expected in steps:
        assert [c.as_dict() for c in log.observe(view(now, ventas=block(waiting=waiting)), config)] == expected, now
    assert log.as_list() == [
        entry(122.0, key, "alert", 9, 8),
        entry(120.0, key, "cleared", 2, 8),
        entry(0.0, key, "alert", 8, 8),
    ]


def test_a_figure_with_no_value_is_out_of_alert(config: Config) -> None:
    """The longest wait in alert, then nobody waiting (no value): cleared 60 s later, value null."""
    key = q("ventas", "longest_wait_s", "now")
    found, held = crossings(view(0.0, ventas=block(waiting=1, longest=95.0)), config, {})
    assert [c.as_dict() for c in found] == [entry(0.0, key, "alert", 95.0, 90)]
    found, held = crossings(view(30.0, ventas=block()), config, held)
    assert found == [] and held == {key: Held(out_since=30.0)}
    found, held = crossings(view(90.0, ventas=block()), config, held)
    assert [c.as_dict() for c in found] == [entry(90.0, key, "cleared", None, 90)] and held == {}


def test_a_figure_no_longer_in_the_view_is_dropped(config: Config) -> None:
    gone = Key(Scope.QUEUE, "cerrada", "waiting", "now")
    assert crossings(view(0.0, ventas=block()), config, {gone: Held()}) == ([], {})


def test_the_log_keeps_the_newest_50_newest_first(config: Config) -> None:
    """A figure in and out of alert 30 times makes 60 crossings: the log keeps the last 50."""
    log = AlertLog()
    key = q("ventas", "waiting", "now")
    made: list[dict[str, Any]] = []
    for i in range(30):
        t = i * 100.0
        made += [c.as_dict() for c in log.observe(view(t, ventas=block(waiting=8)), config)]
        log.observe(view(t + 1, ventas=block(waiting=0)), config)
        made += [c.as_dict() for c in log.observe(view(t + 61, ventas=block(waiting=0)), config)]
    assert len(made) == 60 and len(log.entries) == LOG_SIZE == 50
    assert log.as_list() == made[::-1][:50]
    assert log.as_list()[0] == entry(2961.0, key, "cleared", 0, 8)
    assert log.as_list()[-1] == entry(500.0, key, "alert", 8, 8)  # the first 5 cycles (10) are gone


def test_a_snapshots_crossings_head_the_log_in_figure_order(config: Config) -> None:
    log = AlertLog()
    log.observe(view(0.0, ventas=block(waiting=8)), config)
    log.observe(view(5.0, centre=block(waiting=8), ventas=block(waiting=8, longest=91.0)), config)
    assert [(e["at"], e["scope"], e["metric"]) for e in log.as_list()] == [
        (5.0, "queue", "longest_wait_s"),
        (5.0, "centre", "waiting"),
        (0.0, "queue", "waiting"),
    ]


# ---------------------------------------------------------------- start and storage


def test_restored_log_decides_what_is_held_in_alert(config: Config) -> None:
    """Stored (newest first): Ventas waiting cleared after its alert, Ventas longest wait in alert.
    At the first snapshot both are in alert: waiting is logged (the log had it cleared), the
    longest wait is not (already held); when it leaves alert it is cleared 60 s later."""
    waiting, longest = q("ventas", "waiting", "now"), q("ventas", "longest_wait_s", "now")
    stored = [
        Crossing(300.0, waiting, Change.CLEARED, 1, 8),
        Crossing(200.0, longest, Change.ALERT, 91.0, 90),
        Crossing(100.0, waiting, Change.ALERT, 8, 8),
    ]
    log = AlertLog()
    log.restore(stored)
    assert log.held == {longest: Held()}
    assert log.as_list() == [c.as_dict() for c in stored]
    found = log.observe(view(1000.0, ventas=block(waiting=9, longest=120.0)), config)
    assert [c.as_dict() for c in found] == [entry(1000.0, waiting, "alert", 9, 8)]
    assert log.observe(view(1001.0, ventas=block(waiting=9, longest=10.0)), config) == []
    found = log.observe(view(1061.0, ventas=block(waiting=9, longest=70.0)), config)
    assert [c.as_dict() for c in found] == [entry(1061.0, longest, "cleared", 70.0, 90)]
    assert len(log.entries) == 5


def test_a_first_start_logs_what_is_in_alert_once(config: Config) -> None:
    log = AlertLog()
    log.restore([])
    assert len(log.observe(view(0.0, ventas=block(waiting=8)), config)) == 1
    assert log.observe(view(1.0, ventas=block(waiting=8)), config) == []


def test_restore_keeps_only_the_logs_size(config: Config) -> None:
    log = AlertLog(size=2)
    key = q("ventas", "waiting", "now")
    log.restore([Crossing(float(t), key, Change.ALERT, 8, 8) for t in (3, 2, 1)])
    assert [e["at"] for e in log.as_list()] == [3.0, 2.0]


def test_stored_entries_read_back_and_bad_ones_say_what_is_wrong() -> None:
    key = Key(Scope.CENTRE, "centre", "service_level_pct", "15")
    crossing = Crossing(1.5, key, Change.ALERT, 64.2, 70)
    assert parse_entry(json.dumps(crossing.as_dict())) == crossing
    cleared = Crossing(2.0, q("ventas", "longest_wait_s", "now"), Change.CLEARED, None, 90)
    assert parse_entry(json.dumps(cleared.as_dict())) == cleared
    good = crossing.as_dict()
    bad = [
        ("{", "alert entry: not JSON"),
        ("[1]", "alert entry: not a JSON object"),
        (json.dumps({**good, "metric": "aht_s"}), "field 'metric' must be one of waiting, longest_wait_s,"),
        (json.dumps({**good, "value": None}), "alert entry: field 'value' must be a number, got None"),
        (json.dumps({**good, "at": "noon"}), "field 'at' must be a number, got 'noon'"),
        (json.dumps({**good, "value": True}), "field 'value' must be a number, got True"),
        (json.dumps({**good, "level": "warn"}), "field 'level' must be one of alert, cleared, got 'warn'"),
        (json.dumps({**good, "scope": "team"}), "field 'scope' must be one of queue, centre, got 'team'"),
        (json.dumps({**good, "window": "15 min"}), "field 'window' must be now, today or minutes, got '15 min'"),
        (json.dumps({**good, "id": ""}), "field 'id' must be a non-empty string, got ''"),
    ]
    long = json.dumps({**good, "id": "x" * 2000})
    bad.append((long, f"alert entry: {len(long)} characters, more than 1000"))
    for raw, message in bad:
        with pytest.raises(ValueError) as caught:
            parse_entry(raw)
        assert message in str(caught.value), raw[:60]


# --------------------------------------------------------- the aggregator, real Redis

CONFIG: Config = load_config(ROOT / "config.yaml", env={})
T0 = 1_773_136_800.0  # 2026-03-10 11:00 Europe/Madrid


async def drained(agg: Aggregator, ids: list[str]) -> None:
    for _ in range(1000):
        if agg.last_id == ids[-1]:
            return
        await agg.step()
    raise AssertionError("the aggregator did not fold the entries")


async def stored(streams: Streams) -> list[dict[str, Any]]:
    """The alerts stream's readable entries, oldest first."""
    out = []
    for _, fields in await streams.redis.xrange(streams.prefix + "alerts"):
        try:
            out.append(json.loads(fields["json"]))
        except ValueError:
            continue
    return out


async def test_aggregator_logs_waiting_crossing_alert_and_keeps_it_across_a_restart(streams: Streams) -> None:
    """Eight calls waiting in Ventas (its alert, and the centre's, is 8): one crossing each, in the
    snapshot and on the stream; a restarted aggregator shows them and logs nothing again; the
    calls answered, both are cleared 60 s later."""
    now = [T0]
    agg = Aggregator(CONFIG, streams, clock=lambda: now[0], block_ms=10, publish_min_s=0.0)
    await agg.restore()
    await agg.recover()
    await agg.publish()
    first = await streams.latest_snapshot()
    assert first is not None and first["alerts"] == []
    queued = [CallQueued(f"q{i}", "simulador", T0 - 10 + i, "ventas", f"c{i}") for i in range(8)]
    await drained(agg, await streams.append(queued[:7]))
    await agg.publish()
    seven = await streams.latest_snapshot()
    assert seven is not None and seven["queues"]["ventas"]["waiting"] == 7 and seven["alerts"] == []
    now[0] = T0 + 1
    await drained(agg, await streams.append(queued[7:]))
    await agg.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and snap["queues"]["ventas"]["waiting"] == 8
    ventas = entry(T0 + 1, q("ventas", "waiting", "now"), "alert", 8, 8)
    centre = entry(T0 + 1, Key(Scope.CENTRE, "centre", "waiting", "now"), "alert", 8, 8)
    assert snap["alerts"] == [ventas, centre]
    assert await stored(streams) == [centre, ventas]  # oldest first: read newest first, as shown
    await agg.commit()

    # A junk entry on the stream is skipped at start, and the restarted aggregator goes on.
    await streams.redis.xadd(streams.prefix + "alerts", {"json": "{not json"})
    now[0] = T0 + 2
    again = Aggregator(CONFIG, streams, clock=lambda: now[0], block_ms=10, publish_min_s=0.0)
    await again.restore()
    await again.recover()
    await again.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and snap["queues"]["ventas"]["waiting"] == 8
    assert snap["alerts"] == [ventas, centre]  # still in alert: held, not logged again
    assert len(await streams.redis.xrange(streams.prefix + "alerts")) == 3

    # Six answered within 5 s (SL 100 %, ASA under 20 s): two left waiting; cleared 60 s on.
    answered = [CallAnswered(f"a{i}", "simulador", T0 + 3, "ventas", f"c{i}", "raul.serrano", 3.0) for i in range(6)]
    now[0] = T0 + 3
    await drained(again, await streams.append(answered))
    await again.publish()
    now[0] = T0 + 62
    await again.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and snap["queues"]["ventas"]["waiting"] == 2 and snap["alerts"] == [ventas, centre]
    now[0] = T0 + 63
    await again.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None
    ventas_cleared = entry(T0 + 63, q("ventas", "waiting", "now"), "cleared", 2, 8)
    centre_cleared = entry(T0 + 63, Key(Scope.CENTRE, "centre", "waiting", "now"), "cleared", 2, 8)
    assert snap["alerts"] == [ventas_cleared, centre_cleared, ventas, centre]
    assert await stored(streams) == [centre, ventas, centre_cleared, ventas_cleared]


async def test_a_backlog_read_at_start_logs_no_crossing_of_the_past(streams: Streams) -> None:
    """Nine calls queued then answered, read in full batches of 5 (a restart reading the day): the
    snapshots published while catching up show 8 waiting at one point, but nothing is logged —
    the crossing was in the past; caught up, nothing is in alert."""
    now = [T0 + 30]
    agg = Aggregator(CONFIG, streams, clock=lambda: now[0], block_ms=10, publish_min_s=0.0, batch=5)
    await agg.restore()
    await agg.recover()
    events: list[Any] = [CallQueued(f"bq{i}", "simulador", T0 + i, "ventas", f"b{i}") for i in range(9)]
    events += [CallAnswered(f"ba{i}", "simulador", T0 + 10, "ventas", f"b{i}", "raul.serrano", 1.0) for i in range(9)]
    ids = await streams.append(events)
    waiting: list[int] = []
    for _ in range(1000):
        if agg.last_id == ids[-1]:
            break
        await agg.step()
        snap = await streams.latest_snapshot()
        if snap is not None:
            waiting.append(snap["queues"]["ventas"]["waiting"])
    assert max(waiting) >= 8  # (a snapshot while catching up had Ventas in alert)
    await agg.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and snap["queues"]["ventas"]["waiting"] == 0
    assert snap["alerts"] == [] and await stored(streams) == []


async def test_a_backlog_in_small_chunks_logs_no_crossing_of_the_past(streams: Streams) -> None:
    """A source replaying its morning in chunks smaller than a batch (the simulator's backfill):
    each read is of many events an hour old, so its snapshots' alerts are not logged as happening
    now. A live source whose clock is two minutes behind, a few events a read, is logged."""
    now = [T0 + 3600]
    agg = Aggregator(CONFIG, streams, clock=lambda: now[0], block_ms=10, publish_min_s=0.0)
    await agg.restore()
    await agg.recover()
    morning = [CallQueued(f"mq{i}", "simulador", T0 + i, "ventas", f"m{i}") for i in range(120)]
    await drained(agg, await streams.append(morning))  # 120 waiting, an hour ago
    await agg.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and snap["queues"]["ventas"]["waiting"] == 120 and snap["alerts"] == []
    answered = [
        CallAnswered(f"ma{i}", "simulador", T0 + 200, "ventas", f"m{i}", "raul.serrano", 15.0) for i in range(120)
    ]
    await drained(agg, await streams.append(answered))
    await agg.publish()
    assert (await streams.latest_snapshot() or {})["alerts"] == []
    behind = [CallQueued(f"lq{i}", "simulador", now[0] - 120, "ventas", f"l{i}") for i in range(8)]
    await drained(agg, await streams.append(behind))  # 8 waiting now, stamped two minutes ago
    await agg.publish()
    snap = await streams.latest_snapshot()
    assert snap is not None and [(a["id"], a["metric"], a["level"]) for a in snap["alerts"]][:1] == [
        ("ventas", "waiting", "alert")
    ]
