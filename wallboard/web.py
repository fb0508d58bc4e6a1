"""The web process: one ASGI app serving the Dash pages, ``/ws``, ``/healthz`` and the ingest API.

Starlette owns the lifespan (the hub's Redis reader starts and stops with it,
and so does the health report of each ``http`` source this process serves) and
routes ``/ws``, ``/healthz`` and the ingest API (:mod:`wallboard.ingest`)
itself; everything else goes to Dash on its FastAPI backend, mounted at ``/``.
Screens never call back into the server once a page has loaded: the hub
pushes, the browser renders.

In front of the routes stands the gate (:mod:`wallboard.doors`: who the
request comes from, and what it may open), and in front of that the security
headers of every answer (:mod:`wallboard.headers`). Under uvicorn
(:func:`server_config`) every connection goes through the connection guard
first (:mod:`wallboard.guard`: a cap in all and per address, idle connections
closed); a ``/ws`` that does not subscribe in time, or whose
first message is not a subscription, is closed with a code and counted, with one
log line per reason a minute at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from wallboard import metrics
from wallboard.access import may_subscribe
from wallboard.collectors import Configured, configure
from wallboard.collectors.runtime import report_health
from wallboard.config import Config
from wallboard.doors import SCOPE_KEY, Doors, Gate
from wallboard.guard import guard_for, protocols, raise_open_file_limit
from wallboard.headers import SecurityHeaders, dash_script_hashes
from wallboard.hub import Hub
from wallboard.ingest import PATHS as ingest_paths
from wallboard.ingest.routes import Ingest
from wallboard.ingest.routes import routes as ingest_routes
from wallboard.push import sink_for
from wallboard.streams import Streams, connect, redact_url
from wallboard.views import MAX_SUBSCRIBE_BYTES, Selector, SubscribeError, parse_subscribe

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("wallboard.web")


#: What /healthz shows of the snapshot's pipeline figures (unconfigured agents only counted).
_PIPELINE_HEALTH = (
    "applied",
    "duplicates",
    "rejected",
    "refused",
    "unconfigured_queues",
    "unconfigured_queues_unnamed",
    "unconfigured_agents",
    "discovered",
)


def create_app(config: Config, redis_url: str, collectors: Sequence[Configured] | None = None) -> Gate:
    """The ASGI app for ``config``, reading snapshots from ``redis_url``.

    ``collectors``: the configured collectors with typed options (validated here if not given).
    """
    configured = configure(config) if collectors is None else collectors
    from wallboard.layouts import build_dash
    from wallboard.layouts.lite import lite_page

    dash_app = build_dash(config)
    teams = {t.id for t in config.teams}
    screens = {s.id for s in config.screens} | {"all"}
    web = config.web
    guard = guard_for(web)
    # /metrics answers as /healthz in full does (an admin, or the health token): the gate lets it
    # through to its route, which decides.
    doors = Doors(config, open_paths=(*ingest_paths, metrics.PATH))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics.started("web")
        client = connect(redis_url)
        streams = Streams.configured(client, config.redis)
        hub = Hub(streams, heartbeat_s=config.web.heartbeat_s)
        app.state.hub = hub
        ingest = app.state.ingest = Ingest.for_web(config, configured, streams)
        tasks = [asyncio.create_task(hub.run(), name="hub"), asyncio.create_task(hub.run_heartbeats(), name="beats")]
        tasks.append(asyncio.create_task(doors.run(client), name="doors"))
        tasks += [asyncio.create_task(report_health(ctx), name=f"health {ctx.source}") for ctx in ingest.contexts]
        log.info(
            "web process serving http://%s:%d/ (snapshots from %s)%s",
            config.web.host,
            config.web.port,
            redact_url(redis_url),
            " in OPEN mode: no sign-in, every screen open to anyone who can reach it" if config.auth.open else "",
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.aclose()

    async def healthz(request: Request) -> JSONResponse:
        hub: Hub = request.app.state.hub
        latest = hub.latest or {}
        sources = latest.get("sources", {})
        pipeline = latest.get("pipeline", {})
        errors = pipeline.get("source_errors", {})
        age = None
        if latest.get("now") is not None:
            age = round(time.time() - float(latest["now"]), 3)
        fresh = hub.connected and age is not None and age <= config.web.stale_after_s
        status = 200 if fresh else 503
        if not _may_read_health(request):  # the public learns only whether the screens are live
            return JSONResponse({"status": "ok" if fresh else "stale"}, status_code=status)
        body = {
            "status": "ok" if fresh and not any(s.get("stale") for s in sources.values()) else "degraded",
            "redis": hub.connected,
            "snapshot_seq": latest.get("seq"),
            "snapshot_age_s": age,
            "screens_connected": len(hub.subscribers),
            # The sources as screens see them, plus each one's last error (reason and line
            # number only: no source text), which screens never receive.
            "sources": {name: {**s, "last_error": errors.get(name, "")} for name, s in sources.items()},
            "events": {k: pipeline[k] for k in _PIPELINE_HEALTH if k in pipeline},
            "bytes_sent": hub.bytes_sent,
            "bytes_if_full": hub.bytes_full,
            "messages_sent": hub.messages_sent,
            "messages_replaced": hub.replaced,
            "connections": guard.stats(),
        }
        return JSONResponse(body, status_code=status)

    def _may_read_health(request: Request) -> bool:
        who = request.scope.get("state", {}).get(SCOPE_KEY)
        if who is not None and who.grant.admin:
            return True
        token = request.headers.get("authorization", "")
        return bool(web.health_token) and hmac.compare_digest(token.encode(), f"Bearer {web.health_token}".encode())

    def subscription(message: Mapping[str, Any]) -> Selector:
        selector = parse_subscribe(message)
        if selector.view == "team" and selector.team not in teams:
            raise SubscribeError(1008, "unknown team", f"unknown team {selector.team!r}")
        if selector.view == "wall" and not set(selector.screens) <= screens:
            raise SubscribeError(1008, "unknown screen")
        return selector

    async def ws_endpoint(websocket: WebSocket) -> None:
        hub: Hub = websocket.app.state.hub
        await websocket.accept()
        try:
            first = await asyncio.wait_for(websocket.receive(), web.subscribe_timeout_s)
            if first["type"] == "websocket.disconnect":
                return
            selector = subscription(first)
        except (TimeoutError, SubscribeError) as exc:
            if isinstance(exc, SubscribeError):
                code, reason, told = exc.code, exc.reason, str(exc)
            else:
                code, reason = 1008, "no subscribe in time"
                told = f"no subscribe message within {web.subscribe_timeout_s:g} s"
            guard.frame_refused(code, reason)
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # (it may be gone already)
                await websocket.close(code=code, reason=_close_reason(told))
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        who = doors.principal(websocket)
        if who is None or not may_subscribe(who.grant, selector):
            doors.refused(who, websocket, f"/ws {selector.key}", "subscription not in grant")
            guard.frame_refused(4403, "not allowed")
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.close(code=4403, reason="not allowed")
            return
        doors.opened(websocket, who)
        sink = sink_for(websocket)
        sub = hub.subscribe(selector, sink)
        try:  # the hub writes; the client only talks to subscribe, so read (and drop) until it goes away
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            hub.unsubscribe(sub)
            doors.closed(websocket)

    page = _DashIndex(dash_app.server)

    async def tv_lite(request: Request) -> Response:
        html = lite_page(config, request.path_params["screen"])
        if html is None:
            return PlainTextResponse("unknown screen", status_code=404)
        return HTMLResponse(html, headers={"cache-control": "no-cache, private"})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        metrics.metrics_route(_may_read_health),
        *doors.routes(),
        *ingest_routes(),
        WebSocketRoute("/ws", ws_endpoint),
        Route("/wall/{screen}", page),
        Route("/tv/{screen}", tv_lite),
        Route("/team/{team}", page),
        Route("/manager", page),
        Mount("/", app=dash_app.server),
    ]
    inner = Starlette(routes=routes, lifespan=lifespan)
    inner.state.guard = guard
    inner.state.doors = doors
    inner.state.script_hashes = dash_script_hashes(dash_app)  # (after Dash's first-request setup)
    return doors.wrap(inner)


def _close_reason(text: str) -> str:
    """``text`` cut to what a close frame carries (123 bytes of UTF-8, RFC 6455 §5.5)."""
    return text.encode("utf-8", "backslashreplace")[:120].decode("utf-8", "ignore")


class _DashIndex:
    """Serves Dash's index page for a page path: Dash draws the page the URL names.

    The request goes through Dash's own ASGI app (so its request context is set),
    with the path rewritten to ``/``.
    """

    def __init__(self, dash_asgi: Any) -> None:
        self.dash_asgi = dash_asgi

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.dash_asgi({**scope, "path": "/", "raw_path": b"/"}, receive, send)


def server_config(config: Config, redis_url: str, collectors: Sequence[Configured] | None = None) -> uvicorn.Config:
    """uvicorn's settings for the web process (``wallboard web``, the tests, the benchmarks)."""
    import uvicorn

    app = create_app(config, redis_url, collectors)
    http, ws = protocols(app.state.guard)
    # Every http answer compressed when the browser takes gzip (Dash's bundles are megabytes; a TV's
    # link may be slow), and carrying the security headers (the gate's own answers too).
    compressed = GZipMiddleware(app, minimum_size=1024, compresslevel=6)
    compressed.state = app.state  # type: ignore[attr-defined]  # (what reads app.state finds it)
    return uvicorn.Config(
        SecurityHeaders(compressed, script_hashes=app.state.script_hashes),
        host=config.web.host,
        port=config.web.port,
        log_level="warning",
        http=http,  # uvicorn's own, behind the connection guard (wallboard.guard)
        ws=ws,  # the hub writes one shared frame to every socket (wallboard.push)
        ws_max_size=MAX_SUBSCRIBE_BYTES,  # a screen only ever sends its subscribe message
        ws_per_message_deflate=False,  # one shared frame per change; compressing per client costs CPU
        ws_ping_interval=None,  # our own heartbeat carries data the page uses
        timeout_graceful_shutdown=5,
        # Behind a reverse proxy: believe its X-Forwarded-For/-Proto (the client's address for the
        # limits and the audit log; https for Secure cookies) only from the configured addresses.
        proxy_headers=bool(config.web.trusted_proxies),
        forwarded_allow_ips=list(config.web.trusted_proxies)
        or None,  # screens reconnect by themselves: never hang on one
        lifespan="on",
    )


def serve(
    config: Config,
    redis_url: str,
    collectors: Sequence[Configured] | None = None,
    *,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Run the web process with uvicorn until interrupted; on ``sockets`` (already listening: a
    worker of ``wallboard web --workers``, see :mod:`wallboard.workers`) if given, else on web.host:port."""
    import uvicorn

    raise_open_file_limit()  # before the limits are set: they leave a tenth of it spare
    uvicorn.Server(server_config(config, redis_url, collectors)).run(sockets=sockets)
