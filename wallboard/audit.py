"""The audit log: sign-ins, refusals and display-key use, to the log and to a bounded Redis stream.

Each entry says what happened (``signin.ok``, ``signin.fail``, ``signin.limited``,
``refused``, ``key.setup``, ``key.revoked``, ``signout``), who (a user name or a key's
name, never a password or a key), from which address, and where. The stream
``{prefix}audit`` keeps ``privacy.audit_maxlen`` entries at most (approximate
trimming) and is trimmed by age with the other personal data. Writing is
best effort: a Redis error is logged, never raised into the request.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("wallboard.audit")


class Audit:
    def __init__(self, client: Redis, prefix: str, maxlen: int) -> None:
        self.client = client
        self.key = f"{prefix}audit"
        self.maxlen = maxlen
        self._pending: set[asyncio.Task[None]] = set()

    def record(
        self, event: str, who: str = "", address: str = "", where: str = "", detail: str = "", quiet: bool = False
    ) -> None:
        """Log the entry now (unless ``quiet``: the caller logs at a bounded rate) and append it to
        the stream in the background."""
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


def _s(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")
