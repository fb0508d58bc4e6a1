"""AMI answered calls: which call each member is connected to, from ``AgentConnect`` until ``AgentComplete``.

``AgentComplete`` names its call by the caller channel's ``Uniqueid``, but when
the caller channel is already gone Asterisk sends it without the caller's
fields (app_queue builds the event from the channels' latest snapshots, and a
channel that has hung up has none): only the member's fields (``Queue``,
``Interface``, ``MemberName``, the member channel's ``Dest…`` fields while that
channel still exists) and ``HoldTime``, ``TalkTime``, ``Reason`` are left.
:class:`Connected` remembers, from each ``AgentConnect``, the call a member
was connected to, so such an end is still counted for its call: found by the
member channel (``DestUniqueid``) when the event has it, else by the member
and the queue when that member is connected to exactly one call there.
"""

from __future__ import annotations

from collections.abc import Collection

from wallboard.collectors.common.tracking import remember

Member = tuple[str, str]  # (queue, agent id)


class Connected:
    """The calls members are connected to now (bounded: entries never completed are forgotten in time)."""

    def __init__(self) -> None:
        self._by_member: dict[Member, dict[str, str]] = {}  # → caller Uniqueid → member channel Uniqueid
        self._by_channel: dict[str, tuple[Member, str]] = {}  # member channel Uniqueid → (member, caller)

    def connect(self, queue: str, agent_id: str, uid: str, member_channel: str) -> None:
        """An ``AgentConnect``: the member ``agent_id`` of ``queue`` is connected to the caller ``uid``."""
        member = (queue, agent_id)
        calls = self._by_member.get(member)
        if calls is None:
            calls = {}
            remember(self._by_member, member, calls)
        calls[uid] = member_channel
        if member_channel:
            remember(self._by_channel, member_channel, (member, uid))

    def find(self, queue: str, agent_id: str, member_channel: str) -> str | None:
        """The caller ``Uniqueid`` an end without the caller's fields belongs to; None when nothing says."""
        found = self._by_channel.get(member_channel) if member_channel else None
        if found is not None and found[0] == (queue, agent_id):
            return found[1]
        calls = self._by_member.get((queue, agent_id), {})
        return next(iter(calls)) if len(calls) == 1 else None

    def complete(self, queue: str, agent_id: str, uid: str) -> None:
        """An ``AgentComplete``: that member is no longer connected to that call."""
        member = (queue, agent_id)
        calls = self._by_member.get(member)
        if calls is None or uid not in calls:
            return
        member_channel = calls.pop(uid)
        if not calls:
            del self._by_member[member]
        if member_channel and self._by_channel.get(member_channel) == (member, uid):
            del self._by_channel[member_channel]

    def keep_only(self, in_call: Collection[Member]) -> None:
        """After a resync: only members a ``QueueStatus`` lists in a call there stay connected (an end lost
        while the link was down must not leave its call behind, to be confused with the member's next one)."""
        for member in [m for m in self._by_member if m not in in_call]:
            for member_channel in self._by_member.pop(member).values():
                self._by_channel.pop(member_channel, None)
