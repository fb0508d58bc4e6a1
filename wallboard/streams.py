"""The one module that talks to Redis: event stream, consumer group, checkpoint, snapshots.

Keys (under the configured prefix, ``wb:`` by default):

- ``events``: the event stream, trimmed approximately to ``stream_maxlen``;
- ``events:rejected``: entries the aggregator could not decode, with the reason;
- ``snapshots``: the latest published snapshots (a short stream: read the last
  one, or block for the next);
- ``aggregator:checkpoint``: the folded state and the last stream id in it;
- ``audit``: the audit log (sign-ins, refusals, display-key use), written by ``wallboard.audit``;
- ``alerts``: the alert log's crossings (JSON, one per entry), kept to about a thousand;
- ``sources``: a hash of collector health, one JSON value per source;
- ``cursor:<source>``: a collector's durable position (a file offset, a count);
- ``seen:<store>`` and ``seen:<store>:0..3``: a bounded store of remembered ids
  (the ingest API's idempotency): a clock hash and a ring of four sets.

Personal data (agents' states, refused events, the audit log) is trimmed by age:
:func:`wallboard.retention.purge`, with :meth:`Streams.trim_before` and, for the
event stream, never past :meth:`Streams.events_trim_floor` (what the saved
checkpoint holds). The only history besides is the snapshot stream's older
entries; the checkpoint, cursors, health and ticker are each one current value.

A URL may carry a password or an ACL user (``redis://user:pass@host:6379/0``,
``rediss://`` for TLS); :func:`redact_url` is the form to log.

Replies are decoded here and nowhere else; RESP2 and RESP3 shapes differ.
XREADGROUP replies are taken as the server sent them (``Streams`` sets that on
its client): redis-py's parsing builds two tuples and two dicts per entry, a
sixth of the aggregator's time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError, ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wallboard.config import RedisSettings
from wallboard.events import Event
from wallboard.lease import LEASE_KEY, LeaseLost
from wallboard.redis_client import Client, connect_any
from wallboard.wire import PACKED_FIELD, pack

GROUP = "aggregator"
SNAPSHOT_KEEP = 20
REJECTED_KEEP = 10_000

# XADD of a whole batch in one command: with one XADD per event, even pipelined, most of a
# collector's time went to redis-py building the commands and parsing the replies.
# KEYS[1] the stream, ARGV: maxlen, the field name, then one value per entry.
_APPEND_SCRIPT = """
local ids = {}
for i = 3, #ARGV do
    ids[i - 2] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[i])
end
return ids
"""
_APPEND_CHUNK = 10_000

# Remembered ids in a ring of sets, one per span of time, all changed in one script so that of
# two concurrent claims of an id exactly one wins. An id is fresh if no set of the ring holds
# it; it goes into the current set. The ring turns when the current set's span is over or it
# holds its share of the cap (then the oldest set is emptied), so the store never holds more
# than the cap, and an id is remembered for (ring - 1) to ring spans unless the store is full.
# KEYS[1] the clock hash {slot, started}, KEYS[2..] the sets;
# ARGV: now (s), span (s), ids per set, expiry (ms), then the ids. Returns {early turns, {fresh indexes}}.
_CLAIM_SCRIPT = """
local ring = #KEYS - 1
local now, span, cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local slot = tonumber(redis.call('HGET', KEYS[1], 'slot') or '0')
local started = tonumber(redis.call('HGET', KEYS[1], 'started') or ARGV[1])
local early = 0
local function turn()
    slot = (slot + 1) % ring
    redis.call('DEL', KEYS[slot + 2])
    started = now
