"""``wallboard`` command line: run, collect, aggregate, report, snapshot, check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from wallboard import admin, logs
from wallboard.collectors import configure
from wallboard.config import ENV_REDIS_URL, Config, ConfigError, cluster_prefix_error, config_path, load_config
from wallboard.redis_client import url_error
from wallboard.streams import redact_url

log = logging.getLogger("wallboard")

EXIT_CONFIG = 2
ENV_METRICS_PORT = "WALLBOARD_METRICS_PORT"
ENV_METRICS_HOST = "WALLBOARD_METRICS_HOST"


def _parser() -> argparse.ArgumentParser:
    # SUPPRESS: a sub-command's own copy of these options must not overwrite a value
    # given before the sub-command (`wallboard --config X run`) with its default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $WALLBOARD_CONFIG, else ./config.yaml)",
    )
    common.add_argument(
        "--log-level",
        default=argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: $WALLBOARD_LOG_LEVEL, else INFO",
    )
    common.add_argument(
        "--log-format",
        default=argparse.SUPPRESS,
        choices=["text", "json"],
        help="json: one JSON object a line, for log shippers (default: $WALLBOARD_LOG_FORMAT, else text)",
    )
    # The metrics of a process that serves no web page (the web's are on its own port, /metrics).
    served = argparse.ArgumentParser(add_help=False)
    served.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on this port (default: $WALLBOARD_METRICS_PORT, else none)",
    )
    served.add_argument(
        "--metrics-host", metavar="ADDR", help="their address (default: $WALLBOARD_METRICS_HOST, else 127.0.0.1)"
    )
    parser = argparse.ArgumentParser(
        prog="wallboard", parents=[common], description="Real-time supervisor wallboard for contact centres."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="start everything: Redis (if embedded), collectors, aggregator, web")
    p = sub.add_parser("collect", parents=[common, served], help="run collectors (all enabled ones, or --source NAME)")
    p.add_argument("--source", action="append", metavar="NAME", help="collector name (repeatable)")
    p = sub.add_parser(
        "aggregate",
        parents=[common, served],
        help="fold the event stream and publish snapshots (one at a time: others stand by)",
    )
    p.add_argument(
        "--name",
        help="this aggregator's name, its consumer and lease holder: each aggregator its own "
        "(default: $WALLBOARD_AGGREGATOR_NAME, else aggregator-1)",
    )
    p = sub.add_parser("web", parents=[common], help="serve the screens (Dash pages, /ws, /healthz)")
    p.add_argument("--host", help="listen address (default: web.host)")
    p.add_argument("--port", type=int, help="port (default: web.port)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="web processes sharing the port (SO_REUSEPORT), each kept alive (default: $WALLBOARD_WEB_WORKERS, else 1)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        help="bind with SO_REUSEPORT, so other web processes may serve the same port (what each worker does)",
    )
    p = sub.add_parser("ticker", parents=[common], help="set the message ticker of the wall screens")
    p.add_argument("text", nargs="?", default="", help="the message (empty: clear it)")
    p.add_argument("--screen", default="*", help="screen id (default: every screen)")
    p = sub.add_parser("report", parents=[common], help="per-queue KPIs from an Asterisk queue_log file")
    p.add_argument("--queue-log", required=True, metavar="FILE", type=Path)
    p.add_argument("--interval", type=int, default=15, metavar="MINUTES", help="interval length (default 15)")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here instead of stdout")
    p = sub.add_parser("snapshot", parents=[common], help="print the current snapshot")
    p.add_argument("--json", action="store_true", help="the whole snapshot as JSON (default: a summary)")
    p.add_argument("--watch", action="store_true", help="keep printing each new snapshot")
    sub.add_parser("check-config", parents=[common], help="validate the config file and exit")
    admin.add_parsers(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.log_level = getattr(args, "log_level", None) or os.environ.get("WALLBOARD_LOG_LEVEL", "INFO")
    args.log_format = getattr(args, "log_format", None) or os.environ.get(logs.ENV_FORMAT, "text")
    try:
        logs.setup(args.log_level, args.log_format)
    except ValueError as exc:
        print(f"wallboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    path = config_path(getattr(args, "config", None))
    try:
        config = load_config(path)
        args.collectors = configure(config, str(path))  # options validated once, here, into typed objects
        env_url = os.environ.get(ENV_REDIS_URL, "")
        error = (env_url and url_error(env_url)) or cluster_prefix_error(env_url, config.redis.prefix)
        if error:
            raise ConfigError(f"{ENV_REDIS_URL}: {error}")
        _metrics_port_env()  # (a bad one said here, before any process starts)
    except ConfigError as exc:
        print(f"wallboard: bad configuration\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    handler = {
        "run": cmd_run,
        "collect": cmd_collect,
        "aggregate": cmd_aggregate,
        "web": cmd_web,
        "ticker": cmd_ticker,
        "report": cmd_report,
        "snapshot": cmd_snapshot,
        "check-config": cmd_check_config,
    }.get(args.command)
    try:
        if handler is None:
            return admin.HANDLERS[args.command](config, path, args, redis_url)
        return handler(config, path, args)
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------- helpers


def redis_url(config: Config) -> str | None:
    """The Redis to use: $WALLBOARD_REDIS_URL, else redis.url, else a running embedded one."""
    from wallboard.redis_server import find_running

    url = os.environ.get(ENV_REDIS_URL) or config.redis.url
    return url or find_running(config.redis_data_dir())


@contextlib.contextmanager
def _redis_for(config: Config) -> Iterator[str]:
    """A Redis URL for a command: the configured one, a running embedded one, or a new embedded one."""
    url = redis_url(config)
    if url:
        log.info("using Redis at %s", redact_url(url))
        yield url
        return
    from wallboard.redis_server import EmbeddedRedis

    server = EmbeddedRedis(config.redis_data_dir(), maxmemory=config.redis.maxmemory)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def _streams(url: str, config: Config) -> AsyncIterator[Any]:
    from wallboard.streams import Streams, connect

    client = connect(url)
    try:
        yield Streams.configured(client, config.redis)
    finally:
        await client.aclose()


def _metrics_port_env() -> int:
    """``$WALLBOARD_METRICS_PORT`` (0 when unset); :class:`ConfigError` naming it when it is no port."""
    raw = os.environ.get(ENV_METRICS_PORT, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{ENV_METRICS_PORT}: a port is a number from 1 to 65535, got {raw!r}")
    return int(raw)


@contextlib.asynccontextmanager
async def _metrics_served(role: str, config: Config, args: argparse.Namespace) -> AsyncIterator[None]:
    """This process's metrics on ``--metrics-port`` (or $WALLBOARD_METRICS_PORT) while it runs, behind
    ``web.health_token`` when one is set; nothing served without a port."""
    from wallboard import metrics

    metrics.started(role)
    port = args.metrics_port if args.metrics_port is not None else _metrics_port_env()
    if not port:
        yield
        return
    host = args.metrics_host or os.environ.get(ENV_METRICS_HOST) or "127.0.0.1"
    if not config.web.health_token and host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"metrics on {host} need web.health_token (a bearer token): without one only on loopback")
    try:
        server = await metrics.serve(port, host, token=config.web.health_token)
    except OSError as exc:
        raise ValueError(f"cannot serve metrics on {host}:{port} ({exc})") from exc
    log.info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


def _run_until_signal(coro_factory: Any) -> int:
    """Run an async main; SIGINT/SIGTERM set a stop event for a clean shutdown."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await coro_factory(stop)

    asyncio.run(runner())
    return 0


