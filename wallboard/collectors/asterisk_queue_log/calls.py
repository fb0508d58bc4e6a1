"""What the lines so far said about each call in each queue: to count an entry or an outcome once,
and to know when a call still waiting entered.

Call state is keyed on queue + call id, because a call may re-enter another
queue with the same call id. Both maps are bounded (past the limit the oldest
tenth is forgotten): a file whose outcomes never come must not grow them for
ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from wallboard.collectors.common.tracking import remember

#: A call that entered longer ago than this before a board's start has its outcome in a lost line.
_CARRY_WAITING_S = 4 * 3600.0


class Step(Enum):
    """What a line says happened to a call in a queue."""

    ENTERED = "entered"
    ANSWERED = "answered"
    LEFT = "left"  # unanswered: abandon, timeout, empty, key, withdraw
    ENDED = "ended"  # end of handling: complete or transfer


@dataclass(slots=True)
class _Call:
    """What the lines so far said about one call in one queue, to tell a re-log from a new fact."""

    entered: bool = False  # the latest entry was logged (False: it lies before the file)
    answered: bool = False  # … and was answered
    left: bool = False  # … and left the queue unanswered (abandon, timeout, …)
    open_answers: int = 0  # answers whose end of handling is still to come (of any entry)
    handled_seen: bool = False  # an answer or an end of handling was seen
    entries: int = 0  # entries into the queue logged so far (the first is 1)


class Calls:
    """The calls of one queue_log: which facts were logged already, and when waiting calls entered."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], _Call] = {}
        self._entered: dict[tuple[str, str], float] = {}

    def claim(self, queue: str, callid: str, what: Step) -> bool:
        """True if the line is the first to log this entry or outcome of the call in the queue.

        Asterisk logs some outcomes more than once, the later line differing in a
        trailing field (``COMPLETEAGENT|12|180`` then ``COMPLETEAGENT|12|180|1``);
        by line they would be two handlings. Here a repeat gives no event at all
        (the translator counts it in ``stats.repeated``), so it neither counts nor
        moves the member's state, even if it comes after the member's next call.
        The first line wins: a live board has counted it the moment it was read and
        the fold only adds, so a later line could only change the report, and the
        report and the board would disagree. In tests/data/queue_log_relogged.txt
        three calls talk 180, 240 and 300 s and are logged by 3, 2 and 1 COMPLETE*
        lines: handled 3, AHT (180 + 240 + 300) / 3 = 240 s, not handled 6, AHT
        1320 / 6 = 220 s. The ids stay those of the lines (not of the call), so a
        restart that re-sends lines gives the same ids; a genuine second time (the
        call timed out, the dialplan put it in the same queue again) follows a new
        ENTERQUEUE and counts again.
        """
        key = (queue, callid)
        call = self._calls.get(key)
        if call is None:
            call = _Call()
            remember(self._calls, key, call)
        if what is Step.ENTERED:  # a new entry only once the last one has an outcome
            new = not call.entered or call.answered or call.left
            if new:
                call.entered, call.answered, call.left = True, False, False
                call.entries += 1
        elif what is Step.ANSWERED:
            new = not call.answered
            if new:
                call.answered, call.handled_seen = True, True
                call.open_answers += 1
        elif what is Step.LEFT:
            new = not call.left
            call.left = True
        else:  # ended: one per answer (or one for an answer before the file)
            new = call.open_answers > 0 or not call.handled_seen
            if new:
                call.open_answers = max(0, call.open_answers - 1)
                call.handled_seen = True
        return new

    def entry(self, queue: str, callid: str) -> int:
        """Which entry of the call into the queue the lines are at (1 if none was logged)."""
        call = self._calls.get((queue, callid))
        return call.entries if call is not None and call.entries > 0 else 1

    def enter(self, queue: str, callid: str, ts: float) -> None:
        """The call is waiting in the queue since ``ts``."""
        remember(self._entered, (queue, callid), ts)

    def leave(self, queue: str, callid: str) -> float | None:
        """The call is no longer waiting in the queue; when it entered, if the lines said."""
        return self._entered.pop((queue, callid), None)

    def waiting(self, ts: float) -> Iterator[tuple[str, str, float]]:
        """(queue, call id, entry time) of the calls still waiting at ``ts`` that entered not too long before."""
        for (queue, callid), entered in self._entered.items():
            if ts - _CARRY_WAITING_S <= entered < ts:  # older: its outcome is in a lost line
                yield queue, callid, entered

    def all_waiting(self) -> list[tuple[str, str]]:
        """(queue, call id) of every call the lines leave waiting, however long ago it entered."""
        return list(self._entered)

    def clear(self) -> None:
        """Asterisk restarted: no call it had is waiting or in progress any more."""
        self._calls.clear()
        self._entered.clear()
