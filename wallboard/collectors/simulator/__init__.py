"""A believable live contact centre, for the demo, tests and load tests.

:class:`Simulation` is a discrete-event simulation in simulated time, pure and
reproducible from its seed: Poisson arrivals per queue thinned by an intraday
profile (quiet nights, a late-morning and a late-afternoon peak), FIFO queues,
skills from the teams' queues, ringing before answer, lognormal talk, hold and
wrap-up, callers with lognormal patience (some abandon, some give up quickly),
a queue timeout. It emits exactly the events real sources emit.

Its agents follow a roster (:mod:`.roster`) made as a workforce planner would: each
team staffed per 15-minute interval to its queues' targets by the product's own
Erlang model (:mod:`wallboard.staffing`, via :mod:`.need`), grossed up for
shrinkage, in full and part-time shifts (:mod:`.schedule`) with late log-ins,
breaks, lunch and training placed where they hurt least (:mod:`.shifts`). Two
incidents a day (:mod:`.incidents`: a demand surge at 11:00, a team meeting at
15:30) make the few bad intervals that show the alerts working.

The collector (:func:`run`) paces it against the wall clock times ``speed``.
With ``backfill`` it starts at the beginning of today and catches up to now at
once, so the board opens on a believable day; a restart regenerates the same
day from the same seed and emits only what its durable cursor says is new.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING

from wallboard.clock import day_start_at
from wallboard.collectors.simulator.options import Options
from wallboard.collectors.simulator.simulation import Simulation

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext

__all__ = ["Options", "Simulation", "run"]


async def run(ctx: CollectorContext[Options]) -> None:
    """Emit the simulation live, paced by the wall clock times ``speed``."""
    options = ctx.options
    config = ctx.config
    wall0 = time.time()
    start = day_start_at(wall0, config.zone, config.day_start_time) if options.backfill else float(int(wall0))
    sim = Simulation(config, options, start, ctx.source)
    cursor = await ctx.load_cursor()
    already = int(cursor.get("n", 0)) if cursor.get("start") == start else 0
    sent = 0
    sim_anchor = wall0 if options.backfill else start
    ctx.log.info(
        "simulating from %s at speed %g (seed %d), %d events already sent",
        datetime.fromtimestamp(start, config.zone).isoformat(),
        options.speed,
        options.seed,
        already,
    )
    while True:
        target = sim_anchor + (time.time() - wall0) * options.speed
        events = sim.advance(target)
        fresh = events[max(0, already - sent) :] if sent < already else events
        sent += len(events)
        for i in range(0, len(fresh), options.batch):
            await ctx.emit(fresh[i : i + options.batch])
        if fresh:
            await ctx.save_cursor({"start": start, "n": sent})
        await ctx.heartbeat()
        await asyncio.sleep(0.2)
