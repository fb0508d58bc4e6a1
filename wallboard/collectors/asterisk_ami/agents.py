"""AMI agents: queue memberships, and the one state per agent derived from them and the device.

An agent is a member of queues (``QueueMember*`` events), each membership
paused or not and in a queue call or not, and has one device whose state
Asterisk reports. The state shown is derived from all of them together (the
precedence is in the package docstring) and goes out through
:class:`~wallboard.collectors.common.agents.AgentStates`, which sends only what
moves the board. An agent logs in to each queue separately (``AgentLogin`` per
queue), and is logged out when it is a member of none (``AgentLogout`` says so,
never a state). What the board shows of an agent this run has not shown yet is
unknown (an earlier run may have said anything): its first derived state is
sent whatever it is.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from wallboard.collectors.asterisk_ami.protocol import AmiError, Message, device, flag, seconds
from wallboard.collectors.common.agents import AgentStates
from wallboard.collectors.common.fields import stored_text
from wallboard.collectors.common.names import alias, pause_code
from wallboard.events import AgentState, Event
from wallboard.wire import MAX_TEXT

_RING_LIMIT_S = 300.0  # a ring nobody ended (events lost) stops counting after this
_DEVICE_STATES: dict[int, tuple[AgentState, str]] = {
    2: (AgentState.ON_CALL, ""),
    3: (AgentState.ON_CALL, ""),
    7: (AgentState.ON_CALL, ""),
    8: (AgentState.ON_HOLD, ""),
    6: (AgentState.RINGING, ""),
    4: (AgentState.NOT_READY, "unavailable"),
    5: (AgentState.NOT_READY, "unavailable"),
}
#: Device states of a busy device (in use, busy, ring-in-use, on hold).
BUSY_DEVICES = (2, 3, 7, 8)
Derived = tuple[AgentState, str, str]  # (state, reason, direction)
RingKey = tuple[str, str]  # (queue, caller Uniqueid)


@dataclass(slots=True)
class Membership:
    paused: bool = False
    reason: str = ""
    in_call: bool = False
    wrapuptime: float = 0.0


@dataclass(slots=True)
class Agent:
    queues: dict[str, Membership] = field(default_factory=dict)
    device: int = 0
    pause_reason: str = ""
    ringing: dict[RingKey, float] = field(default_factory=dict)  # (queue, uid) → give-up time
    wrap_until: float | None = None  # event time the wrap-up ends
    wrap_due: float | None = None  # wall-clock time to end it


MemberFields = tuple[int | None, bool | None, str, bool | None, float | None]


class Agents:
    """The agents of one source: their memberships and devices, and the events that show them."""

    def __init__(self, source: str, aliases: Mapping[str, str], pause_codes: Mapping[str, str]) -> None:
        #: True when the memberships changed since the translator last saved them.
        self.dirty = False
        self._aliases = aliases
        self._pause_codes = pause_codes
        self.by_id: dict[str, Agent] = {}
        self._ringing: dict[str, set[str]] = {}  # caller uid → agents being rung for it
        self._states = AgentStates(source)
        self._run = f"{source}:{int(time.time() * 1000)}"
        self._seq = itertools.count(1)

    def _next_id(self) -> str:
        return f"{self._run}:{next(self._seq)}"

    def agent(self, agent_id: str) -> Agent:
        """The agent (created if new: what the board shows of it is not known yet)."""
        a = self.by_id.get(agent_id)
        if a is None:
            a = self.by_id[agent_id] = Agent()
            self._states.forget(agent_id)
        return a

    def agent_id(self, m: Message) -> str:
        """The configured alias of MemberName, else of Interface, else of StateInterface, else MemberName."""
        name = m.get("membername") or m.get("name") or m.get("agentname") or ""
        interface = m.get("interface") or m.get("location") or m.get("member") or m.get("agentcalled") or ""
        state_interface = m.get("stateinterface") or ""
        found = alias(self._aliases, name, interface, state_interface)
        if found is not None:
            return found
        agent_id = name or interface or state_interface
        if not agent_id:
            raise AmiError("missing MemberName and Interface")
        if len(agent_id) > MAX_TEXT:
            raise AmiError(f"MemberName longer than {MAX_TEXT} characters")
        return agent_id

    def member_fields(self, m: Message) -> MemberFields:
        """(device state, paused, pause reason code, in call, wrap-up seconds) of a member event."""
        state = device(m)
        paused = flag(m, "Paused")
        raw = m.get("pausedreason") or m.get("reason") or ""
        code = pause_code(self._pause_codes, raw, default=raw)[:MAX_TEXT]
        return state, paused, code, flag(m, "InCall"), seconds(m, "Wrapuptime", required=False)

    def members(self) -> dict[str, list[str]]:
        """Agent id → the queues it is believed a member of."""
        return {aid: sorted(a.queues) for aid, a in self.by_id.items() if a.queues}

    # ------------------------------------------------------------ state

    @staticmethod
    def _derive(a: Agent) -> Derived:
        """The state of an agent that is a member of some queue."""
        memberships = a.queues.values()
        if any(ms.in_call for ms in memberships):
            return (AgentState.ON_HOLD if a.device == 8 else AgentState.ON_CALL, "", "inbound")
        if all(ms.paused for ms in memberships):
            return (AgentState.NOT_READY, a.pause_reason, "")
        if a.ringing:
            return (AgentState.RINGING, "", "")
        state, reason = _DEVICE_STATES.get(a.device, (AgentState.AVAILABLE, ""))
        if state != AgentState.AVAILABLE:
            return (state, reason, "")
        if a.wrap_until is not None:
            return (AgentState.WRAP_UP, "", "")
        return (AgentState.AVAILABLE, "", "")

    def show(self, agent_id: str, a: Agent, ts: float, out: list[Event]) -> None:
        """Emit the agent's derived state if the board shows something else."""
        if not a.queues:  # logged out: said by the AgentLogout from its last queue, if by anything
            self._states.assume_logged_out(agent_id)
            return
        event = self._states.show(self._next_id, ts, agent_id, *self._derive(a))
        if event is not None:
            out.append(event)

    def join_queue(self, agent_id: str, a: Agent, queue: str, ts: float, out: list[Event]) -> Membership:
        """The agent's membership of ``queue``, logging it in there first if it was not a member."""
        ms = a.queues.get(queue)
        if ms is None:
            ms = a.queues[queue] = Membership()
            out.append(self._states.login(self._next_id(), ts, agent_id, queue))
            self.dirty = True
        return ms

    def leave_queue(
        self, agent_id: str, a: Agent, queue: str, ts: float, out: list[Event], *, show: bool = True
    ) -> None:
        """The agent is no member of ``queue`` any more (logged out if that was its last)."""
        a.queues.pop(queue, None)
        out.append(self._states.logout(self._next_id(), ts, agent_id, queue))
        self.dirty = True
        if not a.queues:
            for key in list(a.ringing):
                self.stop_ringing(agent_id, a, key)
            a.wrap_until = a.wrap_due = None
        elif show:
            self.show(agent_id, a, ts, out)

    def start_ringing(self, agent_id: str, a: Agent, key: RingKey, clock: float) -> None:
        a.ringing[key] = clock + _RING_LIMIT_S
        self._ringing.setdefault(key[1], set()).add(agent_id)

    def stop_ringing(self, agent_id: str, a: Agent, key: RingKey) -> None:
        a.ringing.pop(key, None)
        agents = self._ringing.get(key[1])
        if agents is not None:
            agents.discard(agent_id)
            if not agents:
                del self._ringing[key[1]]

    def call_ended(self, queue: str, uid: str, ts: float) -> list[Event]:
        """A call has an outcome: members still ringing for it stop ringing (Asterisk says nothing)."""
        out: list[Event] = []
        for agent_id in sorted(self._ringing.get(uid, ())):
            a = self.by_id[agent_id]
            if (queue, uid) in a.ringing:
                self.stop_ringing(agent_id, a, (queue, uid))
                self.show(agent_id, a, ts, out)
        return out

    def expire(self, now: float) -> list[Event]:
        """Wrap-ups due by wall-clock time ``now`` end, rings nobody ended stop."""
        out: list[Event] = []
        for agent_id, a in self.by_id.items():
            ts: float | None = None
            if a.wrap_due is not None and a.wrap_due <= now:
                ts = a.wrap_until
                a.wrap_until = a.wrap_due = None
            for key in [k for k, limit in a.ringing.items() if limit <= now]:
                self.stop_ringing(agent_id, a, key)
                ts = ts or now
            if ts is not None:
                self.show(agent_id, a, ts, out)
        return out

    def dues(self) -> list[float]:
        return [a.wrap_due for a in self.by_id.values() if a.wrap_due is not None]

    # ------------------------------------------------------------ resync and cursor

    def resync(
        self,
        rows: dict[str, dict[str, Membership]],
        devices: dict[str, int],
        reasons: dict[str, str],
        now: float,
        out: list[Event],
    ) -> None:
        """Memberships as ``QueueMember`` rows list them, and each agent's state."""
        for agent_id, a in self.by_id.items():
            for key in list(a.ringing):  # who rings is not in the list; the device state says it
                self.stop_ringing(agent_id, a, key)
            for queue in sorted(set(a.queues) - set(rows.get(agent_id, {}))):
                self.leave_queue(agent_id, a, queue, now, out, show=False)  # shown once, below
        for agent_id, memberships in rows.items():
            a = self.agent(agent_id)
            for queue, fresh in memberships.items():
                ms = self.join_queue(agent_id, a, queue, now, out)
                ms.paused, ms.reason, ms.in_call, ms.wrapuptime = (
                    fresh.paused,
                    fresh.reason,
                    fresh.in_call,
                    fresh.wrapuptime,
                )
            a.device = devices.get(agent_id, 0)
            a.pause_reason = reasons.get(agent_id, a.pause_reason)
            if any(ms.in_call for ms in a.queues.values()):
                a.wrap_until = a.wrap_due = None
            self.show(agent_id, a, now, out)

    def restore(self, members: object) -> None:
        """Take back :meth:`members` from the cursor (anything malformed is skipped); the board has these
        memberships from the events sent before, but what state it shows is not known."""
        for agent_id, queues in members.items() if isinstance(members, dict) else []:
            if stored_text(agent_id) and isinstance(queues, list):
                a = self.agent(agent_id)
                kept = [queue for queue in queues if stored_text(queue)]
                for queue in kept:
                    a.queues.setdefault(queue, Membership())
                if kept:
                    self._states.forget(agent_id, kept)

    # ------------------------------------------------------------ handlers

    def called(self, queue: str, uid: str, agent_id: str, ts: float, clock: float) -> list[Event]:
        out: list[Event] = []
        a = self.agent(agent_id)
        self.join_queue(agent_id, a, queue, ts, out)
        self.start_ringing(agent_id, a, (queue, uid), clock)
        self.show(agent_id, a, ts, out)
        return out

    def ring_ended(self, queue: str, uid: str, agent_id: str, ts: float) -> list[Event]:
        out: list[Event] = []
        a = self.by_id.get(agent_id)
        if a is not None and (queue, uid) in a.ringing:
            self.stop_ringing(agent_id, a, (queue, uid))
            self.show(agent_id, a, ts, out)
        return out

    def update(self, m: Message, queue: str, agent_id: str, fields: MemberFields, ts: float) -> list[Event]:
        """A member's fields (``QueueMemberStatus``, ``QueueMemberPause``, ``QueueMemberAdded``)."""
        state, paused, code, in_call, wrap = fields
        out: list[Event] = []
        a = self.agent(agent_id)
        ms = self.join_queue(agent_id, a, queue, ts, out)
        if state is not None:
            a.device = state
        if paused is not None:
            # Asterisk 11 repeats Paused without the reason on device changes: keep the reason then.
            if paused and (not ms.paused or "pausedreason" in m or "reason" in m):
                ms.reason = a.pause_reason = code
            elif not paused:
                ms.reason = ""
            ms.paused = paused
        if in_call is not None:
            ms.in_call = in_call
        if wrap is not None:
            ms.wrapuptime = wrap
        self.show(agent_id, a, ts, out)
        return out
