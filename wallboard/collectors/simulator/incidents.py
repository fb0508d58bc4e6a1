"""The simulated day's few bad intervals, on purpose: what a roster cannot foresee, and what it is not told.

With ``incidents: true`` (the default) every simulated day has two, so a demo shows the alerts
working on a day that is otherwise staffed to target:

- a **demand surge**: from 11:00 to 11:30 local the busiest queue (the highest
  ``calls_per_hour``; the first in the config on a tie) gets :data:`SURGE_FACTOR` times its
  forecast calls (a campaign nobody told the planners about). The roster staffed for the
  forecast, so that queue, and the others its agents also serve, fall behind for about
  half an hour;
- a **team meeting** from 15:30 to 16:00 local: everyone working for the largest team that
  does not serve the surged queue (the largest team if all do; its own agents and the
  floaters working for it) joins it (reason ``meeting``) as soon as they are free — at once,
  after the call, back from a pause or on logging in — and nobody replaces them: the queues
  only that team serves fall behind for the meeting (those it shares with other teams less).
"""

from __future__ import annotations

from dataclasses import dataclass

from wallboard.collectors.simulator.demand import peak_per_hour
from wallboard.collectors.simulator.need import Pool
from wallboard.collectors.simulator.options import Options

SURGE_AT_S = 11 * 3600
SURGE_S = 1800
SURGE_FACTOR = 3.0
MEETING_AT_S = 15 * 3600 + 1800
MEETING_S = 1800.0


@dataclass(frozen=True, slots=True)
class Incidents:
    """Which queue surges and which team meets (None: no such incident)."""

    surge_queue: str | None
    meeting_team: str | None

    def demand_factor(self, queue: str, local_s: float) -> float:
        """Calls of ``queue`` at ``local_s`` seconds after local midnight, relative to the forecast."""
        if queue == self.surge_queue and SURGE_AT_S <= local_s % 86_400 < SURGE_AT_S + SURGE_S:
            return SURGE_FACTOR
        return 1.0

    def peak_factor(self, queue: str) -> float:
        """The largest :meth:`demand_factor` of ``queue`` on any day."""
        return SURGE_FACTOR if queue == self.surge_queue else 1.0


def choose(options: Options, teams: tuple[Pool, ...], queue_ids: list[str]) -> Incidents:
    """The day's incidents for this centre (none with ``incidents: false``)."""
    if not options.incidents or not queue_ids:
        return Incidents(None, None)
    surge = max(queue_ids, key=lambda q: (peak_per_hour(options, q), -queue_ids.index(q)))
    if peak_per_hour(options, surge) <= 0:
        surge_queue: str | None = None
    else:
        surge_queue = surge
    others = [p for p in teams if surge_queue not in p.queues] or list(teams)
    team = max(others, key=lambda p: (len(p.agents), -teams.index(p))) if others else None
    return Incidents(surge_queue, None if team is None else team.id)
