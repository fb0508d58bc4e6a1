"""The aggregator's rules for what it admits, checked at the door so the client hears why."""

from __future__ import annotations

from dataclasses import dataclass

from wallboard.events import AgentLogin, AgentLogout, AgentStateChanged, AnyEvent
from wallboard.fold_settings import FoldSettings
from wallboard.wire import EventError


@dataclass(frozen=True, slots=True)
class Admission:
    """What the aggregator would refuse from ``source``: events from too far ahead or too long
    ago, queues and agents the config does not name.

    The aggregator applies the same rules again (by its own clock); refusing here
    only saves the client from an accepted batch that then counts for nothing.
    """

    settings: FoldSettings
    source: str

    def check(self, event: AnyEvent, now: float) -> None:
        """Raise :class:`EventError` if the aggregator would refuse ``event`` at ``now``."""
        s = self.settings
        if event.ts > now + s.max_skew_s:
            raise EventError(
                "ts",
                f"is {event.ts - now:.0f} s ahead of the wallboard's clock (at most "
                f"{s.max_skew_s:g} s, events.max_clock_skew_s): check the sender's clock",
            )
        if s.retain_s is not None and event.ts < now - s.retain_s:
            raise EventError(
                "ts", f"is older than the {s.retain_s / 86_400:g} days the wallboard keeps (events.retain_days)"
            )
        if self.source in s.discover:
            return  # (the aggregator caps what a discovering source may add)
        queue = getattr(event, "queue", "")
        if queue and s.queues is not None and queue not in s.queues:
            raise EventError("queue", "is not a queue of the wallboard's config", queue)
        if (
            isinstance(event, (AgentStateChanged, AgentLogin, AgentLogout))
            and s.agents is not None
            and event.agent not in s.agents
        ):
            raise EventError("agent", "is not an agent id of the wallboard's config")  # (a name: not quoted)
