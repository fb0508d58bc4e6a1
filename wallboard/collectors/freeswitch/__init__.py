"""FreeSWITCH mod_callcenter over the Event Socket (inbound mode, TCP 8021) → typed events.

The package: :mod:`.protocol` (framing, event bodies, ``api`` tables),
:mod:`.translator` (the pure part, with :mod:`.agents` and :mod:`.fields`),
:mod:`.session` (authenticate, subscribe, resynchronise, keep alive;
reconnecting is :func:`~wallboard.collectors.common.linked.keep_linked`'s).

The translator (no sockets; the clock only stands in for a missing
Event-Date-Timestamp) maps ``CC-Action``:

- member-queue-start / member-queue-resume → CallQueued (call id =
  CC-Member-UUID; queue = CC-Queue without ``@domain``; ts = Event-Date-Timestamp).
- agent-offering → agent ringing. bridge-agent-fail → agent back; nothing counted.
- bridge-agent-start → CallAnswered, wait = CC-Agent-Answered-Time −
  CC-Member-Joined-Time; agent on_call (inbound).
- bridge-agent-end → CallEnded, talk = CC-Bridge-Terminated-Time −
  CC-Agent-Answered-Time (mod_callcenter reports no hold: hold 0); the agent is
  in wrap_up for its ``wrap_up_time`` (from ``agent list``), then available.
- member-queue-end, CC-Cause ``Cancel``: CC-Cancel-Reason BREAK_OUT (hung up) →
  CallAbandoned, wait = CC-Member-Leaving-Time − CC-Member-Joined-Time; TIMEOUT,
  NO_AGENT_TIMEOUT → CallExited ``timeout``; EXIT_WITH_KEY → ``exit_key``;
  any other → ``other``.
- member-queue-end, CC-Cause ``Terminated``: mod_callcenter sends it only after
  a bridge ends (a caller hanging up while an agent rings is Cancel/BREAK_OUT),
  so it counts nothing new. It makes sure the answer and the end of that call
  are recorded, emitting from its own headers whichever this run has not
  emitted, under the same deterministic ids (a copy the fold has counts once).
  Without CC-Agent-Answered-Time, a call still believed waiting becomes CallLost.
- agent-status-change: Logged Out → AgentLogout; Available, Available (On
  Demand), On Break → logged in (AgentLogin once); On Break → not_ready with
  reason ``break`` mapped through the configured pause reasons.
- agent-state-change: Waiting → available; Receiving, Reserved → ringing; In a
  queue call → on_call; Idle → wrap_up when it follows a queue call (that is
  what mod_callcenter does to an "Available (On Demand)" agent after each call,
  until the agent sets Waiting again), else not_ready with reason ``idle``
  (through the pause reasons too).
- members-count and agent-*-get are ignored (counted); any other CC-Action is
  rejected, so a newer mod_callcenter shows up in the source's error count.

An agent's state is derived from its status, state, call and wrap-up, in this
priority: logged out > on call > ringing > wrap-up > on break > idle >
available, and emitted only when it changes. Agent names (``1001@default``) go
through the configured aliases: the full name first, then the part before ``@``.

Ids: call events are deterministic per (source, queue, member uuid,
generation, kind), the generation being the rejoin second of a resumed call,
so a call seen before a restart and re-discovered by a resync counts once.
Agent events are unique per run.

Resync: members Waiting/Trying → CallQueued (ts = joined, same ids as live);
members Answered → CallAnswered at bridge_epoch (same id as live); calls
believed waiting (by this run, or by the previous one through the durable
cursor) that are neither → CallLost, no outcome invented. Agents → login and
state as listed; agents no longer listed → logged out. Buffered agent status
and state changes are skipped: they are older than the agent snapshot, which
already shows their effect.

Dirty input never stops the collector: an event that cannot be understood
(missing CC-Queue, a time that is not epoch seconds, a truncated body, binary
garbage, an unknown CC-Action) is counted with ``ctx.reject`` and skipped; a
line over 64 KiB or a body over 4 MiB is skipped without being buffered; an
event with a bad Content-Length is skipped up to the blank line that ends it
(anywhere else the framing is lost, and the link is rebuilt).

Limits: queues of one name in two domains are merged; agents log in to no
queue in particular (tiers are not read), so per-queue agent counts stay empty
for this source; ``wrap_up_time`` changes
are learnt at the next resync; resync agent states are stamped with this
host's clock (keep FreeSWITCH and the collector NTP-synchronised); the waiting
calls of the durable cursor are saved after each batch, so a call queued in
the instant before a crash and gone before the restart may stay waiting on
the board; a resumed call whose rejoin second differs from its resume event's
second gets a second id after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wallboard.collectors.common.linked import keep_linked
from wallboard.collectors.freeswitch.options import Options
from wallboard.collectors.freeswitch.session import Collector

__all__ = ["Options", "run"]

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext


async def run(ctx: CollectorContext[Options]) -> None:
    """Keep an Event Socket session to FreeSWITCH up, emitting mod_callcenter's events."""
    options = ctx.options
    ctx.health.connected = False  # before the first await: the runner's heartbeat must not report it up yet
    collector = Collector(ctx)
    await collector.start()
    await keep_linked(ctx, options.host, options.port, collector.session, connect_timeout_s=options.connect_timeout_s)
