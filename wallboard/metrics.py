"""Prometheus metrics of every process, defined here once, and the ways to expose them.

Every metric of the project is a module-level object below, named ``wallboard_…`` with its
unit in its name (``_seconds``, ``_bytes``, ``_entries``, ``_total``). Labels are bounded:
a source name from the config (:func:`source_label` folds any other to ``other``), a view
kind (``wall``, ``team``, ``manager``), a refusal reason or HTTP status from a fixed list,
an operation kind — never an agent, a caller, a queue read from input, an address or a user.

One definition serves both modes of the official client:

- the normal registry (``prometheus_client.REGISTRY``, with its process and platform
  collectors: ``process_start_time_seconds`` …), for the collectors, the aggregator and a
  web process of one worker;
- multiprocess mode, when ``PROMETHEUS_MULTIPROC_DIR`` is set before this module (or
  ``prometheus_client``) is first imported: each worker of ``wallboard web --workers N``
  writes its values to files there and a scrape, whichever worker it lands on, reads them
  all (:class:`prometheus_client.multiprocess.MultiProcessCollector`): counters and
  histograms summed, gauges as their ``multiprocess_mode`` says (``livesum`` for screens and
  connections). The parent that runs the workers empties the directory before starting
  them (:func:`prepare_multiprocess_dir`) and calls :func:`process_exited` for each worker
  that ends.

Figures that are cheaper to read than to count (the aggregator's totals, held in its state
anyway) are read at scrape time (:func:`watch_aggregator`); ``wallboard_web_snapshot_age_seconds``
is computed at scrape time from the newest snapshot time each worker holds, so it grows while
no snapshot arrives.

Exposition: :func:`serve` for the processes without an HTTP server of their own (an asyncio
server in the process's own loop: a scrape reads the figures between two steps, never while
they change), :func:`metrics_route` for the web process's ``/metrics``, :func:`exposition`
for the text itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import values as _values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from starlette.routing import Route

log = logging.getLogger("wallboard.metrics")

disable_created_metrics()  # type: ignore[no-untyped-call]  # (a *_created series per counter: noise for every dashboard)

#: Where a scrape of the web process is answered, and the content type of every answer.
PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

ROLES = ("collect", "aggregate", "web", "ingest")
VIEWS = ("wall", "team", "manager")
#: Redis operation kinds (anything else is counted as ``other``).
OPERATIONS = (
    "append",
    "health",
    "cursor",
    "ids",
    "snapshot_read",
    "read",
    "commit",
    "publish",
    "lease",
    "stream_lag",
    "other",
)
REFUSAL_REASONS = ("future", "late", "unconfigured_queue", "unconfigured_agent")
OTHER = "other"

# Fold times (a batch of up to 5 000 events: ~0.1 ms to ~1 s) and batch sizes.
_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ENTRIES_BUCKETS = (1, 5, 10, 50, 100, 500, 1000, 2500, 5000, 10000)

# --------------------------------------------------------------- every process

PROCESS_INFO = Gauge(
    "wallboard_process_info",
    "1 per running wallboard process, by role and version (summed over a web's workers)",
    ["role", "version"],
    multiprocess_mode="livesum",
)
PROCESS_START = Gauge(
    "wallboard_process_start_time_seconds",
    "Unix time the newest of the scraped processes started (a change is a restart)",
    multiprocess_mode="livemax",
)
REDIS_ERRORS = Counter(
    "wallboard_redis_errors_total",
    "Redis calls that failed (unreachable, full, refused), by operation kind",
    ["operation"],
)

# ------------------------------------------------------------------ collectors

COLLECTOR_EVENTS = Counter(
    "wallboard_collector_events_total", "Events a collector appended to the stream, by source", ["source"]
)
COLLECTOR_REJECTED = Counter(
    "wallboard_collector_rejected_total",
    "Input a collector refused as bad (lines, frames, requests), by source",
    ["source"],
)
COLLECTOR_RETRIES = Counter(
    "wallboard_collector_redis_retries_total",
    "Redis writes a collector had to retry (events held, never dropped), by source",
    ["source"],
)

# ------------------------------------------------------------------ aggregator

FOLD_SECONDS = Histogram(
    "wallboard_aggregator_fold_seconds", "Time to fold one batch read from the stream", buckets=_SECONDS_BUCKETS
)
BATCH_ENTRIES = Histogram(
    "wallboard_aggregator_batch_entries", "Entries in one batch read from the stream", buckets=_ENTRIES_BUCKETS
)
CHECKPOINT_SECONDS = Histogram(
    "wallboard_aggregator_checkpoint_seconds",
    "Time to save a checkpoint and acknowledge its entries",
    buckets=_SECONDS_BUCKETS,
)
SNAPSHOT_BUILD_SECONDS = Histogram(
    "wallboard_aggregator_snapshot_build_seconds", "Time to build one snapshot", buckets=_SECONDS_BUCKETS
)
SNAPSHOT_BYTES = Gauge(
    "wallboard_aggregator_snapshot_bytes", "Size of the last snapshot published (JSON, UTF-8)", multiprocess_mode="max"
)
SNAPSHOTS_PUBLISHED = Counter("wallboard_aggregator_snapshots_published_total", "Snapshots published")
STREAM_LAG = Gauge(
    "wallboard_aggregator_stream_lag_entries",
    "Entries of the event stream not yet read by the aggregator's group (at least this many above 1000 on Redis < 7)",
    multiprocess_mode="max",
)
STREAM_LAG_SECONDS = Gauge(
    "wallboard_aggregator_stream_lag_seconds",
    "Age of the oldest entry not yet read by the aggregator's group (0 when all is read)",
    multiprocess_mode="max",
)
STREAM_PENDING = Gauge(
    "wallboard_aggregator_stream_pending_entries",
    "Entries read by the group and not yet acknowledged (folded since the last checkpoint)",
    multiprocess_mode="max",
)
AGGREGATOR_ACTIVE = Gauge(
    "wallboard_aggregator_active",
    "1 while this aggregator holds the lease and folds, 0 on standby",
    multiprocess_mode="max",
)
TAKEOVERS = Counter(
    "wallboard_aggregator_takeovers_total",
    "Times this aggregator took the lease after another holder (or an earlier run of it) had it",
)

# ------------------------------------------------------------------------- web

SCREENS = Gauge(
    "wallboard_web_screens", "Screens subscribed to the hub, by view", ["view"], multiprocess_mode="livesum"
)
MESSAGES_SENT = Counter("wallboard_web_messages_sent_total", "View messages written to screens (full or patch)")
MESSAGES_REPLACED = Counter(
    "wallboard_web_messages_replaced_total", "Snapshots a slow screen never got because a newer one came first"
)
SENT_BYTES = Counter("wallboard_web_sent_bytes_total", "Bytes of view messages written to screens")
SNAPSHOT_TIME = Gauge(
    "wallboard_web_snapshot_timestamp_seconds",
    "Aggregator time of the newest snapshot the hub holds (the oldest over a web's workers)",
    multiprocess_mode="liveall",
)
CONNECTIONS_OPEN = Gauge(
    "wallboard_web_connections_open", "Connections open to the web process", multiprocess_mode="livesum"
)
CONNECTIONS_REFUSED = Counter(
    "wallboard_web_connections_refused_total",
    "Connections refused by the guard: max_connections (every one in use) or per_client",
    ["reason"],
)
CONNECTIONS_CLOSED = Counter(
    "wallboard_web_connections_closed_total",
    "Connections the guard closed: evicted (idle, to make room) or idle (no request in time)",
    ["reason"],
)
WS_REFUSED = Counter(
    "wallboard_web_ws_refused_total", "WebSockets closed for what a screen never sends, by close code", ["code"]
)
INGEST_REQUESTS = Counter(
    "wallboard_ingest_requests_total",
    "Requests to the ingest API by source and HTTP status (source 'none': no known token)",
    ["source", "status"],
)
INGEST_ACCEPTED = Counter(
    "wallboard_ingest_events_accepted_total", "Events the ingest API took and appended, by source", ["source"]
)
INGEST_DUPLICATES = Counter(
    "wallboard_ingest_events_duplicate_total",
    "Events the ingest API acknowledged as already taken, by source",
    ["source"],
)
INGEST_REFUSED = Counter(
    "wallboard_ingest_events_refused_total",
    "Events of refused batches (invalid, too many, over the rate, Redis down), by source",
    ["source"],
)

#: What a status of the ingest API is counted as (anything else: ``other``).
INGEST_STATUSES = ("200", "400", "401", "413", "415", "422", "429", "503")
WS_CODES = ("1003", "1008", "1009", "4403")

# ------------------------------------------------------- the scrape-time figures


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family read at scrape time rather than kept by a metric object."""

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...] = ()