end
local due = math.floor((now - started) / span)
for _ = 1, math.min(due, ring) do turn() end
local fresh = {}
for i = 5, #ARGV do
    local seen = false
    for k = 2, #KEYS do
        if redis.call('SISMEMBER', KEYS[k], ARGV[i]) == 1 then seen = true break end
    end
    if not seen then
        if redis.call('SCARD', KEYS[slot + 2]) >= cap then
            turn()
            early = early + 1
        end
        redis.call('SADD', KEYS[slot + 2], ARGV[i])
        fresh[#fresh + 1] = i - 4
    end
end
redis.call('HSET', KEYS[1], 'slot', slot, 'started', started)
for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ttl) end
return {early, fresh}
"""
ID_STORE_RING = 4

# The aggregator's fenced operations (wallboard.lease): each runs only while the lease at KEYS[1]
# holds the token ARGV[1], else fails with FENCED (see LeaseLost).
_FENCE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return redis.error_reply('FENCED the aggregator lease is held by another aggregator')
end
"""
# KEYS[2] the events; ARGV: token, group, consumer, count. Entries never delivered to the group
# (on a Cluster, where redis-py 8.1 cannot send XREADGROUP in a WATCH transaction).
_FENCED_READ = (
    _FENCE
    + """
return redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', KEYS[2], '>')
"""
)
# KEYS[2] the checkpoint, KEYS[3] the events; ARGV: token, group, checkpoint, then the ids to acknowledge.
_FENCED_COMMIT = (
    _FENCE
    + """
redis.call('SET', KEYS[2], ARGV[3])
local i, n = 4, #ARGV
while i <= n do
    local j = math.min(i + 4999, n)
    redis.call('XACK', KEYS[3], ARGV[2], unpack(ARGV, i, j))
    i = j + 1
end
return 1
"""
)
# KEYS[2] a stream; ARGV: token, trimming ('=' or '~'), maxlen, then field, value pairs of one entry.
_FENCED_XADD = (
    _FENCE
    + """
return redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], ARGV[3], '*', unpack(ARGV, 4, #ARGV))
"""
)
# KEYS[2] a stream; ARGV: token, maxlen (approximate), field, then one value per entry.
_FENCED_XADD_MANY = (
    _FENCE
    + """
for i = 4, #ARGV do
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[3], ARGV[i])
end
return 1
"""
)

#: What a Redis call raises when Redis cannot be reached or stops answering (a retry may succeed).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
#: Anything a Redis call raises when it did not happen: Redis unreachable, failing or refusing the command.
FAILURES = (RedisError, OSError)

Entry = tuple[str, dict[str, str] | None]  # (stream id, fields; None if trimmed away)


class ReplicasBehind(RedisTimeoutError):
    """Fewer replicas than ``redis.wait_replicas`` acknowledged a write in time (it may be lost at a
    failover): a timeout, so every caller's retry of an unreachable Redis sends it again."""


