"""Asterisk Manager Interface (AMI): live queue and member events → typed events.

The package: :mod:`.protocol` (framing, message fields), :mod:`.translator`
(the pure part: AMI messages in, events out, with :mod:`.calls`,
:mod:`.connected` and :mod:`.agents`), :mod:`.permissions` (the event classes
a session receives, checked), :mod:`.session` (log in, resynchronise from
``QueueStatus``, keep alive; reconnecting is
:func:`~wallboard.collectors.common.linked.keep_linked`'s).
This docstring is the rules the translator follows.

What AMI tells, and the rules used where it does not tell enough
-----------------------------------------------------------------

* **Answered**: ``AgentConnect`` (wait = ``HoldTime`` s). Asterisk sends
  ``QueueCallerLeave`` *before* ``AgentConnect`` (the caller leaves the queue
  once a member answers, and member macros/gosubs run in between), so a leave
  alone never decides anything.
* **Abandoned or another exit**: ``QueueCallerAbandon`` (wait = ``HoldTime``
  s) fires when the caller hangs up *and* on timeout, leave-when-empty and
  withdraw; the event carries no reason. The collector decides with the
  evidence Asterisk offers to managers that receive it:

  - a ``HangupRequest``/``SoftHangupRequest``/``Hangup`` of the caller's
    channel before the abandon → **abandoned** (needs ``call`` events; one after
    it proves nothing: the dialplan hangs up after a timeout too);
  - a ``VarSet`` of ``QUEUESTATUS`` on the caller's channel right after it
    leaves (needs ``dialplan`` events): ``TIMEOUT`` → exit *timeout*,
    ``LEAVEEMPTY``/``LEAVEUNAVAIL`` → exit *empty*, ``WITHDRAW`` → exit
    *withdraw*;
  - the same channel joining a queue again first → exit *other* (it did not
    hang up, and nothing said why it left);
  - no evidence within ``outcome_grace_s`` → **abandoned**, which is how
    Asterisk's own ``Abandoned`` counter counts it. With neither ``call`` nor
    ``dialplan`` events a timeout therefore counts as an abandon, and every
    abandon is published ``outcome_grace_s`` late.
* **Exit with key**: the only way out of a queue without ``QueueCallerAbandon``
  and without an answer, so a ``QueueCallerLeave`` followed by neither
  ``QueueCallerAbandon`` nor ``AgentConnect`` within ``outcome_grace_s`` →
  exit *exit_key* (wait = leave − join when the join is known, else 0). An
  ``AgentConnect`` later than that (a member gosub or AGI running longer than
  the grace) finds the call already counted: the agent goes on call but no
  second outcome is counted (``stats.late_connects``; raise the grace).
  Asterisk ≤ 11 sends ``Agent*`` events only with ``eventwhencalled=yes`` in
  queues.conf; without it every answered call would look like an exit with
  key there.
* AMI does not report a queue's ``timeout`` (not in ``QueueParams``), nor on
  whose side a timeout or withdraw was requested beyond the above.
* **Handled**: ``AgentComplete`` → call ended (talk = ``TalkTime`` s, which
  includes any hold: ``hold_s`` is 0 for this source; ``Reason: transfer`` →
  call transferred, target unknown). When the caller channel is already gone
  Asterisk sends it without the caller's fields (no ``Uniqueid``, ``Channel``,
  ``Linkedid`` or ``CallerIDNum``; one of them without ``Uniqueid`` is a
  malformed event): it is then
  the end of the call its member was connected to by ``AgentConnect``, found
  by the member channel (``DestUniqueid``), else by the member and the queue
  when that member is connected to one call there; with no such call known
  (connected before the collector started, or two calls and no member
  channel to tell them apart) it is rejected, saying so. ``AgentDump`` counts nothing.
  ``AgentRingNoAnswer`` (``RingTime`` in **milliseconds**) counts nothing.

Agent state, per agent (all its queue memberships together), emitted only when
the derived (state, reason, direction) changes, in this order of precedence:
in a queue call (``AgentConnect`` until ``AgentComplete``, or ``InCall: 1``) →
``on_call`` inbound, ``on_hold`` if the device is on hold; paused in every
queue it is a member of → ``not_ready`` with the pause reason (``PausedReason``,
or ``Reason`` on Asterisk 11, mapped through the configured pause reasons);
being rung by a queue (``AgentCalled``, until it answers, does not answer, or
the call leaves) → ``ringing``; the device state (``Status``: 2 in use, 3 busy,
7 ring-in-use → ``on_call``; 8 → ``on_hold``; 6 → ``ringing``; 4 invalid,
5 unavailable → ``not_ready``/``unavailable``; 0 unknown and 1 not in use fall
through; a busy device state seen during a queue call is taken to be that
call's, so it is forgotten when the call completes); wrap-up after a call when
the member reports ``Wrapuptime`` > 0 (a queue-level wrapuptime is not visible
over AMI), ended by the collector when due; else ``available``. Agent id: the configured alias of ``MemberName``, else
of ``Interface`` (``Location``/``Member`` on Asterisk 11), else of
``StateInterface``, else ``MemberName`` itself.

Resynchronisation on every (re)connect, from ``QueueStatus``, as of the moment
the list began (live events kept meanwhile are newer and apply after it): each
``QueueEntry`` is a waiting call (joined ``Wait`` s before); calls the collector
believed waiting but absent, with no outcome among the events kept during the
list, are *lost* (they left while the link was down; no outcome is counted);
``QueueMember`` rows give logins per queue, removals of memberships no longer
listed, and each agent's state. Which members were ringing is not in the list
(the device state says it). The calls believed waiting and the memberships are
kept in the collector's durable cursor, so this diff also covers a collector
restart.

Ids: call events are ``<source>:<queue>:<Uniqueid>:<kind>`` (``#n`` after the
Uniqueid when the same channel enters the same queue again), so a join seen
before a restart and the same call found again by ``QueueStatus`` after it
have the same id and count once. Numbering re-entries restarts with the
collector: a channel re-entering a queue it already left before a restart may
reuse an id. Other events are unique per run.

Read permissions: the collector needs the ``agent``, ``call`` and ``dialplan``
event classes (``read = agent,call,dialplan``). Once three calls have joined
and ended within a session, a needed class that no event of the session
carried in its ``Privilege`` line is missing: the collector says which and what
it costs, in its log (once) and in its health's ``last_error``.

Bad input never stops the collector: a malformed frame, an oversized line or a
known event with a missing or mistyped field is counted and logged through
``ctx.reject`` and skipped; unknown events are counted per name in
:attr:`~.translator.AmiTranslator.stats`, not as errors. ``Timestamp:`` (``timestampevents
= yes``) is the event time when present, else the time the message arrived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wallboard.collectors.asterisk_ami.options import Options
from wallboard.collectors.asterisk_ami.session import Session
from wallboard.collectors.asterisk_ami.translator import AmiTranslator
from wallboard.collectors.common.linked import keep_linked

__all__ = ["Options", "run"]

if TYPE_CHECKING:
    from wallboard.collectors.runtime import CollectorContext


async def run(ctx: CollectorContext[Options]) -> None:
    """Follow one Asterisk over AMI for ever, reconnecting and resynchronising as needed."""
    ctx.health.connected = False  # before the first await: the runner's heartbeat must not report it up yet
    options = ctx.options
    if not isinstance(options, Options):
        raise TypeError(f"asterisk_ami needs its own Options, got {type(options).__name__}")
    translator = AmiTranslator(
        ctx.source,
        ctx.config.agent_aliases(),
        ctx.config.pause_reason_codes(),
        grace_s=options.outcome_grace_s,
        reject=ctx.reject,
        system=options.system,
    )
    translator.restore(await ctx.load_cursor())
    await keep_linked(
        ctx, options.host, options.port, Session(ctx, translator), connect_timeout_s=options.connect_timeout_s
    )