EVENTS_FOLDED = Family("wallboard_aggregator_events_folded_total", "counter", "Events folded into the state")
DUPLICATES = Family("wallboard_aggregator_duplicates_total", "counter", "Events dropped as repeats of an event id")
REJECTED = Family("wallboard_aggregator_rejected_total", "counter", "Stream entries that could not be decoded")
REFUSED = Family(
    "wallboard_aggregator_refused_total",
    "counter",
    "Events refused by the fold, by source and reason",
    ("source", "reason"),
)
SNAPSHOT_AGE = Family(
    "wallboard_web_snapshot_age_seconds",
    "gauge",
    "Seconds since the aggregator made the newest snapshot the hub holds (the oldest over a web's workers)",
)
SCRAPE_TIME_FAMILIES = (EVENTS_FOLDED, DUPLICATES, REJECTED, REFUSED, SNAPSHOT_AGE)


def families() -> dict[str, str]:
    """Every metric family of the project: name → type (the dashboard and MONITORING.md show each)."""
    out: dict[str, str] = {}
    for value in globals().values():
        if isinstance(value, Counter | Gauge | Histogram):
            name = value._name  # (without _total)
            kind = value._type
            out[name + "_total" if kind == "counter" else name] = kind
    out.update({f.name: f.kind for f in SCRAPE_TIME_FAMILIES})
    return out


