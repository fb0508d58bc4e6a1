"""Recordings of a real Asterisk: its AMI sessions served again through the stand-in's socket, and its counters.

A recording (``tests/data/asterisk/<scenario>/ami-session-N.txt.gz``) is the byte
stream one manager session received, exactly as Asterisk sent it: the banner
line, then ``Key: Value\\r\\n`` messages each ended by an empty line. Beside it,
``ami-session-N.sent.txt`` holds the actions that session sent (``Login``,
``QueueStatus``, ``Ping`` …), which tells which replies answer which action.

:class:`RecordingServer` serves one recorded session per connection, in order:
the recorded banner; on ``Login`` the recorded reply and every message that
came before the recorded ``QueueStatus`` reply; on ``QueueStatus`` the rest of
the session (the recorded list with its interleaved live events, then all the
events after it), at once. ``ActionID`` lines of the recorded replies are
rewritten to the collector's own; replies to the recorder's pings are left out
and the collector's pings are answered live. A session that ended in the
recording (an outage) is closed once sent, so the collector reconnects and
gets the next one; the last session stays open.

What Asterisk itself counted in each scenario (``asterisk-counters.json``) is
read by :func:`expected`, and :func:`totals` folds what a collector made of a
recording into the same per-queue figures, so that tests of every source
compare with Asterisk by the same rules (:func:`differences`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tests.collectors.asterisk_ami.ami_server import DATA, AmiServer, Fields, _Conn, parse_block, wire
from wallboard.config import parse_config
from wallboard.counters import QueueCounters
from wallboard.events import AnyEvent, Event
from wallboard.fold import apply_all
from wallboard.fold_settings import FoldSettings
from wallboard.kpi import queue_kpis
from wallboard.state import CentreState
from wallboard.streams import Streams
from wallboard.wire import decode

_ACTION_ID = re.compile(rb"^ActionID: (.*)$", re.MULTILINE | re.IGNORECASE)


def _messages(raw: bytes) -> list[bytes]:
    """The messages of a byte stream after its banner, each with its ending empty line."""
    return [block + b"\r\n\r\n" for block in raw.split(b"\r\n\r\n") if block.strip()]


def _action_id(message: bytes) -> str:
    found = _ACTION_ID.search(message)
    return found.group(1).decode().strip() if found else ""


@dataclass(frozen=True)
class RecordedSession:
    """One manager session as recorded: its banner and what to send on Login and on QueueStatus."""

    banner: bytes
    on_login: list[bytes]
    on_status: list[bytes]
    login_id: str
    status_id: str

    @classmethod
    def load(cls, path: Path) -> RecordedSession:
        """Read ``ami-session-N.txt.gz`` and the actions in ``ami-session-N.sent.txt`` beside it."""
        raw = gzip.decompress(path.read_bytes())
        banner, _, rest = raw.partition(b"\r\n")
        sent = [
            dict(parse_block(block))
            for block in path.with_name(path.name.removesuffix(".txt.gz") + ".sent.txt")
            .read_bytes()
            .decode()
            .split("\r\n\r\n")
            if block.strip()
        ]
        ids = {fields.get("Action", "").lower(): fields["ActionID"] for fields in reversed(sent)}
        login_id, status_id = ids["login"], ids["queuestatus"]
        # Replies to the recorder's own pings are left out (events carrying other ActionIDs stay:
        # OriginateResponse carries the originator's).
        pings = {fields["ActionID"] for fields in sent} - {login_id, status_id}
        messages = [m for m in _messages(rest) if _action_id(m) not in pings]
        first_status = next(i for i, m in enumerate(messages) if _action_id(m) == status_id)
        return cls(banner + b"\r\n", messages[:first_status], messages[first_status:], login_id, status_id)

    def events(self) -> list[Fields]:
        """Every event message of the session (not the replies), parsed, in order."""
        out = []
        for m in self.on_login + self.on_status:
            fields = parse_block(m.decode("utf-8", "replace"))
            if fields and fields[0][0].lower() == "event":
                out.append(fields)
        return out


def load_sessions(folder: Path) -> list[RecordedSession]:
    """The sessions of a scenario folder, in the order they were recorded."""
    paths = sorted(folder.glob("ami-session-*[0-9].txt.gz"), key=lambda p: int(p.name.split("-")[2].split(".")[0]))
    return [RecordedSession.load(p) for p in paths]


def _rewrite(messages: list[bytes], recorded: str, live: str) -> bytes:
    """The messages with the recorded ActionID of a reply replaced by the collector's."""
    old, new = f"ActionID: {recorded}\r\n".encode(), f"ActionID: {live}\r\n".encode()
    return b"".join(m.replace(old, new) for m in messages)