# --------------------------------------------------------------- commands


def cmd_check_config(config: Config, path: Path, args: argparse.Namespace) -> int:
    print(
        f"{path}: OK — {len(config.queues)} queues, {len(config.teams)} teams, {len(config.agents)} agents, "
        f"collectors: {', '.join(c.source + ' (' + c.kind + ')' for c in config.collectors) or 'none'}; "
        f"Redis: {redact_url(config.redis.url) if config.redis.url else 'embedded'}"
    )
    return 0


def cmd_report(config: Config, path: Path, args: argparse.Namespace) -> int:
    from wallboard.report import build_report, describe_stats, read_lines, render

    if args.interval < 1 or 1440 % args.interval:
        print(
            f"wallboard: --interval must divide a day into whole intervals (5, 10, 15, 30, 60, …), got {args.interval}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if not args.queue_log.is_file():
        print(f"wallboard: {args.queue_log}: no such file", file=sys.stderr)
        return EXIT_CONFIG
    started = time.perf_counter()
    report, stats = build_report(read_lines(args.queue_log, sys.stderr.isatty()), config, args.interval)
    seconds = time.perf_counter() - started
    text = render(report, args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(describe_stats(stats, seconds), file=sys.stderr)
    return 0


def cmd_aggregate(config: Config, path: Path, args: argparse.Namespace) -> int:
    from wallboard.aggregator import Aggregator

    async def main(stop: asyncio.Event) -> None:
        with _redis_for(config) as url:
            async with _streams(url, config) as streams, _metrics_served("aggregate", config, args):
                log.info("aggregating events from %s", redact_url(url))
                await Aggregator(config, streams, consumer=args.name).run(stop)

    try:
        return _run_until_signal(main)
    except ValueError as exc:  # a name with a space, a metrics port taken …
        print(f"wallboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def cmd_web(config: Config, path: Path, args: argparse.Namespace) -> int:
    from wallboard.web import serve
    from wallboard.workers import reuse_port_socket, run_workers, worker_commands, worker_count

    try:
        workers = worker_count(args.workers)
    except ValueError as exc:
        print(f"wallboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    host = args.host or os.environ.get("WALLBOARD_WEB_HOST")
    # The load balancer's address, where it is known only when the container starts (compose).
    proxies = tuple(p.strip() for p in os.environ.get("WALLBOARD_TRUSTED_PROXIES", "").split(",") if p.strip())
    changes: dict[str, Any] = {
        k: v for k, v in (("host", host), ("port", args.port), ("trusted_proxies", proxies)) if v
    }
    if changes:
        config = config.model_copy(update={"web": config.web.model_copy(update=changes)})
    if workers > 1:
        # One Redis for all of them (an embedded one started here, stopped when they are); the
        # workers get this config and the resolved host and port on their command line.
        with _redis_for(config) as url:
            base = [sys.executable, "-m", "wallboard", "web", "--config", str(path.resolve())]
            base += ["--log-level", args.log_level, "--host", config.web.host, "--port", str(config.web.port)]
            log.info("web: %d workers on %s:%d", workers, config.web.host, config.web.port)
            return run_workers(worker_commands(workers, base), dict(os.environ, **{ENV_REDIS_URL: url}))

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; with this handler
    # that ends in SystemExit, so the embedded Redis this command started is stopped too.
    signal.signal(signal.SIGTERM, terminate)
    sockets = None
    if args.reuse_port:
        try:
            sockets = [reuse_port_socket(config.web.host, config.web.port)]
        except OSError as exc:
            print(f"wallboard: cannot listen on {config.web.host}:{config.web.port} ({exc})", file=sys.stderr)
            return 1
    with _redis_for(config) as url:
        serve(config, url, args.collectors, sockets=sockets)
    return 0


def cmd_ticker(config: Config, path: Path, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if not url:
        print("wallboard: no wallboard is running; start `wallboard run` or set redis.url", file=sys.stderr)
        return 1
    if args.screen != "*" and config.screen(args.screen) is None:
        print(f"wallboard: no screen {args.screen!r} in {path}", file=sys.stderr)
        return EXIT_CONFIG

    async def main() -> None:
        async with _streams(url, config) as streams:
            await streams.set_ticker(args.screen, args.text)

    asyncio.run(main())
    print(f"ticker {'set' if args.text else 'cleared'} for {args.screen}")
    return 0


def cmd_collect(config: Config, path: Path, args: argparse.Namespace) -> int:
    from wallboard.collectors.runtime import run_collector
    from wallboard.ingest.options import served_by_web

    web_served = {c.source for c in served_by_web(args.collectors)}
    wanted = [
        c
        for c in args.collectors
        if c.spec.enabled and c.source not in web_served and (not args.source or c.source in args.source)
    ]
    unknown = set(args.source or ()) - {c.source for c in config.collectors}
    if unknown:
        print(
            f"wallboard: no collector named {', '.join(sorted(unknown))} in {path}; "
            f"configured: {', '.join(c.source for c in config.collectors) or 'none'}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    for name in sorted(set(args.source or ()) & web_served):
        print(
            f"wallboard: collector {name!r} is the HTTP ingest API, served by `wallboard web`; "
            f"set its options.port to serve it alone",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if not wanted:
        print(f"wallboard: no enabled collectors in {path}", file=sys.stderr)
        return EXIT_CONFIG

    async def main(stop: asyncio.Event) -> None:
        with _redis_for(config) as url:
            async with _streams(url, config) as streams, _metrics_served("collect", config, args):
                tasks = [asyncio.create_task(run_collector(config, c, streams)) for c in wanted]
                await stop.wait()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    try:
        return _run_until_signal(main)
    except ValueError as exc:  # a metrics port taken, or off loopback without a token
        print(f"wallboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def cmd_snapshot(config: Config, path: Path, args: argparse.Namespace) -> int:
    url = redis_url(config)
    if not url:
        print(
            "wallboard: no wallboard is running (no embedded Redis found under "
            f"{config.redis_data_dir()}); start `wallboard run` or set redis.url",
            file=sys.stderr,
        )
        return 1

    async def main() -> int:
        async with _streams(url, config) as streams:
            last_seq = -1
            while True:
                snap = await streams.latest_snapshot()
                if snap is None and not args.watch:
                    print("wallboard: no snapshot published yet (is the aggregator running?)", file=sys.stderr)
                    return 1
                if snap is not None and snap["seq"] != last_seq:
                    last_seq = snap["seq"]
                    print(
                        json.dumps(snap, ensure_ascii=False, indent=None if args.watch else 2)
                        if args.json
                        else _summary(snap),
                        flush=True,
                    )
                if not args.watch:
                    return 0
                await asyncio.sleep(0.5)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0


def _summary(snap: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}%"

    lines = [f"seq {snap['seq']} at {snap['generated_at']} ({snap['timezone']})"]
    rows = [("CENTRE", snap["centre"])] + [(q["name"], q) for q in snap["queues"].values()]
    for name, q in rows:
        t = q["today"]
        sl = t["sl"]["pct"]  # each queue by its own formula; the centre: their numerators over denominators
        rule = "mixed" if q["sl_mixed"] else f"{q['sl_formula']} {q['sl_threshold_s']}s"
        lines.append(
            f"  {name[:22]:<22} waiting {q['waiting']:>3}  longest {q['longest_wait_s'] or 0:>5.0f}s  "
            f"offered {t['offered']:>5}  SL {pct(sl):>6} ({rule})  aband {pct(t['abandon_rate_pct']):>6}  "
            f"ASA {t['asa_s'] if t['asa_s'] is not None else '—':>6}"
        )
    a = snap["centre"]["agents"]
    lines.append("  agents: " + ", ".join(f"{k} {v}" for k, v in a.items() if v))
    for name, s in snap["sources"].items():
        lines.append(f"  source {name}: {s['status']}")
    return "\n".join(lines)


# -------------------------------------------------------------------- run


def cmd_run(config: Config, path: Path, args: argparse.Namespace) -> int:
    """Everything: embedded Redis, aggregator, web, one process per collector, each kept alive."""
    from wallboard.redis_server import EmbeddedRedis, stop_with_parent
    from wallboard.supervisor import ChildSpec, Supervisor

    url = redis_url(config)
    server: EmbeddedRedis | None = None
    specs: list[ChildSpec] = []
    running: dict[str, subprocess.Popen[bytes]] = {}
    if url:
        log.info("using Redis at %s", redact_url(url))
    else:
        # Started here, before the others, so they get its port; restarted on that port.
        server = EmbeddedRedis(config.redis_data_dir(), maxmemory=config.redis.maxmemory)
        url = server.start()
        assert server.process is not None
        specs.append(ChildSpec("embedded Redis", server.launch, stops_last=True))
        running["embedded Redis"] = server.process
    env = dict(os.environ, **{ENV_REDIS_URL: url})
    if not config.auth.open:
        _demo_credentials(config, url)
    for name, command in _child_commands(config, path, args).items():
        # (SIGTERM to each child if `wallboard run` itself is killed, so none is left behind.)
        specs.append(
            ChildSpec(name, functools.partial(subprocess.Popen, command, env=env, preexec_fn=stop_with_parent))
        )
    host = "127.0.0.1" if config.web.host in ("0.0.0.0", "::") else config.web.host
    try:
        Supervisor(specs).run(
            running,
            on_started=lambda: log.info(
                "wallboard running: open http://%s:%d/  (Ctrl-C stops everything)", host, config.web.port
            ),
        )
    finally:
        if server is not None:
            server.stop()  # stopped by the supervisor already, last: this forgets its address
    log.info("wallboard stopped")
    return 0


def _demo_credentials(config: Config, url: str) -> None:
    """On a wallboard with no people and no keys yet: an admin and a key for the wall screens, printed
    once (the demo works in one command; a real floor replaces both)."""
    import secrets

    from wallboard.display_keys import KeyStore
    from wallboard.streams import connect
    from wallboard.users import UserStore

    host = "127.0.0.1" if config.web.host in ("0.0.0.0", "::") else config.web.host
    base = f"http://{host}:{config.web.port}"
    store = UserStore(config.users_file())
    if not store.users(max_age_s=0):
        password = secrets.token_urlsafe(12)
        store.add("admin", "admin", password)
        print(f"\n  First start: made the admin account. Sign in at {base}/login")
        print(f"    user: admin   password: {password}   (change it: wallboard user passwd admin)\n", flush=True)

    async def key() -> None:
        client = connect(url)
        try:
            keys = KeyStore(client, config.redis.prefix)
            if not await keys.all() and config.screens:
                screens = tuple(sc.id for sc in config.screens) + ("all",)
                _, value = await keys.add("demo-wall", screens)
                print(f"  and a display key for the wall screens (demo-wall): {base}/wall/{screens[0]}?key={value}")
                print("    (revoke it: wallboard display-key revoke demo-wall)\n", flush=True)
        finally:
            await client.aclose()

    asyncio.run(key())


def _child_commands(config: Config, path: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each process ``wallboard run`` keeps alive besides Redis."""
    from wallboard.ingest.options import served_by_web

    options = ["--config", str(path.resolve()), "--log-level", args.log_level, "--log-format", args.log_format]
    base = [sys.executable, "-m", "wallboard"]
    # $WALLBOARD_METRICS_PORT: the aggregator's metrics there, each collector's on the next ports
    # (the web's are on its own port, /metrics).
    first = _metrics_port_env()
    ports = iter(range(first, first + 1000)) if first else None

    def metrics_port() -> list[str]:
        return ["--metrics-port", str(next(ports))] if ports is not None else []

    commands = {
        "aggregator": base + ["aggregate", *options, *metrics_port()],
        "web": base + ["web", *options],
    }
    web_served = {c.source for c in served_by_web(args.collectors)}  # the web process serves these
    for c in config.collectors:
        if c.enabled and c.source not in web_served:
            commands[f"collector {c.source}"] = base + ["collect", "--source", c.source, *options, *metrics_port()]
    return commands
