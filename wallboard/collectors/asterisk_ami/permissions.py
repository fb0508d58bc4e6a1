"""AMI read permissions, checked from what a session receives instead of assumed.

Asterisk sends a manager session only the events of the classes its user may
read (``read =`` in manager.conf), and no action reports which those are. Every
event names its classes in its ``Privilege`` line (``Privilege: call,all``),
so the classes a session has received are known; a class the collector needs
and never saw while queue calls came and went is missing. The collector reads
``agent`` (queue and member events), ``call`` (``Hangup``,
``HangupRequest``, ``SoftHangupRequest``: a caller hanging up, told from a
timeout at once) and ``dialplan`` (``VarSet`` of ``QUEUESTATUS``: a timeout,
leave-empty or withdraw told from an abandon). With ``dialplan`` granted, every
call that joins a queue runs ``Queue()`` in the dialplan first (a ``Newexten``)
and has variables set (``VarSet``); with ``call`` granted, its member channels
are created and its caller hangs up (``Newchannel``, ``Hangup``). So once
:data:`CALLS_BEFORE_VERDICT` calls have joined a queue and had their outcome
within one session, a needed class none of its events carried is missing, and
:meth:`EventClasses.verdict` says so, once per session.
"""

from __future__ import annotations

from wallboard.collectors.asterisk_ami.protocol import Message

#: Calls that joined and ended within one session before the classes are judged.
CALLS_BEFORE_VERDICT = 3
#: The classes the collector needs besides ``agent``, and what goes wrong without each.
NEEDED = {
    "call": "a hang-up is counted only after outcome_grace_s",
    "dialplan": "timeouts, leave-empty and withdraw exits are counted as abandons",
}
#: The read classes the README's manager user has: exactly the ones the collector reads.
READ_CLASSES = "agent,call,dialplan"
_TRACKED = frozenset(READ_CLASSES.split(","))  # (only these are kept: a peer may send any text)


class EventClasses:
    """The event classes one session has received, and whether the ones needed are missing."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.calls = 0  # calls that joined and ended in this session
        self._judged = False

    def note(self, m: Message) -> None:
        """An event: its ``Privilege`` classes were granted."""
        privilege = m.get("privilege", "")
        if privilege:
            self.seen.update(name for part in privilege.split(",") if (name := part.strip().lower()) in _TRACKED)

    def call_ended(self) -> None:
        """A call that joined a queue in this session has its outcome."""
        self.calls += 1

    def verdict(self) -> str | None:
        """Once per session, after enough calls: what the user is missing and what it costs (None: nothing)."""
        if self._judged or self.calls < CALLS_BEFORE_VERDICT:
            return None
        self._judged = True
        missing = [name for name in NEEDED if name not in self.seen]
        if not missing:
            return None
        costs = "; ".join(NEEDED[name] for name in missing)
        return (
            f"receives no {' or '.join(missing)} events in {self.calls} queue calls: {costs}. "
            f"Give it read = {READ_CLASSES} in manager.conf"
        )
