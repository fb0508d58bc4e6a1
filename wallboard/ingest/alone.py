"""The ingest API served alone on its own port: ``wallboard collect --source NAME`` with ``options.port`` set.

The collector runtime runs it like any source (:func:`run` is the ``http``
collector's ``run``, restarted if it crashes, its health reported every second);
the web process's connection limits (``web.*``) hold here too, as the port is
as exposed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from wallboard.collectors.runtime import CollectorContext
from wallboard.guard import guard_for, protocols, raise_open_file_limit
from wallboard.ingest import PATH
from wallboard.ingest.options import Options
from wallboard.ingest.routes import Ingest, routes


async def run(ctx: CollectorContext[Options]) -> None:
    """Serve the ingest API of ``ctx``'s source alone on ``options.port`` until cancelled."""
    opts = ctx.options
    if opts.port is None:
        raise RuntimeError(f"{ctx.source}: served by `wallboard web` at {PATH}; set options.port to serve it alone")
    app = Starlette(routes=routes())
    app.state.ingest = Ingest([ctx])
    raise_open_file_limit()  # before the limits are set: they leave a tenth of it spare
    guarded_http, _ = protocols(guard_for(ctx.config.web))
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
