"""mod_callcenter agents: one state each, derived from its status, state, call and wrap-up.

mod_callcenter reports an agent's *status* (Logged Out, Available, Available
(On Demand), On Break: what the agent chose) and its *state* (Waiting,
Receiving, In a queue call, Idle, Reserved: what the agent is doing). The
state shown is derived from both, the call and the wrap-up, in this priority:
logged out > on call > ringing > wrap-up > on break > idle > available, and
goes out through :class:`~wallboard.collectors.common.agents.AgentStates`,
which sends only what moves the board. Agents log in to no queue in
particular (tiers are not read).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from wallboard.collectors.common.agents import AgentStates
from wallboard.collectors.common.fields import shown
from wallboard.collectors.common.names import alias, pause_code
from wallboard.collectors.freeswitch.fields import CallcenterError, text, whole
from wallboard.events import AgentState, Event

LOGGED_OUT, AVAILABLE, ON_DEMAND, ON_BREAK = "Logged Out", "Available", "Available (On Demand)", "On Break"
STATUSES = {LOGGED_OUT, AVAILABLE, ON_DEMAND, ON_BREAK}
STATES = {"Waiting", "Receiving", "In a queue call", "Idle", "Reserved"}


@dataclass(slots=True)
class Agent:
    status: str = ""  # mod_callcenter status, "" while unknown
    idle: bool = False  # state Idle
    in_call: bool = False
    offering: bool = False
    after_call: bool = False  # nothing has happened to the agent since its last bridge ended
    wrap_up_s: float = 0.0
    wrap_until: float | None = None
    announced: bool = False  # a login or logout was emitted (before: the board's view is unknown)

    def set_state(self, state: str) -> None:
        """The agent's mod_callcenter state."""
        self.in_call = state == "In a queue call"
        self.offering = state in ("Receiving", "Reserved")
        self.idle = state == "Idle"
        if not self.idle:
            self.after_call = False


