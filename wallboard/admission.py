"""Which events the fold admits, by the names they carry, and the verdict it gives each event.

With the live wallboard's settings an event naming a queue or an agent the
config does not list is refused, unless its source may discover names (then up
to a cap, in all), so no source can grow the state beyond what the config
bounds. Each refusal is counted per source, and a bounded number of the refused
names is kept, with how often each came, for /healthz.
"""

from __future__ import annotations

from enum import StrEnum

from wallboard.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallTransferred,
    Event,
    SourceReset,
)
from wallboard.fold_settings import FoldSettings
from wallboard.state import AgentEntry, CentreState

#: Unconfigured names remembered for health (each counted); further ones are only counted.
NAMES_KEPT = 20


class Verdict(StrEnum):
    """What :func:`wallboard.fold.apply` did with an event; true only when the event was applied."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    FUTURE = "future"
    LATE = "late"
    UNCONFIGURED_QUEUE = "unconfigured_queue"
    UNCONFIGURED_AGENT = "unconfigured_agent"

    def __bool__(self) -> bool:
        return self is Verdict.APPLIED


#: The verdicts that refuse an event (counted per source in ``CentreState.refused``).
REFUSALS: tuple[Verdict, ...] = (Verdict.FUTURE, Verdict.LATE, Verdict.UNCONFIGURED_QUEUE, Verdict.UNCONFIGURED_AGENT)


def refuse(state: CentreState, source: str, verdict: Verdict) -> Verdict:
    """Count a refusal of an event from ``source``, and return the verdict."""
    counts = state.refused.get(source)
    if counts is None:
        counts = state.refused[source] = {}
    counts[verdict.value] = counts.get(verdict.value, 0) + 1
    return verdict


#: The events that name an agent but no call (their queue, if any, is a membership).
AGENT_ONLY = frozenset({AgentStateChanged, AgentLogin, AgentLogout})


def names_admitted(state: CentreState, settings: FoldSettings, event: Event) -> Verdict:
    """APPLIED if the event names only known (or discoverable) queues and agents."""
    queue = "" if isinstance(event, (AgentStateChanged, SourceReset)) else event.queue  # type: ignore[attr-defined]
    if queue and not known(state, settings, queue, event.source, agent=False):
        return Verdict.UNCONFIGURED_QUEUE
    if type(event) in AGENT_ONLY and not known(
        state,
        settings,
        event.agent,  # type: ignore[attr-defined]
        event.source,
        agent=True,
    ):
        return Verdict.UNCONFIGURED_AGENT
    return Verdict.APPLIED


def known(state: CentreState, settings: FoldSettings, name: str, source: str, *, agent: bool) -> bool:
    """Whether a queue (or an agent) name is configured or discovered, discovering it if ``source`` may;
    an unknown name is counted (while fewer than NAMES_KEPT are)."""
    configured = settings.agents if agent else settings.queues
    if configured is None or name in configured:
        return True
    discovered = state.discovered_agents if agent else state.discovered_queues
    if name in discovered:
        return True
    cap = settings.max_discovered_agents if agent else settings.max_discovered_queues
    if source in settings.discover and len(discovered) < cap:
        discovered.add(name)
        return True
    named = state.unconfigured_agents if agent else state.unconfigured_queues
    if name in named or len(named) < NAMES_KEPT:
        named[name] = named.get(name, 0) + 1
    return False


def call_agent(
    state: CentreState, settings: FoldSettings, e: CallAnswered | CallEnded | CallTransferred
) -> AgentEntry | None:
    """The agent of a call event, or None when the agent is not one the config admits
    (the queue still counts the call: refusing it would leave it waiting for ever)."""
    agents = settings.agents
    if agents is not None and e.agent not in agents and not known(state, settings, e.agent, e.source, agent=True):
        refuse(state, e.source, Verdict.UNCONFIGURED_AGENT)
        return None
    return state.agent(e.agent)
