"""The live queue_log collector: a real file written while it runs, a real Redis.

Whole lines only, logrotate (rename and copytruncate, live and while stopped),
restarts that neither lose nor repeat a line, loading today on the first start,
and bad input that is counted and skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import holds, until
from wallboard.collectors import configure
from wallboard.collectors.asterisk_queue_log import QueueLogTranslator
from wallboard.collectors.runtime import run_collector
from wallboard.config import Config, parse_config
from wallboard.events import AnyEvent
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.snapshot import build_view
from wallboard.state import CentreState
from wallboard.streams import Streams
from wallboard.wire import decode

NOW = int(time.time())


def make_config(path: Path, **options: Any) -> Config:
    # "Today" began three hours ago (on a quarter hour), whatever the hour the tests run at.
    start = datetime.fromtimestamp((NOW - 3 * 3600) // 900 * 900, UTC)
    return parse_config(
        {
            "timezone": "UTC",
            "day_start": start.strftime("%H:%M"),
            "queues": [{"id": "ventas", "sl_threshold_s": 20}],
            "agents": [{"id": "ana", "aliases": ["PJSIP/201"]}, {"id": "luis", "aliases": ["PJSIP/202"]}],
            "pause_reasons": [{"id": "lunch", "aliases": ["Comida"]}],
            "collectors": [
                {"kind": "asterisk_queue_log", "name": "pbx", "options": {"path": str(path), "poll_s": 0.02, **options}}
            ],
        },
        env={},
    )


def call(t: int, cid: str, wait: int, talk: int, agent: str = "PJSIP/201") -> list[str]:
    """A whole answered call: entered at t, answered after ``wait``, ended after ``talk``."""
    return [
        f"{t}|{cid}|ventas|NONE|ENTERQUEUE||600100200|1",
        f"{t + wait}|{cid}|ventas|{agent}|CONNECT|{wait}|{cid}.1|2",
        f"{t + wait + talk}|{cid}|ventas|{agent}|COMPLETECALLER|{wait}|{talk}|1",
    ]


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with open(path, mode, encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


class Collector:
    """One run of the collector as a task, and what it has put on the stream."""

    def __init__(self, config: Config, streams: Streams) -> None:
        self.config, self.streams = config, streams
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(run_collector(self.config, configure(self.config)[0], self.streams))

    @property
    def log(self) -> Path:
        return Path(self.config.collectors[0].options["path"])

    async def stored(self) -> dict[str, Any]:
        """The stored cursor: where each followed file stands."""
        return await self.streams.load_cursor("pbx")

    async def all_stored(self) -> bool:
        """The position of everything in the file is stored."""
        pos = (await self.stored()).get("position", {})
        st = self.log.stat()
        return (pos.get("inode"), pos.get("offset")) == (st.st_ino, st.st_size)

    async def follows_new_and_old(self) -> bool:
        """After a rename: the stored cursor is in the new file at the path, and in the old one."""
        cursor = await self.stored()
        return cursor.get("position", {}).get("inode") == self.log.stat().st_ino and "previous" in cursor

    async def stop(self) -> None:
        """Stop once the position of everything sent is stored (a crash before that re-sends,
        which the ids make harmless, but these tests count sends)."""
        assert self.task is not None
        await until(self.all_stored, 10, "the position of the whole file stored")
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def events(self) -> list[AnyEvent]:
        entries = await self.streams.redis.xrange(self.streams.events_key)
        return [decode(fields) for _, fields in entries]

    async def wait_for(self, check: Callable[[list[AnyEvent]], bool], timeout: float = 10.0) -> list[AnyEvent]:
        async def met() -> list[list[AnyEvent]]:
            events = await self.events()
            return [events] if check(events) else []

        try:
            return (await until(met, timeout, "the events looked for"))[0]
        except AssertionError:
            events = await self.events()
            raise AssertionError(
                f"timed out; {len(events)} events: {[(e.KIND, getattr(e, 'call_id', '')) for e in events]}"
            ) from None

    async def quiet(self, seconds: float = 0.2) -> list[AnyEvent]:
        """The events, once no more have come for ``seconds``."""
        n = await self.streams.redis.xlen(self.streams.events_key)

        async def no_more() -> bool:
            return bool(await self.streams.redis.xlen(self.streams.events_key) == n)

        await holds(no_more, seconds, "no more events")
        return await self.events()

    async def health(self) -> dict[str, Any]:
        return (await self.streams.source_health()).get("pbx", {})


@pytest.fixture
async def collector(streams: Streams, tmp_path: Path) -> AsyncIterator[Callable[..., Collector]]:
    made: list[Collector] = []

    def make(**options: Any) -> Collector:
        c = Collector(make_config(tmp_path / "queue_log", **options), streams)
        made.append(c)
        return c

    yield make
    for c in made:
        if c.task is not None and not c.task.done():
            await c.stop()


def expected(config: Config, lines: list[str]) -> list[AnyEvent]:
    """What one uninterrupted translation of the whole log gives."""
    t = QueueLogTranslator("pbx", config.agent_aliases(), config.pause_reason_codes())
    return list(t.translate(lines))  # type: ignore[arg-type]


def view(config: Config, events: list[AnyEvent]) -> dict[str, Any]:
    settings = FoldSettings.from_config(config)
    state = CentreState()
    apply_all(state, settings, events)
    return build_view(state, config, settings, NOW + 60)


def open_here(*paths: Path) -> set[Path]:
    """Which of ``paths`` this process (where the collector runs as a task) has open now."""
    fds = Path("/proc/self/fd")
    targets = set()
    for fd in fds.iterdir():
        try:
            targets.add(Path(os.readlink(fd)))
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return {p for p in paths if p.resolve() in targets}


def assert_once(got: list[AnyEvent], want: list[AnyEvent]) -> None:
    ids = [e.id for e in got]
    assert len(ids) == len(set(ids)), "an event was sent twice"
    assert got == want


# ------------------------------------------------------------------ tests


async def test_only_whole_lines_are_read_and_today_loads_on_first_start(
    collector: Callable[..., Collector], tmp_path: Path
) -> None:
    log = tmp_path / "queue_log"
    before = [
        f"{NOW - 5 * 3600}|NONE|ventas|PJSIP/201|ADDMEMBER|",  # yesterday, as far as the board knows
        *call(NOW - 5 * 3600 + 10, "1.1", 5, 60),
    ]
    today = [*call(NOW - 600, "1.2", 12, 100), f"{NOW - 300}|1.3|ventas|NONE|ENTERQUEUE||600100201|1"]
    write(log, before + today)
    c = collector()
    c.start()
    events = await c.wait_for(lambda ev: any(e.KIND == "call.queued" and e.call_id == "1.3" for e in ev))
    assert all(e.ts >= NOW - 3 * 3600 for e in events if e.KIND.startswith("call."))
    v = view(c.config, events)
    ventas = v["queues"]["ventas"]
    assert (ventas["today"]["offered"], ventas["today"]["answered"], ventas["waiting"]) == (1, 1, 1)
    assert ventas["today"]["asa_s"] == 12.0
    # ana logged in before today began: still logged in to ventas, available after her call
    assert v["agents"]["ana"]["state"] == "available" and "ventas" in v["agents"]["ana"]["queues"]

    # a half-written line waits for its newline
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{NOW - 200}|1.3|ventas|PJSIP/202|CONN")
        f.flush()

        async def not_answered() -> bool:
            return not any(e.KIND == "call.answered" and e.call_id == "1.3" for e in await c.events())

        await holds(not_answered, 0.3, "the half-written CONNECT unread")
        f.write("ECT|100|1.3.1|1\n")
    events = await c.wait_for(lambda ev: any(e.KIND == "call.answered" and e.call_id == "1.3" for e in ev))
    answered = [e for e in events if e.KIND == "call.answered" and e.call_id == "1.3"]
    assert len(answered) == 1 and answered[0].wait_s == 100.0 and answered[0].agent == "luis"
    assert (await c.health())["errors_total"] == 0


async def test_load_today_off_starts_at_the_end_but_keeps_who_is_logged_in(
    collector: Callable[..., Collector], tmp_path: Path
) -> None:
    log = tmp_path / "queue_log"
    write(
        log,
        [
            f"{NOW - 900}|NONE|ventas|PJSIP/201|ADDMEMBER|",
            *call(NOW - 800, "2.1", 5, 60),
            f"{NOW - 700}|NONE|ventas|PJSIP/201|PAUSE|Comida",
        ],
    )
    c = collector(load_today=False)
    c.start()
    events = await c.wait_for(lambda ev: any(e.KIND == "agent.state" for e in ev))
    assert not any(e.KIND.startswith("call.") for e in events)
    write(log, [f"{NOW - 100}|2.2|ventas|NONE|ENTERQUEUE||600|1"])
    events = await c.wait_for(lambda ev: any(e.KIND == "call.queued" for e in ev))
    v = view(c.config, events)
    assert v["queues"]["ventas"]["waiting"] == 1 and v["queues"]["ventas"]["today"]["offered"] == 0
    assert (v["agents"]["ana"]["state"], v["agents"]["ana"]["reason"]) == ("not_ready", "lunch")


async def test_restart_neither_loses_nor_repeats_a_line(collector: Callable[..., Collector], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    first = [
        f"{NOW - 900}|NONE|ventas|PJSIP/201|ADDMEMBER|",
        *call(NOW - 800, "3.1", 5, 60),
        f"{NOW - 600}|3.2|ventas|NONE|ENTERQUEUE||600|1",
        f"{NOW - 590}|3.2|ventas|PJSIP/201|CONNECT|10|x|1",
    ]
    write(log, first)
    c = collector()
    c.start()
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, first)))
    await c.stop()
    # written while the collector is down: the call it saw answered ends
    later = [f"{NOW - 500}|3.2|ventas|PJSIP/201|COMPLETEAGENT|10|90|1", *call(NOW - 400, "3.3", 7, 30)]
    write(log, later)
    again = collector()
    again.start()
    want = expected(c.config, first + later)
    events = await again.wait_for(lambda ev: len(ev) >= len(want))
    assert_once(await again.quiet(), want)  # and nothing more comes
    v = view(c.config, events)
    assert v["queues"]["ventas"]["today"]["answered"] == 3 and v["agents"]["ana"]["state"] == "available"


async def test_logrotate_rename_live(collector: Callable[..., Collector], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    a, b, c_lines = call(NOW - 900, "4.1", 5, 60), call(NOW - 800, "4.2", 6, 60), call(NOW - 700, "4.3", 7, 60)
    write(log, a)
    c = collector()
    c.start()
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, a)))
    os.rename(log, tmp_path / "queue_log.1")
    write(log, [], mode="x")  # logrotate's `create`, before its postrotate reloads Asterisk's logger
    await until(c.follows_new_and_old, 10, "the collector following the new, empty file (and the old)")
    write(tmp_path / "queue_log.1", b)  # Asterisk writes to the old file until its logger reloads
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, a + b)))
    write(log, c_lines)
    want = expected(c.config, a + b + c_lines)
    await c.wait_for(lambda ev: len(ev) >= len(want))
    assert_once(await c.quiet(), want)


async def test_logrotate_rename_while_stopped(collector: Callable[..., Collector], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    a, b, c_lines = call(NOW - 900, "5.1", 5, 60), call(NOW - 800, "5.2", 6, 60), call(NOW - 700, "5.3", 7, 60)
    write(log, a)
    c = collector()
    c.start()
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, a)))
    await c.stop()
    write(log, b)
    os.rename(log, tmp_path / "queue_log.1")
    write(log, c_lines, mode="x")
    again = collector()
    again.start()
    want = expected(c.config, a + b + c_lines)
    await again.wait_for(lambda ev: len(ev) >= len(want))
    assert_once(await again.quiet(), want)


async def test_restarted_after_a_rename_the_old_file_is_still_followed(
    collector: Callable[..., Collector], tmp_path: Path
) -> None:
    log = tmp_path / "queue_log"
    a, b, c_lines = call(NOW - 900, "9.1", 5, 60), call(NOW - 800, "9.2", 6, 60), call(NOW - 700, "9.3", 7, 60)
    write(log, a)
    c = collector()
    c.start()
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, a)))
    os.rename(log, tmp_path / "queue_log.1")
    write(log, [], mode="x")  # logrotate's `create`
    await until(c.follows_new_and_old, 10, "the collector following the new file, and the old one for the grace")
    await c.stop()  # and then stops (a restart, a crash) inside that grace
    assert open_here(log, tmp_path / "queue_log.1") == set()
    again = collector()
    again.start()
    await until(
        lambda: open_here(log, tmp_path / "queue_log.1") == {log, tmp_path / "queue_log.1"},
        10,
        "the restarted collector following both files again",
    )
    write(tmp_path / "queue_log.1", b)  # Asterisk writes to the old file until its logger reloads
    await again.wait_for(lambda ev: len(ev) == len(expected(c.config, a + b)))
    write(log, c_lines)
    want = expected(c.config, a + b + c_lines)
    await again.wait_for(lambda ev: len(ev) >= len(want))  # (it lost call 9.2 before: 11 of 16 events)
    assert_once(await again.quiet(), want)


async def test_copytruncate_live_and_while_stopped(collector: Callable[..., Collector], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    a, b, c_lines, d = (
        call(NOW - 900, "6.1", 5, 60),
        call(NOW - 800, "6.2", 6, 60),
        call(NOW - 700, "6.3", 7, 60),
        call(NOW - 600, "6.4", 8, 60),
    )
    write(log, a)
    c = collector()
    c.start()
    await c.wait_for(lambda ev: len(ev) == len(expected(c.config, a)))
    # live: b lands just before the copy; whether the tail saw it first or finds it in the copy, it counts once
    write(log, b)
    shutil.copyfile(log, tmp_path / "queue_log.1")
    os.truncate(log, 0)
    write(log, c_lines)
    want = expected(c.config, a + b + c_lines)
    await c.wait_for(lambda ev: len(ev) >= len(want))
    await c.stop()
    # live again, and the new file grows past the old offset before the tail looks
    f, e = call(NOW - 560, "6.6", 5, 60), [line for i in range(9) for line in call(NOW - 550 + i, f"6.5.{i}", 5, 60)]
    g = call(NOW - 570, "6.7", 5, 60)
    c.start()
    write(log, g)  # once g is on the stream the restarted tail is following the file
    await c.wait_for(lambda ev: any(getattr(e, "call_id", "") == "6.7" and e.KIND == "call.ended" for e in ev))
    write(log, f)  # (the tail may or may not see f before the copy: it counts once either way)
    shutil.copyfile(log, tmp_path / "queue_log.1")
    os.truncate(log, 0)
    write(log, e)
    assert log.stat().st_size > len("".join(line + "\n" for line in c_lines + g + f))
    want = expected(c.config, a + b + c_lines + g + f + e)
    await c.wait_for(lambda ev: len(ev) >= len(want))
    await c.stop()
    # stopped: d is written, copied away and truncated before the collector comes back
    write(log, d)
    shutil.copyfile(log, tmp_path / "queue_log.2")
    os.truncate(log, 0)
    again = collector()
    again.start()
    want = expected(c.config, a + b + c_lines + g + f + e + d)
    await again.wait_for(lambda ev: len(ev) >= len(want))
    assert_once(await again.quiet(), want)


async def test_bad_input_is_counted_and_skipped(collector: Callable[..., Collector], tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    write(log, call(NOW - 900, "7.1", 5, 60))
    c = collector()
    c.start()
    await c.wait_for(lambda ev: any(e.KIND == "call.ended" for e in ev))
    with open(log, "ab") as f:
        f.write(b"\x00\xff\xfe garbage \x80\x81\n")  # binary garbage
        f.write(b"x" * (10 * 1024 * 1024) + b"\n")  # a 10 MB line
        f.write(f"{NOW - 800}|7.2|ventas|PJSIP/201|CONNECT|eleven|x|1\n".encode())  # wrong type
        f.write(f"{NOW - 800}|7.2|ventas\n".encode())  # truncated
        f.write(f"{NOW - 790}|7.2|ventas|NONE|SOMETHINGNEW|a|b\n".encode())  # unknown: ignored, not an error
    write(log, call(NOW - 700, "7.3", 7, 60))
    events = await c.wait_for(lambda ev: any(e.KIND == "call.ended" and e.call_id == "7.3" for e in ev))
    assert [e.call_id for e in events if e.KIND.startswith("call.")] == ["7.1"] * 3 + ["7.3"] * 3

    async def four_errors() -> bool:
        return bool((await c.health()).get("errors_total") == 4)

    await until(four_errors, 5, "4 errors counted in the health")
    health = await c.health()
    assert health["errors_total"] == 4 and health["connected"] is True
    assert "truncated" not in health["last_error"]  # reasons name the line
    assert "line" in health["last_error"] and "queue_log" in health["last_error"]


async def test_a_missing_file_is_reported_and_followed_once_it_appears(
    collector: Callable[..., Collector], tmp_path: Path
) -> None:
    log = tmp_path / "queue_log"
    c = collector()
    c.start()

    async def reported() -> bool:
        return "no such file" in (await c.health()).get("last_error", "")

    await until(reported, 5, "the missing file reported")
    health = await c.health()
    assert health["connected"] is False and "no such file" in health["last_error"]
    write(log, call(NOW - 100, "8.1", 5, 60), mode="x")
    await c.wait_for(lambda ev: any(e.KIND == "call.ended" for e in ev))

    async def connected() -> bool:
        return (await c.health()).get("connected") is True

    await until(connected, 5, "the source connected")
    assert (await c.health())["connected"] is True


def test_yesterday_is_before_today() -> None:
    """The fixture's "today" really excludes five hours ago and includes ten minutes ago."""
    config = make_config(Path("x"))
    from wallboard.clock import day_start_at

    start = day_start_at(NOW, config.zone, config.day_start_time)
    assert NOW - 5 * 3600 < start <= NOW - 600
    assert datetime.fromtimestamp(start, UTC) <= datetime.fromtimestamp(NOW, UTC) - timedelta(minutes=10)


