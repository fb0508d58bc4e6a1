"""Display keys: read-only, non-expiring credentials for unattended screens, kept hashed in Redis.

``wallboard display-key add NAME --screen sala`` makes a key (shown once), stores
its SHA-256 with the screens, teams and views it opens, and bumps a generation
counter; ``revoke`` deletes it and bumps the counter. Every web process keeps a
copy (:class:`KeyRing`) that it refreshes when the counter moves (looked at every
second), and closes the sockets of a key that is gone. A key is a 256-bit random
token, so one SHA-256 is enough to store it (no slow hash needed); each record also
has a random ``id`` that changes if a name is added again, so a re-added name does
not revive the old key's screens. The last time a key was used is kept per key.

Keys in Redis (``prefix`` first): ``auth:keys`` (hash: name → JSON record),
``auth:keys:seen`` (hash: name → epoch seconds), ``auth:keys:gen`` (counter).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from wallboard.redis_client import Client

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
KEY_PREFIX = "wbk_"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    name: str
    id: str
    digest: str
    screens: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    manager: bool = False
    created: float = 0.0

    def scope(self) -> str:
        parts = [f"screen:{s}" for s in self.screens] + [f"team:{t}" for t in self.teams]
        return ", ".join(parts + (["manager"] if self.manager else [])) or "nothing"

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "digest": self.digest,
                "screens": list(self.screens),
                "teams": list(self.teams),
                "manager": self.manager,
                "created": self.created,
            }
        )

    @classmethod
    def from_json(cls, name: str, text: str) -> KeyRecord:
        d: dict[str, Any] = json.loads(text)
        return cls(
            name=name,
            id=str(d["id"]),
            digest=str(d["digest"]),
            screens=tuple(d.get("screens") or ()),
            teams=tuple(d.get("teams") or ()),
            manager=bool(d.get("manager")),
            created=float(d.get("created") or 0),
        )


class KeyStore:
    """The display keys of one wallboard (one Redis prefix)."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.client = client
        self.keys = f"{prefix}auth:keys"
        self.seen = f"{prefix}auth:keys:seen"
        self.gen = f"{prefix}auth:keys:gen"

    async def add(
        self, name: str, screens: tuple[str, ...] = (), teams: tuple[str, ...] = (), manager: bool = False
    ) -> tuple[KeyRecord, str]:
        """A new key named ``name``: its record and the key itself (shown once, never stored)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"key name {name!r}: 1–64 of A-Z a-z 0-9 _ . -, starting with a letter or digit")
        if not (screens or teams or manager):
            raise ValueError("a display key must open something: --screen ID, --team ID or --manager")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = KeyRecord(name, secrets.token_hex(8), digest(key), screens, teams, manager, time.time())
        if not await self.client.hsetnx(self.keys, name, record.to_json()):
            raise ValueError(f"a display key named {name!r} exists already (revoke it first)")
        await self.client.incr(self.gen)
        return record, key

    async def revoke(self, name: str) -> bool:
        removed = bool(await self.client.hdel(self.keys, name))
        await self.client.hdel(self.seen, name)
        if removed:
            await self.client.incr(self.gen)
        return removed

    async def all(self) -> dict[str, KeyRecord]:
        raw = await self.client.hgetall(self.keys)
        return {_s(n): KeyRecord.from_json(_s(n), _s(v)) for n, v in raw.items()}

    async def last_seen(self) -> dict[str, float]:
        raw = await self.client.hgetall(self.seen)
        return {_s(n): float(v) for n, v in raw.items()}

    async def generation(self) -> int:
        return int(await self.client.get(self.gen) or 0)

    async def touch(self, names: dict[str, float]) -> None:
        if names:
            await self.client.hset(self.seen, mapping={n: f"{t:.0f}" for n, t in names.items()})


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class KeyRing:
    """A web process's copy of the keys: checked per request without a round trip to Redis."""

    TOUCH_EVERY_S = 60.0

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self.records: dict[str, KeyRecord] = {}
        self.generation = -1
        self._used: dict[str, float] = {}
        self._touched: dict[str, float] = {}
        self._looks = _Looks()

    async def match_fresh(self, key: str) -> KeyRecord | None:
        """:meth:`match`, looking in Redis first when the key is unknown here (a key just added);
        at most 20 such looks a second (one GET each), so guessing keys costs Redis next to nothing."""
        found = self.match(key)
        if found is None and key.startswith(KEY_PREFIX) and self._looks.take(time.monotonic()):
            await self.refresh()
            found = self.match(key)
        return found

    async def refresh(self) -> set[str]:
        """Re-read the keys if the generation moved; the names of keys that went (or changed id)."""
        gen = await self.store.generation()
        if gen == self.generation:
            return set()
        records = await self.store.all()
        gone = {n for n, r in self.records.items() if n not in records or records[n].id != r.id}
        self.records, self.generation = records, gen
        return gone

    def match(self, key: str) -> KeyRecord | None:
        """The record whose key this is (compared with every record: timing says nothing)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 128:
            return None
        d = digest(key)
        found = None
        for record in self.records.values():
            if hmac.compare_digest(record.digest, d):
                found = record
        return found

    def valid(self, name: str, key_id: str) -> KeyRecord | None:
        """The record for a screen token's name and id, if the key still exists."""
        record = self.records.get(name)
        return record if record is not None and hmac.compare_digest(record.id, key_id) else None

    def used(self, name: str) -> None:
        self._used[name] = time.time()

    async def flush_seen(self) -> None:
        """Write the last-seen times that moved (at most once a minute per key)."""
        due = {n: t for n, t in self._used.items() if t - self._touched.get(n, 0.0) >= self.TOUCH_EVERY_S}
        if due:
            await self.store.touch(due)
            self._touched.update(due)


class _Looks:
    """A token bucket: 20 a second, bursts of 20."""

    def __init__(self) -> None:
        self.tokens, self.at = 20.0, 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(20.0, self.tokens + (now - self.at) * 20.0)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