class Agents:
    """The agents of one source: their facts, and the events that show them."""

    def __init__(self, source: str, aliases: Mapping[str, str], pause_codes: Mapping[str, str]) -> None:
        self.source = source
        self._aliases = aliases
        self._break_reason = pause_code(pause_codes, "on break", "break", default="break")
        self._idle_reason = pause_code(pause_codes, "idle", default="idle")
        self.by_id: dict[str, Agent] = {}
        self._states = AgentStates(source)
        self._run = uuid.uuid4().hex[:12]
        self._n = 0

    def _event_id(self) -> str:
        self._n += 1
        return f"{self.source}:{self._run}:{self._n}"

    def agent_id(self, name: str) -> str:
        """A source-side agent name through the aliases (full name, then the part before ``@``)."""
        found = alias(self._aliases, name, name.split("@", 1)[0])
        return name if found is None else found

    def of(self, raw: str | None, name: str = "CC-Agent") -> tuple[str, Agent]:
        """The agent a header or column names (created if new); CallcenterError if it names none."""
        agent_id = text(self.agent_id(text(raw, name)), name)
        agent = self.by_id.get(agent_id)
        if agent is None:
            agent = self.by_id[agent_id] = Agent()
        return agent_id, agent

    def _derive(self, a: Agent, ts: float) -> tuple[AgentState, str, str]:
        if a.status == LOGGED_OUT:
            return AgentState.LOGGED_OUT, "", ""
        if a.in_call:
            return AgentState.ON_CALL, "", "inbound"
        if a.offering:
            return AgentState.RINGING, "", ""
        if a.wrap_until is not None and ts < a.wrap_until:
            return AgentState.WRAP_UP, "", ""
        if a.status == ON_BREAK:
            return AgentState.NOT_READY, self._break_reason, ""
        if a.idle:
            return (AgentState.WRAP_UP, "", "") if a.after_call else (AgentState.NOT_READY, self._idle_reason, "")
        return AgentState.AVAILABLE, "", ""

    def show(self, agent_id: str, a: Agent, ts: float, out: list[Event]) -> None:
        """Emit the agent's derived state (and login/logout) if the board shows something else."""
        state, reason, direction = self._derive(a, ts)
        logged_in = self._states[agent_id].logged_in
        if state is AgentState.LOGGED_OUT:
            if logged_in or not a.announced:
                out.append(self._states.logout(self._event_id(), ts, agent_id))
                a.announced = True
            return
        if not logged_in:
            out.append(self._states.login(self._event_id(), ts, agent_id))
            a.announced = True
        changed = self._states.show(self._event_id, ts, agent_id, state, reason, direction)
        if changed is not None:
            out.append(changed)

    def expire(self, now: float) -> list[Event]:
        """Agents whose wrap-up ended by ``now``: their next state, stamped when the wrap-up ended."""
        out: list[Event] = []
        for agent_id, a in self.by_id.items():
            if a.wrap_until is not None and a.wrap_until <= now:
                due, a.wrap_until = a.wrap_until, None
                self.show(agent_id, a, due, out)
        return out

    def next_due(self) -> float | None:
        """When the next wrap-up ends (epoch seconds), if any is running."""
        dues = [a.wrap_until for a in self.by_id.values() if a.wrap_until is not None]
        return min(dues) if dues else None

    def status(self, h: Mapping[str, str], ts: float, out: list[Event]) -> None:
        """``agent-status-change``."""
        agent_id, a = self.of(h.get("CC-Agent"))
        status = h.get("CC-Agent-Status", "")
        if status not in STATUSES:
            raise CallcenterError(
                f"unknown CC-Agent-Status {shown(status)}" if status else "CC-Agent-Status is missing"
            )
        out.extend(self.expire(ts))
        a.status, a.after_call = status, False
        self.show(agent_id, a, ts, out)

    def state(self, h: Mapping[str, str], ts: float, out: list[Event]) -> None:
        """``agent-state-change``."""
        agent_id, a = self.of(h.get("CC-Agent"))
        state = h.get("CC-Agent-State", "")
        if state not in STATES:
            raise CallcenterError(f"unknown CC-Agent-State {shown(state)}" if state else "CC-Agent-State is missing")
        out.extend(self.expire(ts))
        a.set_state(state)
        self.show(agent_id, a, ts, out)

    def row(self, row: Mapping[str, str], now: float, out: list[Event], listed: set[str]) -> None:
        """One row of ``callcenter_config agent list``."""
        agent_id, a = self.of(row.get("name"), "name")
        listed.add(agent_id)  # a malformed row leaves the agent as it was, not logged out
        status, state = row.get("status", ""), row.get("state", "")
        if status not in STATUSES:
            raise CallcenterError(f"unknown status {shown(status)}")  # (not the agent's name: personal data)
        if state not in STATES:
            raise CallcenterError(f"unknown state {shown(state)}")
        wrap = whole(row.get("wrap_up_time"), "wrap_up_time")
        bridge_end = whole(row.get("last_bridge_end"), "last_bridge_end")
        status_change = whole(row.get("last_status_change"), "last_status_change")
        a.status, a.wrap_up_s = status, float(max(wrap, 0))
        a.set_state(state)
        a.after_call = a.idle and bridge_end > status_change
        until = float(bridge_end + wrap)
        a.wrap_until = until if wrap > 0 and bridge_end > 0 and until > now and not a.in_call else None
        self.show(agent_id, a, now, out)

    def unlisted(self, listed: set[str], now: float, out: list[Event]) -> None:
        """Agents the agent list no longer has (deleted from mod_callcenter) are logged out."""
        for agent_id, a in self.by_id.items():
            if agent_id not in listed:
                a.status, a.in_call, a.offering, a.wrap_until = LOGGED_OUT, False, False, None
                self.show(agent_id, a, now, out)
