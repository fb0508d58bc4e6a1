"""The ingest endpoint: token auth, the request's limits, validation, de-duplication, the append.

:func:`routes` declares the API's routes once, for the web process and for the
API served alone; both put the :class:`Ingest` of their sources in
``app.state.ingest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from wallboard import metrics
from wallboard.collectors.runtime import CollectorContext
from wallboard.fold_settings import FoldSettings
from wallboard.ingest import PATH, PREFIX, SCHEMA_PATH
from wallboard.ingest.admission import Admission
from wallboard.ingest.ids import IdStore
from wallboard.ingest.options import Options, served_by_web
from wallboard.ingest.rate import TokenBucket
from wallboard.ingest.schema import json_schema
from wallboard.ingest.validate import validate
from wallboard.streams import FAILURES

if TYPE_CHECKING:
    from wallboard.collectors import Configured
    from wallboard.config import Config
    from wallboard.streams import Streams

#: How long a request waits for Redis before answering 503 (the client retries; nothing is half-taken).
_REDIS_WAIT_S = 10.0


@dataclass(slots=True)
class _Source:
    """One ``http`` source as the endpoint keeps it: its context, token digests, rate and rules."""

    ctx: CollectorContext[Options]
    tokens: tuple[bytes, ...]
    bucket: TokenBucket
    admission: Admission
    ids: IdStore

    @classmethod
    def of(cls, ctx: CollectorContext[Options]) -> _Source:
        opts = ctx.options
        return cls(
            ctx,
            tuple(hashlib.sha256(t.encode()).digest() for t in opts.tokens),
            TokenBucket.full(opts.rate_per_s, opts.burst, time.monotonic()),
            Admission(FoldSettings.from_config(ctx.config), ctx.source),
            IdStore(ctx.streams, ctx.source, opts),
        )


class Ingest:
    """The ingest endpoint for the ``http`` sources of ``contexts`` (each reports its own health)."""

    def __init__(self, contexts: Sequence[CollectorContext[Options]]) -> None:
        self.sources = [_Source.of(ctx) for ctx in contexts]

    @property
    def contexts(self) -> list[CollectorContext[Options]]:
        """Each source's context (whoever serves the endpoint reports their health)."""
        return [s.ctx for s in self.sources]

    @classmethod
    def for_web(cls, config: Config, collectors: Sequence[Configured], streams: Streams) -> Ingest:
        """The endpoint of every source the web process serves (:func:`served_by_web`)."""
        return cls(
            [CollectorContext(config, c.spec, cast(Options, c.options), streams) for c in served_by_web(collectors)]
        )

    def _authenticate(self, request: Request) -> _Source | None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        # Digests of equal length, compared with every token: the time taken tells neither
        # which token nor how long it is.
        candidate = hashlib.sha256(given.strip().encode()).digest()
        found = None
        for source in self.sources:
            for token in source.tokens:
                if hmac.compare_digest(candidate, token) and found is None:
                    found = source
        return found

    async def handle(self, request: Request) -> Response:
        """Answer one ``POST`` of a batch (see :mod:`wallboard.ingest` for the contract), counted
        in :mod:`wallboard.metrics` by source and status."""
        tally = _Tally()
        response = await self._handle(request, tally)
        metrics.ingest_answered(tally.source, response.status_code)
        if tally.refused:
            metrics.INGEST_REFUSED.labels(tally.source).inc(tally.refused)
        return response

    async def _handle(self, request: Request, tally: _Tally) -> Response:
        source = self._authenticate(request)
        if source is None:
            return _error(401, "missing or unknown bearer token", {"WWW-Authenticate": 'Bearer realm="wallboard"'})
        ctx, opts, bucket = source.ctx, source.ctx.options, source.bucket
        tally.source = ctx.source
        wait = bucket.take(1, time.monotonic())  # every request costs, valid or not
        if wait > 0:
            return _over_rate(ctx, wait)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            ctx.reject("HTTP 415: Content-Type is not application/json")
            return _error(415, "Content-Type must be application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > opts.max_body_bytes:
            ctx.reject(f"HTTP 413: body of {declared} bytes")
            return _error(413, f"body larger than {opts.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > opts.max_body_bytes:
                ctx.reject("HTTP 413: body too large")
                return _error(413, f"body larger than {opts.max_body_bytes} bytes")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            ctx.reject(f"HTTP 400: body is not JSON ({reason})")
            return _error(400, f"body is not valid JSON: {reason}")
        raw = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(raw, list) or not raw:
            ctx.reject("HTTP 400: no events list")
            return _error(400, 'body must be an object {"events": [ … ]} with at least one event')
        if len(raw) > opts.max_batch:
            tally.refused = len(raw)
            ctx.reject(f"HTTP 413: batch of {len(raw)} events")
            return _error(413, f"batch of {len(raw)} events; at most {opts.max_batch} per request")
        events, errors = validate(raw, ctx.source, source.admission, time.time())
        if errors:
            for err in errors[:10]:
                ctx.reject(f"HTTP 422: event {err['index']}: field {err['field']!r}: {err['reason']}")
            ctx.health.errors_total += max(0, len(errors) - 10)
            metrics.COLLECTOR_REJECTED.labels(ctx.source).inc(max(0, len(errors) - 10))
            tally.refused = len(raw)
            return _Json(
                {"error": f"{len(errors)} invalid event(s); none accepted", "accepted": 0, "errors": errors},
                status_code=422,
            )
        tally.refused = len(events)  # (until they are taken)
        if len(events) > opts.burst:
            ctx.reject(f"HTTP 413: batch of {len(events)} events over the burst of {opts.burst}")
            return _error(413, f"batch of {len(events)} events exceeds this source's burst ({opts.burst})")
        wait = bucket.take(len(events) - 1, time.monotonic())
        if wait > 0:
            return _over_rate(ctx, wait)
        try:
            async with asyncio.timeout(_REDIS_WAIT_S):
                fresh = await source.ids.claim(events)
                try:
                    await ctx.emit(fresh)
                except BaseException:
                    with contextlib.suppress(Exception):  # let a retry take them
                        await asyncio.shield(source.ids.release(fresh))
                    raise
        except (TimeoutError, *FAILURES) as exc:
            ctx.reject(f"HTTP 503: Redis unavailable ({type(exc).__name__})")
            return _error(
                503, "the wallboard's Redis is unavailable; nothing was taken, retry later", {"Retry-After": "5"}
            )
        tally.refused = 0
        metrics.INGEST_ACCEPTED.labels(ctx.source).inc(len(fresh))
        metrics.INGEST_DUPLICATES.labels(ctx.source).inc(len(events) - len(fresh))
        return _Json({"accepted": len(fresh), "duplicates": len(events) - len(fresh)})


@dataclass(slots=True)
class _Tally:
    """What one request is counted as: its source (``none`` until a token names one) and how many
    events of it were refused."""

    source: str = "none"
    refused: int = 0


def _over_rate(ctx: CollectorContext[Options], wait: float) -> Response:
    rate = ctx.options.rate_per_s
    ctx.reject(f"HTTP 429: over {rate:g} events/s")
    return _error(429, f"over this source's rate of {rate:g} events/s", {"Retry-After": str(max(1, int(wait + 0.999)))})


class _Json(JSONResponse):
    """JSON whose text is always encodable: a lone surrogate that got into a message is escaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode(
            "utf-8", "backslashreplace"
        )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return _Json({"error": message}, status_code=status, headers=headers)


async def _post(request: Request) -> Response:
    ingest: Ingest = request.app.state.ingest
    return await ingest.handle(request)


async def _schema(request: Request) -> Response:
    return JSONResponse(json_schema())


def routes() -> list[BaseRoute]:
    """The API's routes, under one mount so that a wrong method on them is a 405 (not whatever
    a catch-all route behind them would answer)."""
    return [
        Mount(
            PREFIX,
            routes=[
                Route(PATH.removeprefix(PREFIX), _post, methods=["POST"]),
                Route(SCHEMA_PATH.removeprefix(PREFIX), _schema, methods=["GET"]),
            ],
        )
    ]
