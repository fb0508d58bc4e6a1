"""A stand-in FreeSWITCH Event Socket (inbound mode) speaking the wire protocol over real TCP.

Written from the protocol's facts, byte for byte: on connect
``Content-Type: auth/request\\n\\n``; ``auth <password>`` answered with a
``command/reply`` (``+OK accepted``, or ``-ERR invalid`` followed by a
``text/disconnect-notice`` and a close); ``event plain …`` answered ``+OK event
listener enabled plain``; ``api <command>`` answered ``api/response`` with a
Content-Length body (``callcenter_config`` tables are ``|``-separated, header
line first, ``+OK`` last, as mod_callcenter prints them); events pushed as
``Content-Length: N\\nContent-Type: text/event-plain\\n\\n`` + N bytes of
URL-encoded ``Name: value`` lines ending with a blank line.

Tests script it: set the tables (:attr:`EslServer.queues`, :attr:`EslServer.agents`),
push events or raw bytes, drop every connection (optionally in the middle of
a body), stop answering ``api status``, change the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from types import TracebackType
from urllib.parse import quote

from tests.helpers import until

QUEUE_COLUMNS = (
    "name",
    "strategy",
    "moh_sound",
    "time_base_score",
    "tier_rules_apply",
    "tier_rule_wait_second",
    "tier_rule_wait_multiply_level",
    "tier_rule_no_agent_no_wait",
    "discard_abandoned_after",
    "abandoned_resume_allowed",
    "max_wait_time",
    "max_wait_time_with_no_agent",
    "max_wait_time_with_no_agent_time_reached",
    "record_template",
)
MEMBER_COLUMNS = (
    "queue",
    "instance_id",
    "uuid",
    "session_uuid",
    "cid_number",
    "cid_name",
    "system_epoch",
    "joined_epoch",
    "rejoined_epoch",
    "bridge_epoch",
    "abandoned_epoch",
    "base_score",
    "skill_score",
    "serving_agent",
    "serving_system",
    "state",
)
AGENT_COLUMNS = (
    "name",
    "instance_id",
    "uuid",
    "type",
    "contact",
    "status",
    "state",
    "max_no_answer",
    "wrap_up_time",
    "reject_delay_time",
    "busy_delay_time",
    "no_answer_delay_time",
    "last_bridge_start",
    "last_bridge_end",
    "last_offered_call",
    "last_status_change",
    "no_answer_count",
    "calls_answered",
    "talk_time",
    "ready_time",
)

AUTH_REQUEST = b"Content-Type: auth/request\n\n"
AUTH_ACCEPTED = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
AUTH_DENIED = b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"
SUBSCRIBED = b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n"
GOODBYE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
DISCONNECT = b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s" % (len(GOODBYE), GOODBYE)
DENIED = b"Access Denied, go away.\n"
RUDE_REJECTION = b"Content-Type: text/rude-rejection\nContent-Length: %d\n\n%s" % (len(DENIED), DENIED)
_sequence = iter(range(10_000, 10_000_000))


def member(
    queue: str,
    uuid: str,
    joined: int,
    state: str = "Waiting",
    *,
    cid: str = "600100200",
    cid_name: str = "Cliente",
    rejoined: int = 0,
    bridged: int = 0,
    agent: str = "",
) -> dict[str, str]:
    """A row of ``callcenter_config queue list members``."""
    return {
        "queue": queue,
        "instance_id": "single_box",
        "uuid": uuid,
        "session_uuid": f"s-{uuid}",
        "cid_number": cid,
        "cid_name": cid_name,
        "system_epoch": str(joined - 2),
        "joined_epoch": str(joined),
        "rejoined_epoch": str(rejoined),
        "bridge_epoch": str(bridged),
        "abandoned_epoch": "0",
        "base_score": "0",
        "skill_score": "0",
        "serving_agent": agent,
        "serving_system": "single_box" if agent else "",
        "state": state,
    }


def agent(
    name: str,
    status: str = "Available",
    state: str = "Waiting",
    *,
    wrap_up_time: int = 0,
    last_bridge_end: int = 0,
    contact: str = "",
) -> dict[str, str]:
    """A row of ``callcenter_config agent list``."""
    return {
        "name": name,
        "instance_id": "single_box",
        "uuid": "",
        "type": "callback",
        "contact": contact or f"[call_timeout=10]user/{name}",
        "status": status,
        "state": state,
        "max_no_answer": "3",
        "wrap_up_time": str(wrap_up_time),
        "reject_delay_time": "10",
        "busy_delay_time": "60",
        "no_answer_delay_time": "10",
        "last_bridge_start": "0",
        "last_bridge_end": str(last_bridge_end),
        "last_offered_call": "0",
        "last_status_change": "0",
        "no_answer_count": "0",
        "calls_answered": "0",
        "talk_time": "0",
        "ready_time": "0",
    }


def table(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    """A table as mod_callcenter prints it: header, rows, ``+OK`` (no header when there is no row)."""
    lines = ["|".join(columns)] if rows else []
    lines += ["|".join(row[c] for c in columns) for row in rows]
    return ("".join(f"{line}\n" for line in lines) + "+OK\n").encode()


def event(action: str, ts: float | None = None, /, **cc: str | int) -> dict[str, str]:
    """The headers of a ``callcenter::info`` event; ``cc`` are CC- headers (``Member_UUID`` → ``CC-Member-UUID``)."""
    ts = time.time() if ts is None else ts
    headers = {
        "Event-Name": "CUSTOM",
        "Core-UUID": "5d1f4a7e-1c1e-4b8a-9d0f-2a6b3c4d5e6f",
        "FreeSWITCH-Hostname": "pbx1",
        "FreeSWITCH-Switchname": "pbx1",
        "FreeSWITCH-IPv4": "10.0.0.5",
        "FreeSWITCH-IPv6": "::1",
        "Event-Date-Local": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)),
        "Event-Date-GMT": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts)),
        "Event-Date-Timestamp": str(int(ts * 1_000_000)),
        "Event-Calling-File": "mod_callcenter.c",
        "Event-Calling-Function": "cc_agent_update" if action.startswith("agent-") else "callcenter_function",
        "Event-Calling-Line-Number": "1184",
        "Event-Sequence": str(next(_sequence)),
        "Event-Subclass": "callcenter::info",
        "CC-Action": action,
    }
    for key, value in cc.items():
        headers["CC-" + key.replace("_", "-")] = str(value)
    return headers


def plain(headers: Mapping[str, str]) -> bytes:
    """An event in ``text/event-plain`` framing, values URL-encoded as FreeSWITCH does."""
    body = "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers.items()).encode() + b"\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body)


def api_response(body: bytes) -> bytes:
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body)


class _Connection:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.subscribed = False


class EslServer:
    """The stand-in server on 127.0.0.1 (ephemeral port); use as an async context manager."""

    def __init__(self, password: str = "ClueCon") -> None:
        self.password = password
        self.greeting = AUTH_REQUEST  # RUDE_REJECTION: what an address outside the ACL gets, then a close
        self.queues: dict[str, list[dict[str, str]]] = {}  # full queue name → member rows
        self.agents: list[dict[str, str]] = []
        self.answer_status = True  # reply to `api status` (the collector's keep-alive)
        self.before_reply: dict[str, list[bytes]] = {}  # api command → bytes pushed just before its reply
        self.commands: list[str] = []
        self.auth_attempts = 0
        self.subscriptions = 0  # sessions that ever subscribed
        self._live: list[_Connection] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> EslServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await self.drop()
        if self._handlers:  # each ends on its own once its socket is closed (cancelling them logs errors)
            await asyncio.wait(list(self._handlers), timeout=5)

    # ------------------------------------------------------------ scripting

    async def wait_subscribed(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``n`` sessions in all have subscribed to events."""
        await until(lambda: self.subscriptions >= n, timeout, f"{n} subscriptions")

    async def push(self, *items: Mapping[str, str] | bytes) -> None:
        """Send events (headers) or raw bytes to every subscribed session."""
        data = b"".join(item if isinstance(item, bytes) else plain(item) for item in items)
        for conn in list(self._live):
            if conn.subscribed:
                conn.writer.write(data)
                with contextlib.suppress(ConnectionError):
                    await conn.writer.drain()

    async def drop(self, partial: bytes = b"") -> None:
        """Write ``partial`` (say, half an event) to every session, then close them all."""
        for conn in list(self._live):
            if partial:
                conn.writer.write(partial)
            conn.writer.close()
            with contextlib.suppress(ConnectionError):
                await conn.writer.wait_closed()
        self._live.clear()

    # ------------------------------------------------------------ protocol

    def _api(self, command: str) -> bytes:
        words = command.split()
        if words == ["status"]:
            return b"UP 0 years, 0 days, 1 hour, 2 minutes, 3 seconds\nFreeSWITCH (Version 1.10.12) is ready\n"
        if words == ["callcenter_config", "queue", "list"]:  # printed by hand: a header even with no queue
            lines = ["|".join(QUEUE_COLUMNS)]
            lines += [
                f"{q}|longest-idle-agent|local_stream://moh|queue|false|0|false|true|60|false|0|0|5|(null)"
                for q in self.queues
            ]
            return ("".join(f"{line}\n" for line in lines) + "+OK\n").encode()
        if words[:4] == ["callcenter_config", "queue", "list", "members"] and len(words) == 5:
            return table(MEMBER_COLUMNS, self.queues.get(words[4], []))
        if words == ["callcenter_config", "agent", "list"]:
            return table(AGENT_COLUMNS, self.agents)
        return f"-ERR {words[0] if words else ''} Command not found!\n".encode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        conn = _Connection(writer)
        self._live.append(conn)
        try:
            writer.write(self.greeting)
            if self.greeting != AUTH_REQUEST:
                await writer.drain()
                return
            authed = False
            while True:
                lines: list[str] = []
                while True:
                    raw = await reader.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    if not line:
                        break
                    lines.append(line)
                if not lines:
                    continue
                command = lines[0]
                self.commands.append(command)
                if not authed:
                    if not command.startswith("auth "):
                        writer.write(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
                        continue
                    self.auth_attempts += 1
                    if command[5:] != self.password:
                        writer.write(AUTH_DENIED + DISCONNECT)
                        await writer.drain()
                        return
                    authed = True
                    writer.write(AUTH_ACCEPTED)
                elif command.startswith("event plain "):
                    conn.subscribed = True
                    self.subscriptions += 1
                    writer.write(SUBSCRIBED)
                elif command.startswith("api "):
                    cmd = command[4:]
                    for data in self.before_reply.pop(cmd, []):
                        writer.write(data)
                    if cmd == "status" and not self.answer_status:
                        continue
                    writer.write(api_response(self._api(cmd)))
                elif command == "exit":
                    writer.write(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n" + DISCONNECT)
                    await writer.drain()
                    return
                else:
                    writer.write(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
                await writer.drain()
        except ConnectionError:
            return
        finally:
            if conn in self._live:
                self._live.remove(conn)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)
