"""AMI calls: waiting, and the outcome of each inferred from the evidence Asterisk offers.

AMI says when a caller joins and leaves a queue, but not always why it left
(see the package docstring for the rules). :class:`Calls` keeps each call
believed waiting or with an outcome pending, decides the outcome when the
evidence arrives (a hang-up before the abandon, ``QUEUESTATUS``, joining again)
or when ``grace_s`` has passed without it, and remembers finished calls for a
while to ignore late duplicates. Answers are decided by the translator, which
sees the agent's side too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wallboard.collectors.asterisk_ami.protocol import Message, text, wait
from wallboard.collectors.common.callids import call_key
from wallboard.collectors.common.fields import stored_number, stored_text, stored_time
from wallboard.collectors.common.limits import MAX_TRACKED
from wallboard.collectors.common.tracking import remember
from wallboard.events import CallAbandoned, CallExited, CallLost, CallQueued, Event
from wallboard.wire import MAX_DURATION_S

_CLOSED_MEMORY_S = 600.0  # how long a finished call is remembered, to ignore late duplicates
_QUEUESTATUS_EXITS = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "empty",
    "LEAVEUNAVAIL": "empty",
    "JOINEMPTY": "empty",
    "JOINUNAVAIL": "empty",
    "WITHDRAW": "withdraw",
}
#: Events that settle a call: kept during the QueueStatus list, they spare it from being called lost.
OUTCOME_EVENTS = frozenset({"agentconnect", "queuecallerabandon", "queuecallerleave", "leave"})

Key = tuple[str, str]  # (queue, Uniqueid)


@dataclass(slots=True)
class Call:
    queue: str
    uid: str
    key: str  # id prefix of the call's events
    joined: float | None
    hung_up: bool = False  # the caller's channel was seen hanging up
    left: float | None = None  # QueueCallerLeave time
    abandoned: tuple[float, float] | None = None  # QueueCallerAbandon (time, wait), reason pending
    due: float | None = None  # wall-clock time a pending outcome is decided without more evidence
    joined_live: bool = False  # its QueueCallerJoin arrived in the current session

    @property
    def waiting(self) -> bool:
        return self.left is None and self.abandoned is None


class Calls:
    """The calls of one source, with their pending outcomes; ``on_close`` hears of each call that ends
    (the call, the event time, its outcome)."""

    def __init__(
        self, source: str, grace_s: float, on_close: Callable[[Call, float, str], list[Event]], system: str = ""
    ) -> None:
        self.source = source
        #: The PBX's name shared with its queue_log collector ("": ids of this source's own).
        self.system = system
        #: The id slot of an unanswered exit: one ``outcome`` when ids are shared (the first report counts).
        self.abandon_slot, self.exit_slot = ("outcome", "outcome") if system else ("abandon", "exit")
        self.grace_s = grace_s
        #: True when the calls believed waiting changed since the translator last saved them.
        self.dirty = False
        self._on_close = on_close
        self.open: dict[Key, Call] = {}
        self.by_uid: dict[str, Call] = {}
        self._entries: dict[Key, int] = {}  # times each channel entered each queue
        self.closed: dict[Key, tuple[float, str]] = {}  # → (wall time, outcome)
        self._pruned_at = 0.0

    # ------------------------------------------------------------ life cycle

    def key(self, queue: str, uid: str, n: int | None = None) -> str:
        """The id prefix of the ``n``-th entry of a channel into a queue (the latest if not given)."""
        n = self._entries.get((queue, uid), 1) if n is None else n
        return call_key(self.system or self.source, queue, uid, n)

    def start(self, queue: str, uid: str, joined: float | None) -> Call:
        """A new entry of a channel into a queue."""
        n = self._entries.pop((queue, uid), 0) + 1
        remember(self._entries, (queue, uid), n)
        self.closed.pop((queue, uid), None)
        call = self.open[(queue, uid)] = Call(queue, uid, self.key(queue, uid, n), joined)
        self.by_uid[uid] = call
        self.dirty = True
        return call

    def close(self, call: Call, ts: float, outcome: str, clock: float) -> list[Event]:
        """Forget a call that has an outcome (remembering the outcome a while)."""
        self.open.pop((call.queue, call.uid), None)
        if self.by_uid.get(call.uid) is call:
            del self.by_uid[call.uid]
        self.closed[(call.queue, call.uid)] = (clock, outcome)
        self.dirty = True
        return self._on_close(call, ts, outcome)

    def settle(self, call: Call, clock: float, *, rejoined: bool) -> list[Event]:
        """Decide a pending outcome with the evidence there is (see the package docstring)."""
        if call.abandoned is not None:
            ts, wait_s = call.abandoned
            if rejoined:
                return self._exit(call, ts, wait_s, "other", clock)
            return self._abandon_now(call, clock)
        ts = call.left if call.left is not None else clock
        wait_s = max(0.0, ts - call.joined) if call.joined is not None else 0.0
        return self._exit(call, ts, wait_s, "exit_key", clock)

    def _abandon_now(self, call: Call, clock: float) -> list[Event]:
        assert call.abandoned is not None
        ts, wait_s = call.abandoned
        out: list[Event] = [
            CallAbandoned(f"{call.key}:{self.abandon_slot}", self.source, ts, call.queue, call.uid, wait_s)
        ]
        out.extend(self.close(call, ts, "abandoned", clock))
        return out

    def _exit(self, call: Call, ts: float, wait_s: float, reason: str, clock: float) -> list[Event]:
        out: list[Event] = [
            CallExited(f"{call.key}:{self.exit_slot}", self.source, ts, call.queue, call.uid, wait_s, reason)
        ]
        out.extend(self.close(call, ts, reason, clock))
        return out

    def expire(self, now: float) -> list[Event]:
        """Outcomes whose grace is over by wall-clock time ``now``."""
        out: list[Event] = []
        for call in [c for c in self.open.values() if c.due is not None and c.due <= now]:
            out.extend(self.settle(call, now, rejoined=False))
        if now - self._pruned_at >= 60.0:
            self._pruned_at = now
            self.closed = {k: v for k, v in self.closed.items() if now - v[0] < _CLOSED_MEMORY_S}
        return out

    def dues(self) -> list[float]:
        return [c.due for c in self.open.values() if c.due is not None]

    def waiting(self) -> list[Key]:
        """(queue, Uniqueid) of the calls believed waiting now."""
        return [(c.queue, c.uid) for c in self.open.values() if c.waiting]

    # ------------------------------------------------------------ resync

    def resync(
        self, entries: Mapping[Key, float], present: set[Key], settled: Iterable[str], now: float
    ) -> list[Event]:
        """Calls listed waiting (``entries``: wait in seconds) joined; calls no longer listed lost."""
        out: list[Event] = []
        for (queue, uid), wait_s in entries.items():
            call = self.open.get((queue, uid))
            if call is None:
                previous = self.by_uid.get(uid)
                if previous is not None and not previous.waiting:
                    out.extend(self.settle(previous, now, rejoined=True))
                call = self.start(queue, uid, now - wait_s)
                out.append(CallQueued(f"{call.key}:join", self.source, now - wait_s, queue, uid))
            elif call.joined is None:
                call.joined = now - wait_s
        settled = set(settled)
        for call in list(self.open.values()):
            if call.waiting and (call.queue, call.uid) not in present and call.uid not in settled:
                out.append(CallLost(f"{call.key}:lost", self.source, now, call.queue, call.uid))
                out.extend(self.close(call, now, "lost", now))
        return out

    # ------------------------------------------------------------ the cursor

    def snapshot(self) -> list[list[Any]]:
        """Every call, with the evidence of a pending outcome, so a restart decides it."""
        return [
            [
                c.queue,
                c.uid,
                self._entries.get((c.queue, c.uid), 1),
                c.joined,
                c.left,
                None if c.abandoned is None else list(c.abandoned),
                c.hung_up,
            ]
            for c in self.open.values()
        ]

    def restore(self, rows: object, now: float) -> None:
        """Take back the rows of :meth:`snapshot` (anything malformed is skipped)."""
        for row in rows if isinstance(rows, list) else []:
            if not (
                isinstance(row, list)
                and len(row) in (4, 7)
                and stored_text(row[0])
                and stored_text(row[1])
                and type(row[2]) is int
                and (row[3] is None or stored_time(row[3]) is not None)
            ):
                continue
            queue, uid, n, joined = row[:4]
            self._entries[(queue, uid)] = max(0, min(n, MAX_TRACKED) - 1)
            call = self.start(queue, uid, stored_time(joined))
            left, abandoned, hung_up = row[4:] if len(row) == 7 else (None, None, False)
            call.left = stored_time(left)
            if isinstance(abandoned, list) and len(abandoned) == 2:
                ts, wait_s = stored_time(abandoned[0]), stored_number(abandoned[1], 0.0, MAX_DURATION_S)
                if ts is not None and wait_s is not None:
                    call.abandoned = (ts, wait_s)
            call.hung_up = hung_up is True
            if not call.waiting:  # decided when the grace is over, counting from the restart
                call.due = now + self.grace_s

    # ------------------------------------------------------------ handlers
    # Each takes the message, its event time and the wall-clock time it arrived.
    # Every field is parsed before any state changes, so a bad message leaves no trace.

    def join(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid = text(m, "Queue"), text(m, "Uniqueid")
        out: list[Event] = []
        call = self.open.get((queue, uid))
        if call is not None and call.waiting:
            return out  # already waiting (found by QueueStatus, or the event came twice)
        previous = call or self.by_uid.get(uid)
        if previous is not None and not previous.waiting:
            out.extend(self.settle(previous, clock, rejoined=True))  # it left without hanging up
        call = self.start(queue, uid, ts)
        call.joined_live = True
        out.append(CallQueued(f"{call.key}:join", self.source, ts, queue, uid))
        return out

    def leave(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid = text(m, "Queue"), text(m, "Uniqueid")
        call = self.open.get((queue, uid))
        if call is not None and call.left is None:
            call.left = ts
            if call.abandoned is None:  # answered (AgentConnect follows) or exit with key
                call.due = clock + self.grace_s
        return []

    def abandon(self, m: Message, ts: float, clock: float) -> list[Event]:
        queue, uid, wait_s = text(m, "Queue"), text(m, "Uniqueid"), wait(m, "HoldTime")
        call = self.open.get((queue, uid))
        if call is None:
            if (queue, uid) in self.closed:
                return []  # Asterisk may publish a second abandon for one call
            call = self.start(queue, uid, ts - wait_s)
        if call.abandoned is not None:
            return []
        call.abandoned = (ts, wait_s)
        if call.hung_up:
            return self._abandon_now(call, clock)
        call.due = clock + self.grace_s
        return []

    def hangup(self, m: Message, ts: float, clock: float) -> list[Event]:
        call = self.by_uid.get(m.get("uniqueid", ""))
        if call is None:
            return []
        if call.abandoned is not None:
            return []  # after the abandon it says nothing: the dialplan hangs up after a timeout too
        if call.left is None:
            call.hung_up = True  # the abandon that follows is a hang-up
        return []

    def varset(self, m: Message, ts: float, clock: float) -> list[Event]:
        if m.get("variable", "").upper() != "QUEUESTATUS":
            return []
        call = self.by_uid.get(m.get("uniqueid", ""))
        reason = _QUEUESTATUS_EXITS.get(m.get("value", "").upper())
        if call is None or call.abandoned is None or reason is None:
            return []
        ts, wait_s = call.abandoned
        return self._exit(call, ts, wait_s, reason, clock)
