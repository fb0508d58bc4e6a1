"""Dash on its FastAPI backend vs. on Flask behind a2wsgi, serving what a screen loads.

    .venv/bin/pip install -e '.[bench]'      # a2wsgi, for the Flask variant
    .venv/bin/python bench/web_backends.py [--loads 200] [--threads 8]

Each variant runs in its own uvicorn process; a client loads a page the way a
browser does (the page, _dash-layout, _dash-dependencies, the component JS and
our assets), first sequentially (median ms per page load) then from --threads
threads (page loads per second). Screens load a page once and then only listen
on the WebSocket, so this is the whole HTTP cost of a screen.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _util import free_port


def serve(variant: str, port: int) -> None:
    import uvicorn
    from a2wsgi import WSGIMiddleware
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from wallboard.config import load_config
    from wallboard.layouts import build_dash

    cfg = load_config(ROOT / "config.yaml", env={})
    app: Any
    if variant == "fastapi":
        from wallboard.web import create_app

        app = create_app(cfg, "redis://127.0.0.1:1/0")  # no Redis needed for page loads
    else:
        dash_app = build_dash(cfg, backend="flask")
        app = Starlette(routes=[Mount("/", app=WSGIMiddleware(dash_app.server))])  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", lifespan="on" if variant == "fastapi" else "off")


def page_paths(port: int) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/wall/sala")
    html = conn.getresponse().read().decode()
    scripts = [p.split('"')[0] for p in html.split('src="')[1:]]
    links = [p.split('"')[0] for p in html.split('href="')[1:] if ".css" in p.split('"')[0]]
    return ["/wall/sala", "/_dash-layout", "/_dash-dependencies"] + [p for p in scripts + links if p.startswith("/")]


def load_page(conn: http.client.HTTPConnection, paths: list[str]) -> None:
    for path in paths:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status}")


def measure(port: int, loads: int, threads: int) -> dict[str, Any]:
    paths = page_paths(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(loads):
        t0 = time.perf_counter()
        load_page(conn, paths)
        times.append((time.perf_counter() - t0) * 1000)
    done = [0]

    def worker() -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(loads // threads):
            load_page(c, paths)
            done[0] += 1

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {
        "requests_per_page": len(paths),
        "median_ms_per_page": statistics.median(times),
        "pages_per_s": done[0] / (time.perf_counter() - t0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    results = {}
    for round_ in range(2):  # alternate the variants twice; keep the better run of each
        for variant in ("fastapi", "flask"):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, __file__, "--serve", variant, str(port)],
                env={**os.environ, "WALLBOARD_LOG_LEVEL": "ERROR"},
            )
            try:
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", port), 0.2).close()
                        break
                    except OSError:
                        time.sleep(0.1)
                r = measure(port, args.loads, args.threads)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
            best = results.get(variant)
            if best is None or r["pages_per_s"] > best["pages_per_s"]:
                results[variant] = r
            print(
                f"round {round_ + 1} {variant:8} {r['requests_per_page']} requests/page  "
                f"median {r['median_ms_per_page']:.1f} ms/page  {r['pages_per_s']:.0f} pages/s",
                flush=True,
            )
    ratio = results["fastapi"]["pages_per_s"] / results["flask"]["pages_per_s"]
    print(f"fastapi / flask page loads per second: {ratio:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "web_backends.json").write_text(json.dumps({**results, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