def redact_url(url: str) -> str:
    """``url`` fit for a log: its password, in the user info (``redis://user:***@host:6379/0``)
    or as a ``password=`` (or ``ssl_password=``) query argument, replaced by ``***``."""
    if "://" not in url:
        return "***" if "@" in url or "password" in url.lower() else url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"  # not even a URL redis-py could use: nothing of it is safe to show
    netloc, path = parts.netloc, parts.path
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hostinfo}"
    elif not at and "@" in url:  # a password with an unescaped "/", "?" or "#": all up to its "@" goes
        return f"{parts.scheme}://***{url[url.rindex('@') :]}"
    query = "&".join(
        f"{name}=***" if unquote(name).lower().endswith("password") else f"{name}{eq}{value}"
        for name, eq, value in (arg.partition("=") for arg in parts.query.split("&"))
    )
    return (
        f"{parts.scheme}://{netloc}{path}"
        + (f"?{query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def connect(url: str) -> Client:
    """An asyncio client for ``url`` (any form: one server, through Sentinel, a Cluster) that can
    always be cancelled (:func:`wallboard.redis_client.connect_any`)."""
    return connect_any(url)


def id_tuple(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _id_after(stream_id: str) -> str:
    """The smallest stream id greater than ``stream_id``."""
    ms, seq = id_tuple(stream_id)
    return f"{ms}-{seq + 1}"


def earliest_id(*stream_ids: str) -> str:
    """The smallest of stream ids."""
    return min(stream_ids, key=id_tuple)


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _json_object(raw: bytes | str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(raw)
    return value


def _as_sent(response: Any, **kwargs: Any) -> Any:
    return response


def _fields(fields: Any) -> dict[str, str] | None:
    """An entry's fields: a dict as redis-py parses them, or [name, value, …] as sent."""
    if not fields:
        return None
    if isinstance(fields, dict):
        return dict(fields)
    if len(fields) == 2:  # an event: one field
        return {fields[0]: fields[1]}
    it = iter(fields)
    return dict(zip(it, it))


def _entries(reply: Any) -> list[Entry]:
    """Entries of a one-stream XREAD/XREADGROUP reply, RESP2 or RESP3, parsed by redis-py or as sent."""
    if not reply:
        return []
    if isinstance(reply, dict):  # RESP3: {stream: [[(id, fields), …]]} (redis-py) or {stream: [[id, fields], …]}
        streams = [
            v[0] if v and isinstance(v[0], list) and (not v[0] or not isinstance(v[0][0], str)) else v
            for v in reply.values()
        ]
    else:  # RESP2: [[stream, [(id, fields), …]]]
        streams = [item[1] for item in reply]
    return [(entry_id, _fields(fields)) for entries in streams for entry_id, fields in entries]


class Streams:
    """Named operations on the project's Redis keys."""

    def __init__(
        self,
        redis: Client,
        prefix: str = "wb:",
        maxlen: int = 1_000_000,
        *,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.maxlen = maxlen
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self.events_key = prefix + "events"
        self.rejected_key = prefix + "events:rejected"
        self.snapshots_key = prefix + "snapshots"
        self.checkpoint_key = prefix + "aggregator:checkpoint"
        self.sources_key = prefix + "sources"
        self.audit_key = prefix + "audit"
        self.lease_key = prefix + LEASE_KEY
        redis.set_response_callback("XREADGROUP", _as_sent)  # see the module's docstring
        self._append = redis.register_script(_APPEND_SCRIPT)
        self._claim = redis.register_script(_CLAIM_SCRIPT)
        self._fenced_read = redis.register_script(_FENCED_READ)
        self._fenced_commit = redis.register_script(_FENCED_COMMIT)
        self._fenced_xadd = redis.register_script(_FENCED_XADD)
        self._fenced_xadd_many = redis.register_script(_FENCED_XADD_MANY)

    async def _fenced(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=[self.lease_key, *keys], args=args)
        except ResponseError as exc:
            if "FENCED" in str(exc):
                raise LeaseLost(str(exc)) from None
            raise

    @classmethod
    def configured(cls, redis: Client, settings: RedisSettings) -> Streams:
        """The operations on ``redis`` with the config's prefix, trimming and replica acknowledgements."""
        if settings.wait_replicas and isinstance(redis, RedisCluster):
            raise ValueError("redis.wait_replicas must be 0 with a Redis Cluster (WAIT counts one node's replicas)")
        return cls(
            redis,
            settings.prefix,
            settings.stream_maxlen,
            wait_replicas=settings.wait_replicas,
            wait_timeout_ms=settings.wait_timeout_ms,
        )

    # ------------------------------------------------------------ events

    async def append(self, events: Sequence[Event]) -> list[str]:
        """XADD every event, trimming the stream approximately: one command per 10,000
        (a script holds Redis while it runs: ~20 ms for that many).

        With ``wait_replicas``, returns only once that many replicas hold them (``WAIT``), else
        raises :class:`ReplicasBehind` (a timeout: the caller sends them again; the aggregator
        counts an event id once)."""
        if not self.wait_replicas or not events or isinstance(self.redis, RedisCluster):  # (refused: configured)
            return await self._append_on(self.redis, events)
        # WAIT counts the writes of the connection it is sent on: the batch and its WAIT on one.
        async with self.redis.client() as one:
            ids = await self._append_on(one, events)
            await self._wait_on(one)
        return ids

    async def _append_on(self, client: Any, events: Sequence[Event]) -> list[str]:
        ids: list[str] = []
        for i in range(0, len(events), _APPEND_CHUNK):
            added = await self._append(
                keys=[self.events_key],
                args=[self.maxlen, PACKED_FIELD, *[pack(e) for e in events[i : i + _APPEND_CHUNK]]],
                client=client,
            )
            ids.extend(_str(entry_id) for entry_id in added)
        return ids

    async def _wait_on(self, client: Any) -> None:
        """``WAIT`` for ``wait_replicas`` replicas to hold ``client``'s writes so far."""
        acknowledged = int(await client.wait(self.wait_replicas, self.wait_timeout_ms))
        if acknowledged < self.wait_replicas:
            raise ReplicasBehind(
                f"only {acknowledged} of {self.wait_replicas} replicas acknowledged the events "
                f"within {self.wait_timeout_ms} ms (redis.wait_replicas)"
            )

    async def append_raw(self, fields: dict[str, str]) -> str:
        """XADD one entry as given (tests use it to put bad entries on the stream)."""
        entry_id = await self.redis.xadd(self.events_key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        return _str(entry_id)

    async def ensure_group(self) -> None:
        """Create the aggregator's consumer group (and the stream) unless they exist."""
        try:
            await self.redis.xgroup_create(self.events_key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def rewind_group(self) -> None:
        """Deliver the whole retained stream to the group again (to rebuild the state)."""
        await self.redis.xgroup_setid(self.events_key, GROUP, id="0")

    async def read_new(self, consumer: str, count: int, block_ms: int, fence: str | None = None) -> list[Entry]:
        """Entries never delivered to the group, waiting up to ``block_ms``.

        With ``fence`` (the lease's token), delivered only while the lease holds it (else
        :class:`~wallboard.lease.LeaseLost`): read at once (a script cannot block), and if there
        are none, wait for an entry after the group's last delivered one, then read again."""
        if fence is None:
            reply = await self.redis.xreadgroup(GROUP, consumer, {self.events_key: ">"}, count=count, block=block_ms)
            return _entries(reply)
        entries = await self._read_fenced(consumer, count, fence)
        if entries or block_ms <= 0:
            return entries
        if not await self.redis.xread({self.events_key: await self._last_delivered()}, count=1, block=block_ms):
            return []
        return await self._read_fenced(consumer, count, fence)

    async def _read_fenced(self, consumer: str, count: int, fence: str) -> list[Entry]:
        """XREADGROUP only while the lease holds ``fence``: WATCH the lease, check it, read in a
        transaction (a taking of the lease meanwhile SETs it: the read is then not done). Not a
        script: a script's reply of 5,000 entries is built again in Lua (measured: 124 against
        45 ms a batch), except on a Cluster."""
        if isinstance(self.redis, RedisCluster):
            return _entries(await self._fenced(self._fenced_read, [self.events_key], [fence, GROUP, consumer, count]))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(self.lease_key)
                if _str(await pipe.get(self.lease_key) or "") != fence:
                    raise LeaseLost("the aggregator lease is not held by this aggregator")
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.xreadgroup(GROUP, consumer, {self.events_key: ">"}, count=count)
                (reply,) = await pipe.execute()
        except WatchError as exc:
            # redis-py says a connection lost while watching with a WatchError too: that is Redis
            # unreachable (retried), not the lease taken (seen at a failover through Sentinel).
            if "occurred while watching" in str(exc):  # (redis-py 8: "A ConnectionError occurred …")
                raise RedisConnectionError(str(exc)) from exc
            raise LeaseLost("the aggregator lease was taken while reading") from None
        return _entries(reply)

    async def _last_delivered(self) -> str:
        """The id of the group's last delivered entry (``$`` if the group is not there: NOGROUP follows)."""
        for group in await self.redis.xinfo_groups(self.events_key):
            if _str(group.get("name", "")) == GROUP:
                return _str(group.get("last-delivered-id") or "0-0")
        return "$"

    async def read_own_pending(self, consumer: str, after: str, count: int) -> list[Entry]:
        """Entries delivered to ``consumer`` but not acknowledged, after id ``after``."""
        reply = await self.redis.xreadgroup(GROUP, consumer, {self.events_key: after}, count=count)
        return _entries(reply)

    async def claim_stale(self, consumer: str, min_idle_ms: int, count: int = 1000) -> list[Entry]:
        """Take over entries other consumers left pending (a crashed aggregator)."""
        out: list[Entry] = []
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(self.events_key, GROUP, consumer, min_idle_ms, start, count=count)
            start, claimed = reply[0], reply[1]
            out.extend((i, dict(f) if f else None) for i, f in claimed)
            if start in ("0-0", b"0-0"):
                return sorted(out, key=lambda e: id_tuple(e[0]))

    async def commit(self, checkpoint: dict[str, Any], ack_ids: Sequence[str], fence: str | None = None) -> None:
        """Save the checkpoint and acknowledge the entries it covers, atomically (with ``fence``:
        only while the lease holds that token, else :class:`~wallboard.lease.LeaseLost`)."""
        if fence is not None:
            await self._fenced(
                self._fenced_commit,
                [self.checkpoint_key, self.events_key],
                [fence, GROUP, json.dumps(checkpoint, separators=(",", ":")), *ack_ids],
            )
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.checkpoint_key, json.dumps(checkpoint, separators=(",", ":")))
        for i in range(0, len(ack_ids), 10_000):
            pipe.xack(self.events_key, GROUP, *ack_ids[i : i + 10_000])
        await pipe.execute()

    async def load_checkpoint(self) -> dict[str, Any] | None:
        raw = await self.redis.get(self.checkpoint_key)
        return None if raw is None else _json_object(raw)

    async def reject(self, entry_id: str, fields: dict[str, str] | None, reason: str) -> None:
        """Keep an undecodable entry, with why, on the rejected stream."""
        record: dict[Any, Any] = {
            "id": entry_id,
            "reason": reason,
            "fields": json.dumps(fields or {}, ensure_ascii=False),
        }
        await self.redis.xadd(self.rejected_key, record, maxlen=REJECTED_KEEP, approximate=True)

    async def reject_many(self, refused: Sequence[tuple[str, dict[str, str] | None, str]]) -> None:
        """Keep refused entries ``(id, fields, reason)`` on the rejected stream, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for entry_id, fields, reason in refused:
            pipe.xadd(
                self.rejected_key,
                {"id": entry_id, "reason": reason, "fields": json.dumps(fields or {}, ensure_ascii=False)},
                maxlen=REJECTED_KEEP,
                approximate=True,
            )
        await pipe.execute()

    async def group_info(self) -> dict[str, Any]:
        """Pending count and lag of the aggregator's group (0 when all is consumed)."""
        for group in await self.redis.xinfo_groups(self.events_key):
            if group.get("name") == GROUP:
                return {
                    "pending": int(group.get("pending", 0)),
                    "lag": group.get("lag"),
                    "last_delivered_id": group.get("last-delivered-id"),
                }
        return {"pending": 0, "lag": None, "last_delivered_id": None}

    # --------------------------------------------------------- retention

    async def trim_before(self, key: str, min_id: str) -> int:
        """Remove the entries of stream ``key`` with ids below ``min_id`` (exactly: ``XTRIM MINID``,
        allowed even when Redis is full); how many went."""
        return int(await self.redis.xtrim(key, minid=min_id, approximate=False))

    async def events_trim_floor(self) -> str:
        """The id below which the event stream may be trimmed: only entries folded into the saved
        checkpoint, delivered to the group and not pending are below it.

        The smallest of: the id after the checkpoint's ``last_id``, the id after the group's
        last delivered one (a group rewound to rebuild the state has delivered nothing yet), and
        the oldest pending entry. ``0-0`` (nothing may go) without a checkpoint, a readable
        ``last_id`` in it, or the group."""
        raw = await self.redis.get(self.checkpoint_key)
        try:
            last_id = str(_json_object(raw)["last_id"]) if raw is not None else None
            if last_id is not None:
                id_tuple(last_id)
        except (ValueError, KeyError, TypeError):
            last_id = None
        if last_id is None:
            return "0-0"
        try:
            groups = await self.redis.xinfo_groups(self.events_key)
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return "0-0"
            raise
        group = next((g for g in groups if _str(g.get("name", "")) == GROUP), None)
        if group is None:
            return "0-0"
        floor = earliest_id(_id_after(last_id), _id_after(_str(group["last-delivered-id"])))
        if int(group.get("pending", 0)):
            pending = await self.redis.xpending(self.events_key, GROUP)
            if pending.get("min"):
                floor = earliest_id(floor, _str(pending["min"]))
        return floor

    async def newest_id(self, key: str) -> str | None:
        """The id of the newest entry of stream ``key`` (None when it has none)."""
        entries = await self.redis.xrevrange(key, count=1)
        newest = entries[0][0] if entries else None
        return None if newest is None else _str(newest)

    # --------------------------------------------------------- snapshots

    async def publish_snapshot(self, seq: int, payload: str, fence: str | None = None) -> None:
        """Add a snapshot (with ``fence``: only while the lease holds that token)."""
        if fence is not None:
            await self._fenced(
                self._fenced_xadd, [self.snapshots_key], [fence, "=", SNAPSHOT_KEEP, "seq", str(seq), "json", payload]
            )
            return
        await self.redis.xadd(
            self.snapshots_key, {"seq": str(seq), "json": payload}, maxlen=SNAPSHOT_KEEP, approximate=False
        )

    async def latest_snapshot_entry(self) -> tuple[str, dict[str, Any]] | None:
        """The newest snapshot with its stream id (to follow the stream from there)."""
        entries = await self.redis.xrevrange(self.snapshots_key, count=1)
        if not entries or not entries[0][1]:
            return None
        entry_id = entries[0][0]
        return _str(entry_id or ""), _json_object(entries[0][1]["json"])

    async def snapshots_after(self, last_id: str, block_ms: int) -> list[tuple[str, dict[str, Any]]]:
        """Snapshots published after ``last_id``, waiting up to ``block_ms`` for one."""
        reply = await self.redis.xread({self.snapshots_key: last_id}, count=10, block=block_ms)
        return [(i, _json_object(f["json"])) for i, f in _entries(reply) if f]

    async def latest_snapshot(self) -> dict[str, Any] | None:
        entries = await self.redis.xrevrange(self.snapshots_key, count=1)
        fields = entries[0][1] if entries else None
        return None if not fields else _json_object(fields["json"])

    # ------------------------------------------------------ remembered ids

    def id_store_keys(self, store: str) -> list[str]:
        """The clock hash, then the ring of sets, of the id store ``store``."""
        base = f"{self.prefix}seen:{store}"
        return [base, *(f"{base}:{k}" for k in range(ID_STORE_RING))]

    async def claim_ids(
        self, store: str, ids: Sequence[bytes], *, now: float, horizon_s: float, max_ids: int
    ) -> tuple[list[int], int]:
        """Remember ``ids`` (distinct) in a store bounded to ``max_ids``, for at least ``horizon_s``
        unless it is full: the indexes of those it did not hold yet (claimed now, atomically), and
        how many times it had to forget its oldest quarter early because it was full."""
        if not ids:
            return [], 0
        span = horizon_s / (ID_STORE_RING - 1)
        expiry_ms = int((horizon_s + span) * 1000) + 1000
        early, fresh = await self._claim(
            keys=self.id_store_keys(store),
            args=[repr(now), repr(span), max(1, max_ids // ID_STORE_RING), expiry_ms, *ids],
        )
        return [int(i) - 1 for i in fresh], int(early)

    async def release_ids(self, store: str, ids: Sequence[bytes]) -> None:
        """Forget ids claimed by :meth:`claim_ids` (what they stood for was not taken after all)."""
        if ids:
            pipe = self.redis.pipeline(transaction=True)
            for key in self.id_store_keys(store)[1:]:
                pipe.srem(key, *ids)
            await pipe.execute()

    async def id_store_size(self, store: str) -> int:
        """How many ids the store holds."""
        pipe = self.redis.pipeline(transaction=False)
        for key in self.id_store_keys(store)[1:]:
            pipe.scard(key)
        return sum(int(n) for n in await pipe.execute())

    # ------------------------------------------------------------- ticker

    async def set_ticker(self, screen: str, text: str) -> None:
        """A supervisor's message for one screen (``*``: every screen); empty text clears it."""
        if text:
            await self.redis.hset(self.prefix + "ticker", screen, text)
        else:
            await self.redis.hdel(self.prefix + "ticker", screen)

    # --------------------------------------------------------------- alert log

    async def append_alerts(self, jsons: list[str], keep: int, fence: str | None = None) -> None:
        """Append alert-log entries (JSON texts), all or none, keeping about ``keep`` (with ``fence``:
        only while the lease holds that token)."""
        if fence is not None:
            await self._fenced(self._fenced_xadd_many, [self.prefix + "alerts"], [fence, keep, "json", *jsons])
            return
        pipe = self.redis.pipeline(transaction=True)
        for text in jsons:
            pipe.xadd(self.prefix + "alerts", {"json": text}, maxlen=keep, approximate=True)
        await pipe.execute()

    async def recent_alerts(self, count: int) -> list[tuple[str, str]]:
        """The newest ``count`` alert-log entries, newest first: ``(entry id, JSON text)``."""
        raw = await self.redis.xrevrange(self.prefix + "alerts", count=count) or []
        return [(_str(entry_id or ""), _str((fields or {}).get("json") or "")) for entry_id, fields in raw]

    async def tickers(self) -> dict[str, str]:
        raw = await self.redis.hgetall(self.prefix + "ticker")
        return {_str(k): _str(v) for k, v in raw.items()}

    # ------------------------------------------------- sources and cursors

    async def set_source_health(self, source: str, health: dict[str, Any]) -> None:
        await self.redis.hset(self.sources_key, source, json.dumps(health))

    async def source_health(self) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.sources_key)
        return {_str(name): _json_object(value) for name, value in raw.items()}

    async def load_cursor(self, source: str) -> dict[str, Any]:
        raw = await self.redis.get(f"{self.prefix}cursor:{source}")
        return {} if raw is None else _json_object(raw)

    async def save_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        await self.redis.set(f"{self.prefix}cursor:{source}", json.dumps(cursor))


def redis_full(exc: BaseException) -> bool:
    """True for Redis refusing a write because it reached ``maxmemory`` (an OOM error).

    redis-py raises OutOfMemoryError for a command, with the ``OOM`` code taken off
    its message; a write refused inside a script comes back as a plain script error
    that quotes ``-OOM``.
    """
    if isinstance(exc, OutOfMemoryError):
        return True
    return isinstance(exc, ResponseError) and (str(exc).startswith("OOM ") or "-OOM " in str(exc))
