"""The active aggregator's lease: one aggregator folds at a time, the others stand by.

The lease is one key, ``<prefix>aggregator:lease``, holding ``"<epoch> <holder> <host>:<pid>"``
with an expiry (the token: who holds it, and where it runs). An aggregator that finds it free
takes it (the epoch, ``<prefix>aggregator:epoch``, goes up by one at every taking) and renews it
every third of its time to live; a standby tries to take it twice a second. An aggregator that
stops cleanly gives it up, so its standby starts at once; one killed leaves it to expire
(``aggregator.lease_ttl_s``, 5 s by default).

The lease is the fence, not a hint: the aggregator's reads of new entries (a transaction on a
``WATCH`` of the lease: every taking of it is a ``SET``, which aborts the read), its checkpoint
with the acknowledgements, its snapshots and its alert log (Lua scripts that check the token)
run only while the lease still holds its token (:class:`wallboard.streams.Streams`' ``fence``
arguments). An
aggregator that lost it without knowing (paused, cut off from Redis) cannot read an entry, save
a state or publish once another has taken over: the second one's first write is the first one's
last. Its own state is then dropped; when it is active again it starts from the checkpoint.

A lease held under this aggregator's name, from this host, by a process that is gone (or by
this very pid, in a container started again) is its own previous run's: taken over at once at
start instead of waited for, so a restarted aggregator does not wait out its own lease. One
held under its name by another live process, or from another host, is waited for like any other
(and said): two aggregators must have different names (``wallboard aggregate --name``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

# KEYS[1] the lease, KEYS[2] the epoch counter; ARGV: holder, ttl (ms), "1" to take over a lease
# held under the same holder name, where it runs. Returns the new token, or false when someone
# else holds it.
_ACQUIRE = """
local held = redis.call('GET', KEYS[1])
if held then
    local holder = string.match(held, '^%d+ (%S+)')
    if not (ARGV[3] == '1' and holder == ARGV[1]) then return false end
end
local epoch = redis.call('INCR', KEYS[2])
local token = epoch .. ' ' .. ARGV[1] .. ' ' .. ARGV[4]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token
"""
# KEYS[1] the lease; ARGV: token, ttl (ms). 1 if renewed, 0 if the lease is no longer this token.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
end
return 0
"""


#: The lease's key and its epoch counter, under the prefix.
LEASE_KEY = "aggregator:lease"
EPOCH_KEY = "aggregator:epoch"


class LeaseLost(Exception):
    """A fenced write or read was refused: another aggregator holds the lease now."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lease now (for the standby's log and the health report)."""

    epoch: int
    name: str
    where: str = ""  # host:pid

    @property
    def pid(self) -> int | None:
        _, _, pid = self.where.rpartition(":")
        return int(pid) if pid.isdigit() else None


def parse_token(token: str) -> Holder:
    epoch, name, where = (token.split(" ", 2) + ["", ""])[:3]
    return Holder(int(epoch), name, where)


class Lease:
    """The lease of one aggregator named ``holder``: take it, keep it, give it up."""

    def __init__(self, redis: Any, prefix: str, holder: str, ttl_s: float) -> None:
        if not holder or any(c.isspace() for c in holder):
            raise ValueError(f"an aggregator's name is a word with no spaces, got {holder!r}")
        self.redis = redis
        self.key = prefix + LEASE_KEY
        self.epoch_key = prefix + EPOCH_KEY
        self.holder = holder
        self.ttl_ms = int(ttl_s * 1000)
        self.token: str | None = None  # while held (as far as this aggregator knows)
        self.epoch = 0  # of the last taking
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def renew_every_s(self) -> float:
        return self.ttl_ms / 3000

    async def acquire(self, *, take_own: bool = False) -> bool:
        """Take the lease if it is free (or, with ``take_own``, held under this name): True if now held."""
        token = await self._acquire(
            keys=[self.key, self.epoch_key],
            args=[self.holder, self.ttl_ms, "1" if take_own else "0", f"{socket.gethostname()}:{os.getpid()}"],
        )
        if not token:
            return False
        self.token = token if isinstance(token, str) else token.decode()
        self.epoch = parse_token(self.token).epoch
        return True

    async def renew(self) -> bool:
        """Extend the lease; False (and forgotten) if it is not ours any more."""
        if self.token is None:
            return False
        if int(await self._renew(keys=[self.key], args=[self.token, self.ttl_ms])):
            return True
        self.token = None
        return False

    async def release(self) -> None:
        """Give the lease up now (a clean stop): a standby takes it on its next try."""
        if self.token is not None:
            await self._release(keys=[self.key], args=[self.token])
            self.token = None

    async def epoch_now(self) -> int:
        """The epoch counter now (0 if Redis has none: it lost or never had it)."""
        raw = await self.redis.get(self.epoch_key)
        return int(raw) if raw is not None else 0

    async def held_by_my_previous_run(self) -> bool | None:
        """Whether the lease is held under this name by this aggregator's previous run (a process
        of this host that is gone, or this pid: a container started again); None if it is not
        held under this name at all; False if another live process or host holds it so."""
        holder = await self.holder_now()
        if holder is None or holder.name != self.holder:
            return None
        host, _, _ = holder.where.rpartition(":")
        pid = holder.pid
        if host != socket.gethostname() or pid is None:
            return False
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False

    async def holder_now(self) -> Holder | None:
        """Who holds it now, if anyone."""
        raw = await self.redis.get(self.key)
        if raw is None:
            return None
        return parse_token(raw if isinstance(raw, str) else raw.decode())