async def test_a_big_first_load_interrupted_and_resumed_sends_today_once(
    streams: Streams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over 4 MiB of yesterday, then today: stopped mid-load, resumed; then a short line after a restart."""
    yesterday = [
        f"{NOW - 6 * 3600}|NONE|ventas|PJSIP/201|ADDMEMBER|",
        f"{NOW - 6 * 3600 + 5}|NONE|ventas|PJSIP/201|PAUSE|Comida",
    ]
    size, i = sum(len(x) + 1 for x in yesterday), 0
    mib = 1024 * 1024
    while size < 4 * mib + 200_000:  # (reads are 1 MiB: the load is stopped well before today's lines)
        if 4 * mib - 150 <= size < 4 * mib:  # a long line across the replay's last whole 1 MiB read
            line = f"{NOW - 4 * 3600}|NONE|NONE|NONE|INFO|{'x' * 260}"
        else:
            line = f"{NOW - 5 * 3600 + i // 20}|y{i}|ventas|PJSIP/202|RINGNOANSWER|15000"
            i += 1
        yesterday.append(line)
        size += len(line) + 1
    yesterday.append(f"{NOW - int(3.5 * 3600)}|w1|ventas|NONE|ENTERQUEUE||600100200|1")  # still waiting today
    today = [f"{NOW - 1800}|NONE|ventas|PJSIP/201|UNPAUSE|", *call(NOW - 1700, "t1", 9, 120)]

    def run(folder: str, prefix: str) -> Collector:
        (tmp_path / folder).mkdir()
        write(tmp_path / folder / "queue_log", yesterday + today, mode="x")
        return Collector(make_config(tmp_path / folder / "queue_log"), Streams(streams.redis, streams.prefix + prefix))

    reference = run("ref", "ref:")
    reference.start()
    want = await reference.wait_for(lambda ev: any(e.KIND == "call.ended" for e in ev))
    await reference.stop()
    # carried: 201 paused in ventas, 202 (rung by ventas, so a member of it) available, the waiting call
    assert [e.KIND for e in want[:6]] == [
        "agent.login",
        "agent.state",
        "agent.login",
        "agent.state",
        "call.queued",
        "agent.state",
    ]

    interrupted = run("int", "int:")
    interrupted.start()

    async def mid_load() -> dict[str, Any]:
        cursor = await interrupted.stored()
        return cursor if cursor.get("position", {}).get("offset", 0) > 0 else {}

    # stop it once a position inside yesterday's lines is stored: looked for every 2 ms, as the
    # whole load takes a fraction of a second
    monkeypatch.setattr("tests.helpers.POLL_S", 0.002)
    cursor = await until(mid_load, 30, "a position inside yesterday's lines stored")
    monkeypatch.undo()
    assert interrupted.task is not None
    interrupted.task.cancel()
    await asyncio.gather(interrupted.task, return_exceptions=True)
    assert cursor["emit_from"] is not None and await interrupted.events() == []
    interrupted.start()
    await interrupted.wait_for(lambda ev: any(e.KIND == "call.ended" for e in ev))
    await interrupted.stop()
    assert_once(await interrupted.events(), want)

    # restarted after a short line lands: the replay of > 4 MiB must stop at the stored position
    short = f"{NOW - 60}|s1|ventas|NONE|ENTERQUEUE||1|1"
    write(tmp_path / "int" / "queue_log", [short])
    interrupted.start()
    events = await interrupted.wait_for(lambda ev: any(getattr(e, "call_id", "") == "s1" for e in ev))
    assert [e.call_id for e in events[len(want) :]] == ["s1"]
    await interrupted.stop()
