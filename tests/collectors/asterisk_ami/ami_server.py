"""A stand-in Asterisk Manager Interface server: AMI's wire format over a real TCP socket.

It speaks what a collector sees of Asterisk: the banner line,
``Login`` (success with an ActionID echo, or ``Authentication failed`` and a
closed connection, as Asterisk does), ``QueueStatus`` answered as an event list
(``EventList: start`` … rows carrying the ActionID … ``QueueStatusComplete``
with ``EventList: Complete`` and ``ListItems``), ``Ping`` → ``Pong`` and
``Logoff``. Tests script the rest: the rows the next ``QueueStatus`` lists,
event transcripts pushed to logged-in sessions, bytes slipped into the middle
of a ``QueueStatus`` list, connections dropped (also in the middle of a
message), pings left unanswered; and count what the collector did.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import until

DATA = Path(__file__).resolve().parents[2] / "data"
Fields = list[tuple[str, str]]


def parse_block(block: str) -> Fields:
    """``Key: Value`` lines of one message, in order (repeated keys kept)."""
    out: Fields = []
    for line in block.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            out.append((key, value.strip()))
    return out


def load_transcript(name: str) -> list[Fields]:
    """Messages of ``tests/data/<name>``: blank-line separated, ``#`` lines are comments."""
    text = "\n".join(
        line for line in (DATA / name).read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    )
    return [parse_block(block) for block in text.split("\n\n") if block.strip()]


def wire(fields: Iterable[tuple[str, str]]) -> bytes:
    """One message as Asterisk writes it: ``Key: Value\\r\\n`` lines and an empty line."""
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in fields) + b"\r\n"


def wire_all(messages: Iterable[Fields]) -> bytes:
    return b"".join(wire(m) for m in messages)


@dataclass(eq=False)  # one per connection, kept in a set by identity
class _Conn:
    writer: asyncio.StreamWriter
    authenticated: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class AmiServer:
    """Listens on 127.0.0.1 (an ephemeral port unless given) until :meth:`stop`."""

    def __init__(self, *, username: str = "wallboard", secret: str = "s3cret", version: str = "5.0.1") -> None:
        self.username = username
        self.secret = secret
        self.version = version
        self.port = 0
        #: Rows the next QueueStatus lists (QueueParams / QueueMember / QueueEntry, without ActionID).
        self.status_rows: list[Fields] = []
        #: Bytes written in the middle of the next QueueStatus lists (live events racing the list).
        self.during_status = b""
        self.answer_pings = True
        self.login_attempts = 0
        self.logins = 0
        self.status_lists = 0
        self.pings = 0
        self.actions: list[Fields] = []
        self._server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ control

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection (the port can be started again)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def push(self, data: bytes | Iterable[Fields]) -> None:
        """Write events (raw bytes, or messages) to every logged-in connection."""
        raw = data if isinstance(data, bytes) else wire_all(data)
        for conn in [c for c in self._conns if c.authenticated]:
            async with conn.lock:
                conn.writer.write(raw)
                await conn.writer.drain()

    async def drop(self, partial: bytes = b"") -> None:
        """Write ``partial`` (say, half a message) to every connection, then close them."""
        for conn in list(self._conns):
            async with conn.lock:
                if partial:
                    conn.writer.write(partial)
                    with contextlib.suppress(ConnectionError):
                        await conn.writer.drain()
                conn.writer.close()

    @property
    def connections(self) -> int:
        return len(self._conns)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds (what the server has seen: logins, pings, …)."""
        await until(condition, timeout, "the server's condition")

    # ----------------------------------------------------------- protocol

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(writer)
        self._conns.add(conn)
        try:
            writer.write(f"Asterisk Call Manager/{self.version}\r\n".encode())
            await writer.drain()
            while True:
                action = await self._read_action(reader)
                if action is None:
                    break
                self.actions.append(action)
                if not await self._answer(conn, action):
                    break
        except ConnectionError:
            pass
        finally:
            self._conns.discard(conn)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    @staticmethod
    async def _read_action(reader: asyncio.StreamReader) -> Fields | None:
        fields: Fields = []
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if fields:
                    return fields
                continue
            key, _, value = text.partition(":")
            fields.append((key, value.strip()))

    async def _answer(self, conn: _Conn, action: Fields) -> bool:
        """Reply to one action; False when the connection is to be closed."""
        got = {k.lower(): v for k, v in reversed(action)}
        name = got.get("action", "").lower()
        echo: Fields = [("ActionID", got["actionid"])] if "actionid" in got else []
        out = b""
        keep_open = True
        if name == "login":
            self.login_attempts += 1
            if got.get("username") == self.username and got.get("secret") == self.secret:
                conn.authenticated = True
                self.logins += 1
                out = wire([("Response", "Success"), *echo, ("Message", "Authentication accepted")])
                out += wire(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", "8120"),
                        ("LastReload", "8120"),
                        ("Status", "Fully Booted"),
                    ]
                )
            else:
                out = wire([("Response", "Error"), *echo, ("Message", "Authentication failed")])
                keep_open = False
        elif not conn.authenticated:
            out = wire([("Response", "Error"), *echo, ("Message", "Permission denied")])
        elif name == "queuestatus":
            self.status_lists += 1
            out = wire(
                [("Response", "Success"), *echo, ("EventList", "start"), ("Message", "Queue status will follow")]
            )
            rows = [wire([*row, *echo]) for row in self.status_rows]
            half = (len(rows) + 1) // 2
            out += b"".join(rows[:half]) + self.during_status + b"".join(rows[half:])
            out += wire(
                [("Event", "QueueStatusComplete"), *echo, ("EventList", "Complete"), ("ListItems", str(len(rows)))]
            )
        elif name == "ping":
            self.pings += 1
            if not self.answer_pings:
                return True
            out = wire([("Response", "Success"), *echo, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])
        elif name == "logoff":
            out = wire([("Response", "Goodbye"), *echo, ("Message", "Thanks for all the fish.")])
            keep_open = False
        else:
            out = wire([("Response", "Error"), *echo, ("Message", "Invalid/unknown command")])
        async with conn.lock:
            conn.writer.write(out)
            await conn.writer.drain()
        return keep_open