class RecordingServer(AmiServer):
    """An AMI stand-in that serves recorded sessions, one per connection (see the module docstring)."""

    def __init__(self, sessions: list[RecordedSession]) -> None:
        super().__init__()
        self.sessions = sessions
        self.served = 0  # sessions sent whole so far

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(writer)
        self._conns.add(conn)
        index = min(self.logins, len(self.sessions) - 1)
        session = self.sessions[index]
        last = index == len(self.sessions) - 1
        try:
            writer.write(session.banner)
            await writer.drain()
            while (action := await self._read_action(reader)) is not None:
                self.actions.append(action)
                if not await self._replay(conn, session, action, last):
                    break
        except ConnectionError:
            pass
        finally:
            self._conns.discard(conn)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _replay(self, conn: _Conn, session: RecordedSession, action: Fields, last: bool) -> bool:
        """Answer one action from the recording; False when the connection is to be closed."""
        got = {k.lower(): v for k, v in reversed(action)}
        name, live_id = got.get("action", "").lower(), got.get("actionid", "")
        keep_open = True
        if name == "login":
            self.login_attempts += 1
            self.logins += 1
            conn.authenticated = True
            out = _rewrite(session.on_login, session.login_id, live_id)
        elif name == "queuestatus":
            self.status_lists += 1
            out = _rewrite(session.on_status, session.status_id, live_id)
            self.served += 1
            keep_open = last
        elif name == "ping":
            self.pings += 1
            pong = [
                ("Response", "Success"),
                ("ActionID", live_id),
                ("Ping", "Pong"),
                ("Timestamp", f"{time.time():.6f}"),
            ]
            out = wire(pong)
        else:
            out = wire([("Response", "Error"), ("ActionID", live_id), ("Message", "Invalid/unknown command")])
        async with conn.lock:
            conn.writer.write(out)
            await conn.writer.drain()
        return keep_open


# ------------------------------------------------------------ the scenarios and what Asterisk counted

RECORDINGS = DATA / "asterisk"

#: The configuration the recordings were made with, as the wallboard sees it: the two queues
#: (servicelevel = 20 in queues.conf), the four Local-channel members by MemberName, the pause reasons.
SECTIONS: dict[str, Any] = {
    "timezone": "UTC",
    "queues": [
        {"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5},
        {"id": "soporte", "sl_threshold_s": 20, "short_abandon_s": 5},
    ],
    "agents": [
        {"id": f"agent{n}", "aliases": [name, f"Local/agent{n}@agents/n"]}
        for n, name in ((1, "Agente Uno"), (2, "Agente Dos"), (3, "Agente Tres"), (4, "Agente Cuatro"))
    ],
    "pause_reasons": [
        {"id": "lunch", "aliases": ["Almuerzo"]},
        {"id": "break", "aliases": ["Descanso"]},
        {"id": "training", "aliases": ["Formacion"]},
    ],
}


def ami_collector(name: str, port: int, system: str = "") -> dict[str, Any]:
    """The ``collectors:`` entry of an AMI collector following a :class:`RecordingServer` on ``port``
    (``system``: the PBX's name shared with its queue_log collector)."""
    options: dict[str, Any] = {
        "port": port,
        "username": "wallboard",
        "secret": "s3cret",
        "ping_s": 5.0,
        "timeout_s": 5.0,
        "connect_timeout_s": 1.0,
        "outcome_grace_s": 0.3,
    }
    if system:
        options["system"] = system
    return {"kind": "asterisk_ami", "name": name, "options": options}


def settled(count: Callable[[], Awaitable[int]], quiet_s: float = 1.0) -> Callable[[], Awaitable[bool]]:
    """A condition for :func:`~tests.helpers.until`: true once ``await count()`` has not changed for ``quiet_s``."""
    last = {"n": -1.0, "since": 0.0}

    async def check() -> bool:
        n, now = await count(), time.monotonic()
        if n != last["n"]:
            last["n"], last["since"] = n, now
        return now - last["since"] >= quiet_s

    return check


async def stream_events(streams: Streams) -> list[AnyEvent]:
    """Every event on the test's stream, decoded."""
    entries = cast("list[tuple[str, dict[str, str]]]", await streams.redis.xrange(streams.events_key))
    return [decode(fields) for _, fields in entries]


def counters(scenario: str) -> dict[str, Any]:
    """``asterisk-counters.json`` of a scenario: Asterisk's own counters and what follows from them."""
    data: dict[str, Any] = json.loads((RECORDINGS / scenario / "asterisk-counters.json").read_text(encoding="utf-8"))
    return data


def expected(scenario: str) -> dict[str, dict[str, Any]]:
    """Per queue, the totals Asterisk's counters and queue_log give (see the scenario's README.md)."""
    return {queue: q["expected"] for queue, q in counters(scenario)["queues"].items()}


def totals(events: Iterable[Event]) -> dict[str, dict[str, Any]]:
    """Per queue, the day's totals the fold makes of ``events`` (every interval, as a report sums them)."""
    settings = FoldSettings.from_config(parse_config(SECTIONS, env={}), retain_s=None, live=False)
    state = CentreState()
    apply_all(state, settings, events)
    out: dict[str, dict[str, Any]] = {}
    for queue, q in state.queues.items():
        total = QueueCounters()
        for bucket in q.buckets.values():
            total.merge(bucket)
        out[queue] = queue_kpis(total)
    return out


def differences(got: Mapping[str, Any], want: Mapping[str, Any], keys: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    """``{key: (wallboard, Asterisk)}`` where the wallboard's totals of a queue differ from Asterisk's.

    Counts must be equal; means (two decimals on both sides) within 0.01 s; service levels, which
    Asterisk prints with one decimal, within 0.05 points.
    """
    sl = got["service_level_pct"]
    mine = {
        **got,
        "timeouts": got["exits"].get("timeout", 0),
        "exit_key": got["exits"].get("exit_key", 0),
        "sl_answered_pct": sl["answered"],
        "sl2_pct": sl["asterisk_sl2"],
    }
    out: dict[str, tuple[Any, Any]] = {}
    for key in keys:
        a, b = mine.get(key), want[key]
        tolerance = 0.05 if key.endswith("_pct") else 0.01 if key.endswith("_s") else 0
        if a is None and b is None:
            continue
        if a is None or b is None or abs(a - b) > tolerance:
            out[key] = (a, b)
    return out