# ------------------------------------------------------------------- recording


def version() -> str:
    try:
        return metadata.version("wallboard")
    except metadata.PackageNotFoundError:
        return "unknown"


def started(role: str) -> None:
    """This process is a ``role`` (one of :data:`ROLES`): its info and start time."""
    if role not in ROLES:
        raise ValueError(f"metrics: unknown process role {role!r}; one of {', '.join(ROLES)}")
    PROCESS_INFO.labels(role, version()).set(1)
    PROCESS_START.set(_process_start_time())


def _process_start_time() -> float:
    """When this process started (from /proc, as the default process collector reads it)."""
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()
        ticks = os.sysconf("SC_CLK_TCK")
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1]) + int(stat[19]) / ticks
    except (OSError, ValueError, IndexError):
        pass
    return time.time()


def redis_error(operation: str) -> None:
    """Count a failed Redis call of ``operation`` (one of :data:`OPERATIONS`)."""
    REDIS_ERRORS.labels(operation if operation in OPERATIONS else OTHER).inc()


def source_label(source: str, known: Collection[str]) -> str:
    """``source`` if it is one of ``known`` (the config's sources), else ``other``."""
    return source if source in known else OTHER


def screen_connected(view: str) -> None:
    SCREENS.labels(view if view in VIEWS else OTHER).inc()


def screen_gone(view: str) -> None:
    SCREENS.labels(view if view in VIEWS else OTHER).dec()


def ws_refused(code: int) -> None:
    text = str(code)
    WS_REFUSED.labels(text if text in WS_CODES else OTHER).inc()


def ingest_answered(source: str, status: int) -> None:
    """Count an answer of the ingest API (``source``: a configured one, or ``none``)."""
    text = str(status)
    INGEST_REQUESTS.labels(source, text if text in INGEST_STATUSES else OTHER).inc()


