"""What the lines say each queue member is doing, and the one state per agent the board is sent.

A member is in some queues, paused or not in each, and in a queue call or not:

- **Queues**: ADDMEMBER adds one, REMOVEMEMBER removes it, AGENTLOGOFF removes
  all. A member that takes a call of a queue (CONNECT), is rung by it
  (RINGNOANSWER, RINGCANCELED) or is paused or unpaused in it is in it,
  whether or not its ADDMEMBER was read. Static members (``member =>`` in
  queues.conf) never log a line when they join: the collector's
  ``static_members`` option names them, and they are in their queues from
  the start, and again after Asterisk restarts (QUEUESTART), unpaused.
- **Pauses**: PAUSE/UNPAUSE name their queue; PAUSEALL/UNPAUSEALL (queue
  NONE, Asterisk logs one PAUSE/UNPAUSE per queue after it) pause or unpause
  every queue, also the ones no line has named yet.
- **Calls**: CONNECT until its COMPLETEAGENT, COMPLETECALLER or transfer.

The board shows one state per agent, derived from all its queues together:
in a queue call → ``on_call`` (inbound); paused in *every* queue it is a
member of → ``not_ready``, with the reason of the latest pause still standing
that gave one; otherwise ``available``. An agent paused in one of two queues
still takes that other queue's calls, so it is not shown not ready: it is
not ready only when no queue can offer it a call (the AMI source uses the
same rule).

Ringing: queue_log writes a ring only once it is over (RINGNOANSWER, and
RINGCANCELED on newer Asterisk, with the ring time in milliseconds), so no
board can show an agent ringing live from it. An unanswered ring is sent
after the fact instead, back-dated: ``ringing`` from when it began, then the
state after it, so the agent's time in each state is right. A ring that began
before the member's latest change is not sent (it would overwrite a state the
board holds), nor one of a member in a call or paused everywhere, nor a ring
time of 0 (Asterisk's "busy or unavailable"). The ring before an answer
(CONNECT's ring time) is not sent: it stays in the available time. What
queue_log cannot know at all: the device's state (busy with a direct call,
off the hook, unreachable), on hold, and wrap-up.

Events go out through the shared emitter
(:class:`~wallboard.collectors.common.agents.AgentStates`), which sends only
what moves the board. Pure: no I/O, the ids are the caller's line ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from wallboard.collectors.asterisk_queue_log.lines import event_id
from wallboard.collectors.common.agents import AgentStates
from wallboard.events import AgentState, Event

#: The key in :attr:`_Member.paused` for the queues no line has named (a PAUSEALL covers them).
_UNNAMED = ""


@dataclass(slots=True)
class _Member:
    """What the lines say one member is doing (what the board shows of it is the emitter's)."""

    #: Queue → reason code, for the queues it is paused in, latest pause last (see _UNNAMED).
    paused: dict[str, str] = field(default_factory=dict)
    in_call: bool = False
    #: Time of the latest line that may have moved its state: a ring that began before is not sent.
    since: float = 0.0


class Members:
    """The members of one queue_log and the agent events that show them on the board.

    Every method appends the events it makes to ``out``, numbered after those
    already there (``base`` is the line's id)."""

    def __init__(self, source: str, static: Mapping[str, Iterable[str]] | None = None) -> None:
        """``static``: agent id → the queues queues.conf makes it a member of (no line says so)."""
        self._states = AgentStates(source)
        self._members: dict[str, _Member] = {}
        self._static = {agent: frozenset(queues) for agent, queues in (static or {}).items() if queues}
        for agent, queues in sorted(self._static.items()):
            for queue in sorted(queues):
                self._states.login("", 0.0, agent, queue)  # as if sent: carry_over sends it

    # ------------------------------------------------------------ what stands

    def carry_over(self, base: str, ts: float) -> list[Event]:
        """Every member's queues and state, as events at ``ts`` for a board that saw none of the earlier ones."""
        return self._states.carry_over(base, ts)

    def static_standing(self, base: str, ts: float) -> list[Event]:
        """The static members' queues and state, as events at ``ts``: for a board that may not know them
        (the option changed while the collector was stopped); a board that does is not moved by them."""
        return [e for e in self._states.carry_over(base, ts) if getattr(e, "agent", "") in self._static]

    # ------------------------------------------------------------ lines

    def join(self, base: str, ts: float, agent: str, queue: str, out: list[Event]) -> None:
        """The member is in ``queue`` (a call, a ring or a pause there says so)."""
        if queue not in self._states[agent].queues:
            out.append(self._states.login(event_id(base, len(out)), ts, agent, queue))
            self._get(agent).since = ts

    def login(self, base: str, ts: float, agent: str, out: list[Event]) -> None:
        """AGENTLOGIN: logged in, queues unknown."""
        out.append(self._states.login(event_id(base, len(out)), ts, agent))
        self._get(agent).since = ts

    def logoff(self, base: str, ts: float, agent: str, out: list[Event]) -> None:
        """AGENTLOGOFF: out of every queue."""
        m = self._get(agent)
        m.in_call, m.since = False, ts
        m.paused.clear()
        out.append(self._states.logout(event_id(base, len(out)), ts, agent))

    def add(self, base: str, ts: float, agent: str, queue: str, paused: bool, out: list[Event]) -> None:
        """ADDMEMBER to ``queue``, paused there or not."""
        out.append(self._states.login(event_id(base, len(out)), ts, agent, queue))
        m = self._get(agent)
        m.paused.pop(queue, None)
        if paused:
            m.paused[queue] = ""
        else:
            m.paused.pop(_UNNAMED, None)
        self._show(base, ts, agent, m, out)

    def remove(self, base: str, ts: float, agent: str, queue: str, out: list[Event]) -> None:
        """REMOVEMEMBER from ``queue``: in the others it may now be paused in every one."""
        out.append(self._states.logout(event_id(base, len(out)), ts, agent, queue))
        m = self._get(agent)
        m.paused.pop(queue, None)
        if self._states[agent].logged_in:
            self._show(base, ts, agent, m, out)
        else:
            m.paused.clear()
            m.since = ts

    def pause(self, base: str, ts: float, agent: str, queue: str, reason: str | None, out: list[Event]) -> None:
        """PAUSE (``reason`` a code, maybe "") or UNPAUSE (None) in ``queue``; in every queue if it is ""."""
        m = self._get(agent)
        if queue:
            self.join(base, ts, agent, queue, out)
            m.paused.pop(queue, None)
            if reason is None:
                m.paused.pop(_UNNAMED, None)
            else:
                m.paused[queue] = reason
        else:
            if not self._states[agent].logged_in:  # paused before we saw it join (the file starts mid-day)
                self.login(base, ts, agent, out)
            m.paused.clear()
            if reason is not None:
                for q in sorted(self._states[agent].queues):
                    m.paused[q] = reason
                m.paused[_UNNAMED] = reason
        self._show(base, ts, agent, m, out)

    def answered(self, base: str, ts: float, agent: str, out: list[Event]) -> None:
        """CONNECT: in a call since ``ts`` (call :meth:`join` first)."""
        m = self._get(agent)
        m.in_call = True
        self._show(base, ts, agent, m, out)

    def ended(self, base: str, ts: float, agent: str, out: list[Event]) -> None:
        """COMPLETE* or a transfer: the member's call is over."""
        m = self._get(agent)
        m.in_call = False
        self._show(base, ts, agent, m, out)

    def rang(self, base: str, ts: float, agent: str, queue: str, ring_s: float, out: list[Event]) -> None:
        """RINGNOANSWER or RINGCANCELED: ``queue`` rang the member for ``ring_s`` until ``ts``."""
        self.join(base, ts, agent, queue, out)
        m = self._get(agent)
        before = len(out)
        self._ring(base, ts, agent, m, ring_s, out)
        if len(out) > before:
            self._show(base, ts, agent, m, out)  # and back to what it was

    def restart(self, base: str, ts: float, out: list[Event]) -> None:
        """QUEUESTART: Asterisk restarted; no member is in a call, static members are back, unpaused.

        Static members are shown at once (Asterisk logs nothing for them); a dynamic member's next
        line shows it (Asterisk logs an ADDMEMBER for each persistent one it adds back)."""
        for m in self._members.values():
            m.in_call = False
        for agent, queues in sorted(self._static.items()):
            for queue in sorted(queues):
                self.join(base, ts, agent, queue, out)
            m = self._get(agent)
            for queue in (*queues, _UNNAMED):
                m.paused.pop(queue, None)
            self._show(base, ts, agent, m, out)

    # ------------------------------------------------------------ state

    def _get(self, agent: str) -> _Member:
        m = self._members.get(agent)
        if m is None:
            m = self._members[agent] = _Member()
        return m

    def _derive(self, agent: str, m: _Member) -> tuple[AgentState, str, str]:
        """(state, reason, direction) the lines say the agent is in."""
        if m.in_call:
            return AgentState.ON_CALL, "", "inbound"
        queues = self._states[agent].queues
        if _UNNAMED in m.paused or (queues and queues <= m.paused.keys()):
            reason = next((r for r in reversed(m.paused.values()) if r), "")
            return AgentState.NOT_READY, reason, ""
        return AgentState.AVAILABLE, "", ""

    def _show(self, base: str, ts: float, agent: str, m: _Member, out: list[Event]) -> None:
        """Send the member's state if the board shows another one."""
        m.since = ts
        state, reason, direction = self._derive(agent, m)
        event = self._states.show(lambda: event_id(base, len(out)), ts, agent, state, reason, direction)
        if event is not None:
            out.append(event)

    def _ring(self, base: str, ts: float, agent: str, m: _Member, ring_s: float, out: list[Event]) -> None:
        """A ring of ``ring_s`` that ended at ``ts``, sent back-dated if the board can take it."""
        start = ts - ring_s
        if ring_s <= 0 or start < m.since or self._derive(agent, m)[0] is not AgentState.AVAILABLE:
            return
        event = self._states.show(lambda: event_id(base, len(out)), start, agent, AgentState.RINGING)
        if event is not None:
            out.append(event)
