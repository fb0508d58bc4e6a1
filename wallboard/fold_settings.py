"""What the fold depends on besides the events: intervals, queue thresholds, retention, admission.

Built once from the config (:meth:`FoldSettings.from_config`) by the aggregator,
the report and the ingest API, so all three count by the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from wallboard.clock import LocalIntervals
from wallboard.config import Config


@dataclass(frozen=True, slots=True)
class QueueRules:
    """What the fold needs of a queue: its thresholds in seconds."""

    sl_threshold_s: float
    short_abandon_s: float


@dataclass(frozen=True, slots=True)
class FoldSettings:
    """Everything the fold depends on besides the events."""

    intervals: LocalIntervals
    rules: Mapping[str, QueueRules]
    default_rules: QueueRules
    recent_s: float = 3600.0
    dedup_horizon_s: float = 3600.0
    #: ... or fewer: a generation of ids also ends once it holds this many (a burst or a replay
    #: must not grow the state and its checkpoint without bound).
    dedup_max_ids: int = 250_000
    retain_s: float | None = 2 * 86_400.0
    #: False: only the queues' interval counters are kept (a report); calls waiting,
    #: rolling-window records and everything about agents are left out.
    live: bool = True
    #: How far an event may be ahead of the clock given to the fold (sources' clocks drift).
    max_skew_s: float = 120.0
    #: The queues and agents events may name; None: any (a report of a file).
    queues: frozenset[str] | None = None
    agents: frozenset[str] | None = None
    #: Sources whose unconfigured names are admitted, up to the caps below, in all.
    discover: frozenset[str] = frozenset()
    max_discovered_queues: int = 50
    max_discovered_agents: int = 500

    def rules_for(self, queue: str) -> QueueRules:
        return self.rules.get(queue, self.default_rules)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        interval_minutes: int | None = None,
        retain_s: float | Literal["config"] | None = "config",
        live: bool = True,
    ) -> FoldSettings:
        """Settings of ``config``; ``retain_s`` None keeps every interval (a report of a file)."""
        minutes = interval_minutes or config.interval_minutes
        d = config.queue_defaults
        e = config.events
        return cls(
            intervals=LocalIntervals(config.zone, minutes * 60),
            rules={q.id: QueueRules(q.sl_threshold_s, q.short_abandon_s) for q in config.queues},
            default_rules=QueueRules(d.sl_threshold_s, d.short_abandon_s),
            recent_s=max(config.windows) * 60.0,
            retain_s=config.events.retain_days * 86_400.0 if retain_s == "config" else retain_s,
            live=live,
            max_skew_s=e.max_clock_skew_s,
            queues=frozenset(q.id for q in config.queues) if live else None,
            agents=frozenset(a.id for a in config.agents) if live else None,
            discover=frozenset(c.source for c in config.collectors if c.discover),
            max_discovered_queues=e.max_discovered_queues,
            max_discovered_agents=e.max_discovered_agents,
        )