@contextlib.contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the time the block takes in ``histogram`` (also when it raises)."""
    started_at = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started_at)


def fold_batch(entries: int, seconds: float) -> None:
    """One batch read and folded by the aggregator: its size and the time the fold took."""
    BATCH_ENTRIES.observe(entries)
    FOLD_SECONDS.observe(seconds)


def snapshot_published(size_bytes: int, build_seconds: float) -> None:
    """A snapshot the aggregator published: its size and the time building it took."""
    SNAPSHOTS_PUBLISHED.inc()
    SNAPSHOT_BYTES.set(size_bytes)
    SNAPSHOT_BUILD_SECONDS.observe(build_seconds)


def hub_snapshot(now: float | None) -> None:
    """The hub holds a snapshot made at aggregator time ``now`` (its ``now`` field)."""
    if now is not None:
        SNAPSHOT_TIME.set(float(now))


class HubCounts:
    """The hub's own counters carried into the metrics once per broadcast (never per screen):
    what grew since the last call is added."""

    __slots__ = ("messages", "replaced", "bytes")

    def __init__(self) -> None:
        self.messages = self.replaced = self.bytes = 0

    def flush(self, messages: int, replaced: int, sent_bytes: int) -> None:
        if messages > self.messages:
            MESSAGES_SENT.inc(messages - self.messages)
        if replaced > self.replaced:
            MESSAGES_REPLACED.inc(replaced - self.replaced)
        if sent_bytes > self.bytes:
            SENT_BYTES.inc(sent_bytes - self.bytes)
        self.messages, self.replaced, self.bytes = messages, replaced, sent_bytes


# -------------------------------------------------------------- the stream lag


async def read_stream_lag(redis: Any, key: str, group: str = "aggregator", cap: int = 1000) -> int:
    """Read the group's lag on stream ``key`` from Redis into the lag gauges; the lag in entries.

    ``XINFO GROUPS`` gives the lag on Redis 7+; on Redis 6.2 (the embedded one) it is counted
    from the entries after the group's last delivered one, up to ``cap`` (a lag of ``cap`` means
    at least that). The age of the oldest unread entry is read from its id (milliseconds).
    Raises what the Redis client raises (counted as a ``stream_lag`` error)."""
    try:
        try:
            groups = await redis.xinfo_groups(key)
        except Exception as exc:  # no stream yet (before the first event): no lag, no error
            if "no such key" not in str(exc).lower():
                raise
            groups = []
        info = next((g for g in groups if _text(g.get("name", "")) == group), None)
        if info is None:
            STREAM_LAG.set(0)
            STREAM_LAG_SECONDS.set(0)
            STREAM_PENDING.set(0)
            return 0
        last = _text(info.get("last-delivered-id") or "0-0")
        unread = await redis.xrange(key, min=f"({last}", max="+", count=cap)
        lag_value = info.get("lag")
        lag = int(lag_value) if lag_value is not None else len(unread)
    except Exception:
        redis_error("stream_lag")
        raise
    oldest = float(_text(unread[0][0]).partition("-")[0]) / 1000.0 if unread else None
    STREAM_LAG.set(lag)
    STREAM_LAG_SECONDS.set(max(0.0, time.time() - oldest) if oldest is not None else 0.0)
    STREAM_PENDING.set(int(info.get("pending", 0)))
    return lag


async def watch_stream_lag(redis: Any, key: str, group: str = "aggregator", every_s: float = 1.0) -> None:
    """:func:`read_stream_lag` every ``every_s`` until cancelled (a Redis failure waits for the next read)."""
    while True:
        with contextlib.suppress(Exception):
            await read_stream_lag(redis, key, group)
        await asyncio.sleep(every_s)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ------------------------------------------------ the aggregator at scrape time


@dataclass(frozen=True, slots=True)
class FoldFigures:
    """The aggregator's totals as its state holds them (read at scrape time)."""

    applied: int
    duplicates: int
    rejected: int
    refused: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


class _AggregatorCollector(Collector):
    def __init__(self, read: Callable[[], FoldFigures], sources: Collection[str]) -> None:
        self.read = read
        self.sources = frozenset(sources)

    def collect(self) -> Iterable[Metric]:
        figures = self.read()
        for family, value in (
            (EVENTS_FOLDED, figures.applied),
            (DUPLICATES, figures.duplicates),
            (REJECTED, figures.rejected),
        ):
            metric = CounterMetricFamily(family.name.removesuffix("_total"), family.help)
            metric.add_metric([], value)
            yield metric
        refused = CounterMetricFamily(REFUSED.name.removesuffix("_total"), REFUSED.help, labels=REFUSED.labels)
        totals: dict[tuple[str, str], int] = {}
        for source, reasons in list(figures.refused.items()):
            label = source_label(source, self.sources)
            for reason, n in list(reasons.items()):
                key = (label, reason if reason in REFUSAL_REASONS else OTHER)
                totals[key] = totals.get(key, 0) + int(n)
        for (source, reason), n in sorted(totals.items()):
            refused.add_metric([source, reason], n)
        yield refused


_watched: list[Collector] = []


def watch_aggregator(read: Callable[[], FoldFigures], sources: Collection[str]) -> None:
    """Read the aggregator's totals with ``read`` at each scrape (``sources``: the config's
    source names; any other is labelled ``other``). A second call replaces the first."""
    unwatch_aggregator()
    collector = _AggregatorCollector(read, sources)
    REGISTRY.register(collector)
    _watched.append(collector)


def unwatch_aggregator() -> None:
    while _watched:
        REGISTRY.unregister(_watched.pop())


