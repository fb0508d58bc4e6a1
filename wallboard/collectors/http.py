"""HTTP ingest: ``POST /api/v1/events`` takes batches of typed events from any platform.

For systems with no socket interface (cloud ACDs, CRMs, dialers). Each ``http``
collector in the config is one source with its own bearer tokens (secrets from
the environment); the token says which source a batch comes from, compared in
constant time against every configured token.

The contract, strict and predictable for the client:

- ``Content-Type: application/json``, body ``{"events": [ {kind, id, ts, …}, … ]}``;
  ``source`` may be left out (the token names it) and must match if given.
- All or nothing: if any event is invalid, none is taken, and the ``422`` reply
  lists every problem as ``{"index", "id", "field", "reason"}``. A valid batch
  gets ``200 {"accepted": n, "duplicates": d}``.
- ``400`` unreadable body, ``401`` no or unknown token, ``413`` body or batch
  too large, ``415`` not JSON, ``429`` over the source's rate (with
  ``Retry-After``). Text that is not valid Unicode (a lone surrogate such as
  ``"\\ud800"``, which JSON can spell but UTF-8 cannot) is a ``422`` naming the field.
- Idempotent: ids are the client's, namespaced by source; an id accepted in the
  last ``dedup_hours`` is acknowledged as a duplicate and not appended again,
  so a retried batch counts once (and the fold drops repeats as well). The ids
  are remembered as 16-byte digests in a store bounded to ``dedup_max_ids``
  (:meth:`wallboard.streams.Streams.claim_ids`): memory is capped whatever the rate.

The web process serves the route (:func:`routes`); with ``options.port`` set,
``wallboard collect`` runs it alone on that port instead (:func:`run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, field_validator
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wallboard.events import AgentLogin, AgentLogout, AgentStateChanged, AnyEvent
from wallboard.fold import FoldSettings
from wallboard.ratelog import RateLimitedLog
from wallboard.wire import EventError, decode, event_schemas

if TYPE_CHECKING:
    from wallboard.collectors import Configured
    from wallboard.collectors.runtime import CollectorContext
    from wallboard.streams import Streams

PREFIX = "/api/v1"
PATH = PREFIX + "/events"
SCHEMA_PATH = PREFIX + "/schema"
#: How long a request waits for Redis before answering 503 (the client retries; nothing is half-taken).
_REDIS_WAIT_S = 10.0


class Options(BaseModel):
    """``options:`` of an ``http`` collector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Bearer tokens for this source (more than one lets a token be rotated without downtime).
    tokens: tuple[str, ...] = Field(min_length=1)
    max_batch: int = Field(default=1_000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    #: Sustained events per second for this source, and the burst above it.
    rate_per_s: float = Field(default=2_000.0, gt=0)
    burst: int = Field(default=20_000, ge=1)
    #: How long an accepted id is remembered (0: not at all; the fold still drops repeats within an hour).
    dedup_hours: float = Field(default=3.0, ge=0, le=24 * 7)
    #: At most this many ids are remembered (about 60 bytes each in Redis); when full, the oldest quarter goes.
    dedup_max_ids: int = Field(default=2_000_000, ge=1_000, le=100_000_000)
    #: Serve the API alone on this port (``wallboard collect``); empty: the web process serves it.
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("tokens")
    @classmethod
    def _strong(cls, tokens: tuple[str, ...]) -> tuple[str, ...]:
        for i, token in enumerate(tokens):
            if len(token) < 16:
                raise ValueError(
                    f"token {i} is shorter than 16 characters (set it from the environment, e.g. ${{API_TOKEN}})"
                )
        return tokens


@dataclass(slots=True)
class _Bucket:
    """Token bucket: ``rate`` events a second, at most ``burst`` at once."""

    rate: float
    burst: float
    level: float
    at: float

    def take(self, n: int, now: float) -> float:
        """0 if ``n`` (at most ``burst``) events may pass now (and takes them), else seconds until they could."""
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= n:
            self.level -= n
            return 0.0
        return (n - self.level) / self.rate


@dataclass(slots=True)
class _Source:
    ctx: CollectorContext[Options]
    options: Options
    tokens: tuple[bytes, ...]
    bucket: _Bucket
    admission: Admission


@dataclass(frozen=True, slots=True)
class Admission:
    """The aggregator's rules for what it admits, checked up front so the client hears why.

    The aggregator applies the same rules again (by its own clock); refusing here
    only saves the client from an accepted batch that then counts for nothing.
    """

    settings: FoldSettings
    source: str

    def check(self, event: AnyEvent, now: float) -> None:
        """Raise :class:`EventError` if the aggregator would refuse ``event`` at ``now``."""
        s = self.settings
        if event.ts > now + s.max_skew_s:
            raise EventError(
                "ts",
                f"is {event.ts - now:.0f} s ahead of the wallboard's clock (at most "
                f"{s.max_skew_s:g} s, events.max_clock_skew_s): check the sender's clock",
            )
        if s.retain_s is not None and event.ts < now - s.retain_s:
            raise EventError(
                "ts", f"is older than the {s.retain_s / 86_400:g} days the wallboard keeps (events.retain_days)"
            )
        if self.source in s.discover:
            return  # (the aggregator caps what a discovering source may add)
        queue = getattr(event, "queue", "")
        if queue and s.queues is not None and queue not in s.queues:
            raise EventError("queue", "is not a queue of the wallboard's config", queue)
        if (
            isinstance(event, (AgentStateChanged, AgentLogin, AgentLogout))
            and s.agents is not None
            and event.agent not in s.agents
        ):
            raise EventError("agent", "is not an agent id of the wallboard's config")  # (a name: not quoted)


class Ingest:
    """The ingest endpoint for every ``http`` source of a config."""

    def __init__(self, contexts: list[CollectorContext[Options]], streams: Streams) -> None:
        self.streams = streams
        self.sources: list[_Source] = []
        for ctx in contexts:
            opts = ctx.options
            self.sources.append(
                _Source(
                    ctx,
                    opts,
                    tuple(hashlib.sha256(t.encode()).digest() for t in opts.tokens),
                    _Bucket(opts.rate_per_s, float(opts.burst), float(opts.burst), time.monotonic()),
                    Admission(FoldSettings.from_config(ctx.config), ctx.source),
                )
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
        source = self._authenticate(request)
        if source is None:
            return _error(401, "missing or unknown bearer token", {"WWW-Authenticate": 'Bearer realm="wallboard"'})
        ctx, opts, bucket = source.ctx, source.options, source.bucket
        wait = bucket.take(1, time.monotonic())  # every request costs, valid or not
        if wait > 0:
            return self._over_rate(ctx, opts, wait)
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
            ctx.reject(f"HTTP 413: batch of {len(raw)} events")
            return _error(413, f"batch of {len(raw)} events; at most {opts.max_batch} per request")
        events, errors = _validate(raw, ctx.source, source.admission, time.time())
        if errors:
            for err in errors[:10]:
                ctx.reject(f"HTTP 422: event {err['index']}: field {err['field']!r}: {err['reason']}")
            ctx.health.errors_total += max(0, len(errors) - 10)
            return _Json(
                {"error": f"{len(errors)} invalid event(s); none accepted", "accepted": 0, "errors": errors},
                status_code=422,
            )
        if len(events) > opts.burst:
            ctx.reject(f"HTTP 413: batch of {len(events)} events over the burst of {opts.burst}")
            return _error(413, f"batch of {len(events)} events exceeds this source's burst ({opts.burst})")
        wait = bucket.take(len(events) - 1, time.monotonic())
        if wait > 0:
            return self._over_rate(ctx, opts, wait)
        try:
            async with asyncio.timeout(_REDIS_WAIT_S):
                fresh = await self._claim(ctx, events, opts)
                try:
                    await ctx.emit(fresh)
                except BaseException:
                    with contextlib.suppress(Exception):  # let a retry take them
                        await asyncio.shield(self._release(ctx, fresh, opts))
                    raise
        except (TimeoutError, RedisError, OSError) as exc:
            ctx.reject(f"HTTP 503: Redis unavailable ({type(exc).__name__})")
            return _error(
                503, "the wallboard's Redis is unavailable; nothing was taken, retry later", {"Retry-After": "5"}
            )
        return _Json({"accepted": len(fresh), "duplicates": len(events) - len(fresh)})

    @staticmethod
    def _over_rate(ctx: CollectorContext[Options], opts: Options, wait: float) -> Response:
        ctx.reject(f"HTTP 429: over {opts.rate_per_s:g} events/s")
        return _error(
            429,
            f"over this source's rate of {opts.rate_per_s:g} events/s",
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )

    async def _claim(self, ctx: CollectorContext[Options], events: list[AnyEvent], opts: Options) -> list[AnyEvent]:
        """The events not taken before, each id claimed at once in the source's id store: of two
        concurrent retries of a batch, only one appends it."""
        unique: dict[str, AnyEvent] = {}
        for e in events:
            unique.setdefault(e.id, e)
        if opts.dedup_hours <= 0:
            return list(unique.values())
        kept = list(unique.values())
        fresh, early = await self.streams.claim_ids(
            id_store(ctx.source),
            [_digest(e.id) for e in kept],
            now=time.time(),
            horizon_s=opts.dedup_hours * 3600,
            max_ids=opts.dedup_max_ids,
        )
        if early:
            _full.warning(
                "ingest id store full",
                f"source {ctx.source!r} holds dedup_max_ids={opts.dedup_max_ids}; "
                f"ids are remembered for less than dedup_hours={opts.dedup_hours:g}",
            )
        return [kept[i] for i in fresh]

    async def _release(self, ctx: CollectorContext[Options], events: list[AnyEvent], opts: Options) -> None:
        if opts.dedup_hours > 0 and events:
            await self.streams.release_ids(id_store(ctx.source), [_digest(e.id) for e in events])


def id_store(source: str) -> str:
    """The name of a source's store of accepted ids (see :meth:`Streams.claim_ids`)."""
    return f"ingest:{source}"


def _digest(event_id: str) -> bytes:
    # 16 bytes whatever the id's length: a collision between two of even 10^9 remembered ids
    # has a probability of about 10^-21.
    return hashlib.blake2b(event_id.encode(), digest_size=16).digest()


_full = RateLimitedLog(logging.getLogger("wallboard.ingest"))


def _printable(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate shown as its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _not_unicode(item: dict[Any, Any]) -> str | None:
    """The first field of ``item`` whose name or text value is not valid Unicode (a lone surrogate)."""
    for key, value in item.items():
        for text in (key, value):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return _printable(key)
    return None


def _validate(
    raw: list[Any], source: str, admission: Admission | None = None, now: float = 0.0
) -> tuple[list[AnyEvent], list[dict[str, Any]]]:
    events: list[AnyEvent] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        eid = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise EventError("(event)", "must be a JSON object")
            bad = _not_unicode(item)
            if bad is not None:
                if isinstance(eid, str) and _not_unicode({"id": eid}) is not None:
                    eid = None  # (the reply could not carry it)
                raise EventError(bad, "is not valid Unicode text (a lone surrogate such as \\ud800)")
            if "kind" not in item:  # (and never the stream's packed form: it would bypass the checks)
                raise EventError("kind", "is missing")
            given = item.get("source")
            if given is not None and given != source:
                raise EventError("source", f"must be {source!r} (the token's source) or left out", given)
            if not isinstance(eid, str) or not eid:
                raise EventError("id", "must be a non-empty text (your own unique id: retries reuse it)", eid)
            data = {**item, "source": source, "id": f"{source}:{eid}"}
            event = decode(data, allow_unknown=False)
            if admission is not None:
                admission.check(event, now)
            events.append(event)
        except EventError as exc:
            errors.append(
                {
                    "index": i,
                    "id": eid if isinstance(eid, str) else None,
                    "field": exc.field,
                    "reason": str(exc).split(": ", 1)[1],
                }
            )
    return events, errors


class _Json(JSONResponse):
    """JSON whose text is always encodable: a lone surrogate that got into a message is escaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode(
            "utf-8", "backslashreplace"
        )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return _Json({"error": message}, status_code=status, headers=headers)


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a request body, made from the event definitions themselves."""
    variants = []
    for variant in event_schemas().values():
        props = {**variant["properties"], "source": {"type": "string", "description": "optional: the token's source"}}
        variants.append({**variant, "properties": props, "required": [r for r in variant["required"] if r != "source"]})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "wallboard ingest batch (POST /api/v1/events)",
        "type": "object",
        "properties": {"events": {"type": "array", "minItems": 1, "items": {"oneOf": variants}}},
        "required": ["events"],
        "additionalProperties": True,
    }


async def schema(request: Request) -> Response:
    return JSONResponse(json_schema())


def routes(ingest: Ingest) -> list[Route]:
    return [Route(PATH, ingest.handle, methods=["POST"]), Route(SCHEMA_PATH, schema, methods=["GET"])]


def served_by_web(collectors: Sequence[Configured]) -> list[Configured]:
    """The enabled ``http`` collectors the web process serves (those without their own port)."""
    return [c for c in collectors if c.spec.enabled and isinstance(c.options, Options) and c.options.port is None]


async def run(ctx: CollectorContext[Options]) -> None:
    """Serve the ingest API alone on ``options.port`` (``wallboard collect --source NAME``)."""
    opts = ctx.options
    if opts.port is None:
        raise RuntimeError(f"{ctx.source}: served by `wallboard web` at {PATH}; set options.port to serve it alone")
    from wallboard.guard import ConnectionGuard, limits_for, protocols, raise_open_file_limit

    app = Starlette(routes=routes(Ingest([ctx], ctx.streams)))
    # The web process's connection limits (web.*) hold here too: the port is as exposed.
    web = ctx.config.web
    raise_open_file_limit()
    guard = ConnectionGuard(limits_for(web.max_connections, web.max_connections_per_client, web.handshake_timeout_s))
    guarded_http, _ = protocols(guard)
    server = _Server(
        uvicorn.Config(
            app,
            host=opts.host,
            port=opts.port,
            log_level="warning",
            http=guarded_http,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
    )
    ctx.log.info("ingest API on http://%s:%d%s", opts.host, opts.port, PATH)
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True  # finish requests in flight and close the socket, then stop
        await serving
        raise
    if not server.started:
        raise OSError(f"could not serve on {opts.host}:{opts.port}")


class _Server(uvicorn.Server):
    """uvicorn inside a collector: the command running it owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


if __name__ == "__main__":  # python -m wallboard.collectors.http > docs/ingest.schema.json
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
