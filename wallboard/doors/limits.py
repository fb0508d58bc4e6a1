"""The sign-in failure limit, shared in Redis by every web process of a wallboard.

Behind N replicas (workers on one host, hosts behind a load balancer) a limit kept in
each process's memory gives a guesser N times the attempts: this one is kept in Redis,
so a failure counted by one process counts on all of them. Same semantics as
:class:`wallboard.doors.login.LoginLimiter`: failures per user name from one address,
per address, and per user name from everywhere, each in a sliding window; beyond a
limit, the seconds until the oldest of the failures that count leaves the window.

Each key is a sorted set of failure times (Redis's own clock, ``TIME``: the hosts'
clocks do not matter), and the work is done by two Lua scripts, so a check and a
failure are one round trip each and atomic. Memory is bounded whatever an outsider
sends:

- a key keeps only its newest ``limit`` failures (only those decide the answer) and
  expires one window after its last failure;
- every key is listed in one registry (a sorted set by last failure); beyond
  ``max_keys`` keys the least recently failed are deleted, as the in-memory limit
  forgot its oldest keys. So at most ``max_keys`` keys of at most ``per_user × 20``
  entries each, plus the registry; and its keys expire too.

Names are not stored: a key is a hash of what it counts (a password typed into the
name box never reaches Redis in clear). All keys carry the configured prefix (so one
hash tag in it keeps them in one Redis Cluster slot, as the scripts need).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from wallboard.config import LoginLimits
from wallboard.redis_client import Client

#: Keys in all (the in-memory limit kept 10 000 per kind in each process).
MAX_KEYS = 30_000

# KEYS: the counted keys; ARGV: window (ms), then one limit per key.
_CHECK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    local left = window - (now - tonumber(oldest[2]))
    if left > wait then wait = left end
  end
end
return wait
"""

# KEYS: the registry, then the counted keys; ARGV: window (ms), max keys, a unique tag,
# then one limit per counted key.
_FAIL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local max_keys = tonumber(ARGV[2])
local registry = KEYS[1]
for i = 2, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[i + 2])
  redis.call('ZADD', key, now, t[1] .. t[2] .. ARGV[3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
  redis.call('PEXPIRE', key, window)
  redis.call('ZADD', registry, now, key)
end
redis.call('ZREMRANGEBYSCORE', registry, '-inf', now - window)
local over = redis.call('ZCARD', registry) - max_keys
if over > 0 then
  local gone = redis.call('ZPOPMIN', registry, over)
  for i = 1, #gone, 2 do redis.call('DEL', gone[i]) end
end
redis.call('PEXPIRE', registry, window)
return over
"""


@dataclass(frozen=True)
class _Kinds:
    pair: int
    address: int
    user: int


class SharedLoginLimiter:
    """The sign-in limits of :class:`~wallboard.doors.login.LoginLimiter`, kept in Redis."""

    def __init__(self, client: Client, prefix: str, limits: LoginLimits, *, max_keys: int = MAX_KEYS) -> None:
        if max_keys < 3:
            raise ValueError(f"max_keys must be at least 3 (one failure counts under 3 keys), got {max_keys}")
        self.redis = client
        self.prefix = f"{prefix}auth:fail:"
        self.registry = f"{prefix}auth:fail-keys"
        self.window_ms = limits.window_s * 1000
        self.max_keys = max_keys
        self.limits = _Kinds(limits.per_user, limits.per_address, limits.per_user * 20)
        self._check = client.register_script(_CHECK)
        self._fail = client.register_script(_FAIL)

    def _key(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(f"{self.prefix}{kind}\0{value}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.prefix}{kind}:{digest}"

    def _keys(self, user: str, address: str) -> list[str]:
        return [self._key("p", f"{user}|{address}"), self._key("a", address), self._key("u", user)]

    def _limits(self) -> list[int]:
        return [self.limits.pair, self.limits.address, self.limits.user]

    async def retry_after(self, user: str, address: str) -> float:
        """Seconds until ``user`` may try again from ``address`` (0: now)."""
        waited = await self._check(keys=self._keys(user, address), args=[self.window_ms, *self._limits()])
        return max(0.0, int(waited) / 1000)

    async def failed(self, user: str, address: str) -> None:
        tag = secrets.token_hex(6)  # (two failures in the same microsecond are two failures)
        await self._fail(
            keys=[self.registry, *self._keys(user, address)],
            args=[self.window_ms, self.max_keys, tag, *self._limits()],
        )

    async def succeeded(self, user: str, address: str) -> None:
        pair = self._key("p", f"{user}|{address}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            pipe.zrem(self.registry, pair)
            await pipe.execute()