# ----------------------------------------------------------------- exposition


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when this process writes its values there."""
    path = os.environ.get(MULTIPROC_ENV) or None
    if path is not None and not getattr(_values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            f"${MULTIPROC_ENV} was set after prometheus_client was imported: set it before the "
            "process starts (the workers' values would not be shared)"
        )
    return path


def prepare_multiprocess_dir(path: str | Path) -> Path:
    """An empty multiprocess directory at ``path`` (the values of an earlier run removed): for the
    parent of the web's workers, before it starts them with ``PROMETHEUS_MULTIPROC_DIR=path``."""
    directory = Path(path)
    if directory.exists():
        for entry in directory.glob("*.db"):
            entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def process_exited(pid: int, path: str | Path | None = None) -> None:
    """A worker ``pid`` is gone: its live gauges (screens, connections, info) stop counting."""
    directory = path or os.environ.get(MULTIPROC_ENV)
    if directory:
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


class _Derived(Collector):
    """The families of ``source``, with the snapshot time reduced to the oldest over workers and
    the snapshot age computed now from it."""

    def __init__(self, source: Any, clock: Callable[[], float]) -> None:
        self.source = source
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        for metric in self.source.collect():
            if metric.name != SNAPSHOT_TIME._name:
                yield metric
                continue
            held = [s.value for s in metric.samples if s.value > 0]
            stamp = GaugeMetricFamily(metric.name, metric.documentation)
            age = GaugeMetricFamily(SNAPSHOT_AGE.name, SNAPSHOT_AGE.help)
            if held:
                stamp.add_metric([], min(held))
                age.add_metric([], round(max(0.0, self.clock() - min(held)), 3))
            yield stamp
            yield age


def scrape_registry(path: str | Path | None = None, clock: Callable[[], float] = time.time) -> CollectorRegistry:
    """What a scrape reads: this process's registry, or with ``path`` (default: the multiprocess
    directory, when set) every process's values written there."""
    directory = path or multiprocess_dir()
    source: Any = REGISTRY
    if directory:
        source = MultiProcessCollector(CollectorRegistry(auto_describe=False), str(directory))  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Derived(source, clock))
    return registry


def exposition(path: str | Path | None = None) -> bytes:
    """The text format of every metric (see :func:`scrape_registry`)."""
    return generate_latest(scrape_registry(path))


# ---------------------------------------------------------- serving a process


def _answer(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8", *extra: str) -> bytes:
    head = [
        f"HTTP/1.1 {status}",
        f"content-type: {content_type}",
        f"content-length: {len(body)}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _authorized(headers: Mapping[str, str], token: str) -> bool:
    given = headers.get("authorization", "")
    return not token or hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def serve(port: int, host: str = "127.0.0.1", *, token: str = "") -> asyncio.Server:
    """Serve :func:`exposition` at ``http://host:port/metrics`` in this process's event loop
    (close the returned server to stop). With ``token``, a scrape must send
    ``Authorization: Bearer <token>``. One request per connection, read within 5 s."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5.0):
                head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, *_ = [*request_line.split(" "), "", ""]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            if target.partition("?")[0] != PATH:
                answer = _answer("404 Not Found", b"not found: metrics are at /metrics\n")
            elif method not in ("GET", "HEAD"):
                answer = _answer("405 Method Not Allowed", b"GET /metrics\n", "text/plain; charset=utf-8", "allow: GET")
            elif not _authorized(headers, token):
                answer = _answer(
                    "401 Unauthorized",
                    b"metrics need Authorization: Bearer <token>\n",
                    "text/plain; charset=utf-8",
                    'www-authenticate: Bearer realm="wallboard"',
                )
            else:
                body = exposition()
                answer = _answer("200 OK", b"" if method == "HEAD" else body, CONTENT_TYPE)
            writer.write(answer)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port, limit=16 * 1024)
    log.info("metrics at http://%s:%d%s", host, port, PATH)
    return server


def metrics_route(may_read: Callable[[Any], bool], role: str = "web") -> Route:
    """The web process's ``/metrics`` route (a Starlette ``Route``): the exposition for a request
    ``may_read`` allows (the rule of ``/healthz`` in full), else 401. Marks the process a ``role``."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    started(role)

    async def endpoint(request: Request) -> Response:
        if not may_read(request):
            return PlainTextResponse(
                "metrics need a signed-in admin or Authorization: Bearer <web.health_token>\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="wallboard"', "cache-control": "no-store"},
            )
        return Response(exposition(), media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})

    return Route(PATH, endpoint, methods=["GET"])


def remove_multiprocess_dir(path: str | Path) -> None:
    """Remove a multiprocess directory (the parent of the workers, once all have ended)."""
    shutil.rmtree(path, ignore_errors=True)
