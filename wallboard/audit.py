"""The audit log: sign-ins, refusals and display-key use, to the log and to a bounded Redis stream.

Each entry says what happened (``signin.ok``, ``signin.fail``, ``signin.limited``,
``refused``, ``key.setup``, ``key.revoked``, ``signout``), who (a user name that exists or a
key's name, never a password or a key), from which address, and where; every field is cut to
200 characters with control characters escaped, so no visitor can forge a log line or make an
entry large, and the refusals of unknown visitors are kept at most 20 a second (the number left
out is written in the next entry). The stream
``{prefix}audit`` keeps ``privacy.audit_maxlen`` entries at most (approximate
trimming) and is trimmed by age with the other personal data. Writing is
best effort: a Redis error is logged, never raised into the request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from wallboard.redis_client import Client

log = logging.getLogger("wallboard.audit")


class Audit:
    def __init__(self, client: Client, prefix: str, maxlen: int) -> None:
        self.client = client
        self.key = f"{prefix}audit"
        self.maxlen = maxlen
        self._pending: set[asyncio.Task[None]] = set()
        #: Entries of unknown visitors (``quiet``) kept at most 20 a second (bursts of 200): a
        #: flood can neither fill Redis nor push the sign-ins out of the log.
        self._bucket = _Bucket(rate=20.0, burst=200.0)
        self.dropped = 0

    def record(
        self, event: str, who: str = "", address: str = "", where: str = "", detail: str = "", quiet: bool = False
    ) -> None:
        """Log the entry now (unless ``quiet``: the caller logs at a bounded rate) and append it to
        the stream in the background."""
        who, address, where, detail = (_clean(v) for v in (who, address, where, detail))
        if quiet and not self._bucket.take(time.monotonic()):
            self.dropped += 1  # a flood of unknown visitors: counted, not kept
            return
        if not quiet:
            log.info("audit %s who=%s from=%s at=%s %s", event, who or "-", address or "-", where or "-", detail)
        fields = {
            "event": event,
            "who": who,
            "from": address,
            "at": where,
            "detail": detail,
            "ts": f"{time.time():.3f}",
        }
        if self.dropped:
            fields["dropped_before"] = str(self.dropped)  # refusals left out since the last entry
            self.dropped = 0
        task = asyncio.get_running_loop().create_task(self._append(fields))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _append(self, fields: dict[str, str]) -> None:
        try:
            await self.client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        except RedisError as exc:
            log.warning("audit entry not kept in Redis: %s", type(exc).__name__)

    async def recent(self, count: int = 50) -> list[dict[str, str]]:
        entries = await self.client.xrevrange(self.key, count=count) or []
        return [{_s(k): _s(v) for k, v in (fields or {}).items() if k is not None} for _id, fields in entries]


#: A field's length at most: an entry stays small whatever a visitor sends (a path, a name).
MAX_FIELD = 200


def _clean(value: str) -> str:
    """``value`` safe for a log line: control characters escaped (no forged lines), cut short."""
    if value.isprintable() and len(value) <= MAX_FIELD:
        return value
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[: MAX_FIELD * 2])
    return text if len(text) <= MAX_FIELD else text[: MAX_FIELD - 1] + "…"


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _s(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")
