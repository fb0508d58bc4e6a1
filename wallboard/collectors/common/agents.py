"""The one agent-state emitter every source uses: the fold's agent rules, written once.

A source knows raw facts about its agents (paused, in a call, a member of some
queues); the board knows only the agent events it is sent. The fold
(:mod:`wallboard.fold`) turns those events into a state per agent by three
rules, and :class:`AgentStates` mirrors them so that a source sends exactly the
events that move the board, never one that the fold would ignore or misread:

- ``agent.login`` adds its queue (if it names one) and makes a *logged-out*
  agent available: no state event is needed for that, and an agent already
  logged in keeps its state;
- ``agent.logout`` removes its queue (every queue if it names none); an agent
  left in no queue is logged out;
- ``agent.state`` sets the state with its reason (why an agent is
  ``not_ready``) and the direction of its call; the same state again changes
  nothing, so it is not sent.

The source derives the state it sees after each fact and calls
:meth:`AgentStates.show`, which makes an event only if the fold shows
something else. :meth:`AgentStates.carry_over` gives the events that rebuild
what stands in a fold that never saw the earlier ones (a board that starts
reading at the day start). It is pure: no I/O, and the ids are the caller's.
Which agent a source-side name is, and which reason code a pause text means,
is :mod:`wallboard.collectors.common.names`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from wallboard.events import AgentLogin, AgentLogout, AgentState, AgentStateChanged, Event


@dataclass(slots=True)
class Shown:
    """What the fold shows of one agent, as this source's events have left it."""

    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    direction: str = ""
    queues: set[str] = field(default_factory=set)

    @property
    def logged_in(self) -> bool:
        return self.state is not AgentState.LOGGED_OUT


class AgentStates:
    """The agent events of one source, made by the fold's rules from what the source sees."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._agents: dict[str, Shown] = {}

    def __getitem__(self, agent: str) -> Shown:
        """What the fold shows of ``agent`` (logged out if this source never said anything of it)."""
        shown = self._agents.get(agent)
        if shown is None:
            shown = self._agents[agent] = Shown()
        return shown

    def __iter__(self) -> Iterator[tuple[str, Shown]]:
        """Every agent this source spoke of, by id."""
        return iter(sorted(self._agents.items()))

    def login(self, event_id: str, ts: float, agent: str, queue: str = "") -> AgentLogin:
        """The agent joined ``queue`` ("": logged in, queues unknown); a logged-out agent is now available."""
        shown = self[agent]
        if queue:
            shown.queues.add(queue)
        if shown.state is AgentState.LOGGED_OUT:
            shown.state, shown.reason, shown.direction = AgentState.AVAILABLE, "", ""
        return AgentLogin(event_id, self.source, ts, agent, queue)

    def logout(self, event_id: str, ts: float, agent: str, queue: str = "") -> AgentLogout:
        """The agent left ``queue`` ("": every queue); in none any more, it is logged out."""
        shown = self[agent]
        if queue:
            shown.queues.discard(queue)
        else:
            shown.queues.clear()
        if not shown.queues:
            shown.state, shown.reason, shown.direction = AgentState.LOGGED_OUT, "", ""
        return AgentLogout(event_id, self.source, ts, agent, queue)

    def show(
        self,
        new_id: Callable[[], str],
        ts: float,
        agent: str,
        state: AgentState,
        reason: str = "",
        direction: str = "",
    ) -> AgentStateChanged | None:
        """The event that makes the fold show ``state``, or None if it already does.

        ``new_id`` is called only when an event is made (a source that numbers its
        events uses no number for nothing)."""
        shown = self[agent]
        if shown.state is state and shown.reason == reason and shown.direction == direction:
            return None
        shown.state, shown.reason, shown.direction = state, reason, direction
        return AgentStateChanged(new_id(), self.source, ts, agent, state.value, reason, direction)

    def carry_over(self, base: str, ts: float) -> list[Event]:
        """What stands, as events at ``ts`` for a fold that saw none of the earlier ones: each agent's
        logins to its queues, then its state (ids ``{base}:{agent}:{queue}`` and ``{base}:{agent}``)."""
        out: list[Event] = []
        for agent, shown in self:
            for queue in sorted(shown.queues):
                out.append(AgentLogin(f"{base}:{agent}:{queue}", self.source, ts, agent, queue))
            if shown.logged_in or shown.queues:  # (logged out while in queues: only a state event says so)
                out.append(
                    AgentStateChanged(
                        f"{base}:{agent}", self.source, ts, agent, shown.state.value, shown.reason, shown.direction
                    )
                )
        return out
