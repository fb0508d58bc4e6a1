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

A source may not know what the fold shows of an agent: an earlier run of it
may have said anything, and after a restart a cursor brings back the
memberships but not the state. :meth:`AgentStates.forget` says so; until the
source shows a state, a login leaves the state unknown, the next
:meth:`~AgentStates.show` sends whatever it is given, and a logout from the
last queue makes the agent logged out as ever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from wallboard.events import AgentLogin, AgentLogout, AgentState, AgentStateChanged, Event


@dataclass(slots=True)
class Shown:
    """What the fold shows of one agent, as this source's events have left it."""

    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    direction: str = ""
    queues: set[str] = field(default_factory=set)
    known: bool = True  # False: the fold may show any state (see AgentStates.forget)

    @property
    def logged_in(self) -> bool:
        return self.state is not AgentState.LOGGED_OUT

    def become(self, state: AgentState, reason: str = "", direction: str = "", *, known: bool = True) -> None:
        """The fold shows this now (``known`` False: it may show anything)."""
        self.state, self.reason, self.direction, self.known = state, reason, direction, known


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
        if shown.known and shown.state is AgentState.LOGGED_OUT:
            shown.become(AgentState.AVAILABLE)
        return AgentLogin(event_id, self.source, ts, agent, queue)

    def logout(self, event_id: str, ts: float, agent: str, queue: str = "") -> AgentLogout:
        """The agent left ``queue`` ("": every queue); in none any more, it is logged out."""
        shown = self[agent]
        if queue:
            shown.queues.discard(queue)
        else:
            shown.queues.clear()
        if not shown.queues:
            shown.become(AgentState.LOGGED_OUT)
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
        if shown.known and shown.state is state and shown.reason == reason and shown.direction == direction:
            return None
        shown.become(state, reason, direction)
        return AgentStateChanged(new_id(), self.source, ts, agent, state.value, reason, direction)

    def forget(self, agent: str, queues: Iterable[str] = ()) -> None:
        """The fold may show ``agent`` in a state this source did not send (an earlier run's), and in
        ``queues`` (memberships a cursor brought back): the next :meth:`show` sends whatever it is given.

        An agent this source has shown logged in keeps its state: what it sent last is the newest the
        fold has. Nothing is sent."""
        shown = self[agent]
        shown.queues.update(queues)
        if not shown.logged_in:
            shown.become(AgentState.LOGGED_OUT, known=False)

    def assume_logged_out(self, agent: str) -> None:
        """Take ``agent`` as logged out, sending nothing: for a source that says a logout only by
        ``agent.logout`` from the last queue, of an agent it knows in none (even one it never logged out)."""
        self[agent].become(AgentState.LOGGED_OUT)

    def carry_over(self, base: str, ts: float) -> list[Event]:
        """What stands, as events at ``ts`` for a fold that saw none of the earlier ones: each agent's
        logins to its queues, then its state if known (ids ``{base}:{agent}:{queue}`` and ``{base}:{agent}``)."""
        out: list[Event] = []
        for agent, shown in self:
            for queue in sorted(shown.queues):
                out.append(AgentLogin(f"{base}:{agent}:{queue}", self.source, ts, agent, queue))
            if shown.known and (shown.logged_in or shown.queues):  # (logged out in queues: only a state says so)
                out.append(
                    AgentStateChanged(
                        f"{base}:{agent}", self.source, ts, agent, shown.state.value, shown.reason, shown.direction
                    )
                )
        return out
