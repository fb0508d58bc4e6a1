"""Regenerate the README's screenshots: `wallboard run` on the demo config, captured in Chromium.

.venv/bin/python docs/make_screenshots.py      # writes docs/img/*.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stack import CHROMIUM_ARGS, Stack, chromium  # noqa: E402 - the checkout is on sys.path from here on
from wallboard.users import UserStore  # noqa: E402

SHOTS = [
    ("/wall/sala", "wall.png", 1920, 1080),  # a TV of every queue: a row per queue
    ("/wall/ventas", "wall-ventas.png", 1920, 1080),  # two queues
    ("/tv/soporte", "tv-lite.png", 1280, 720),  # the TV-lite page, as an old smart TV draws it
    ("/team/norte", "team.png", 1366, 768),
    ("/manager", "manager.png", 1440, 1000),
    ("/", "home.png", 1024, 640),
]
MANAGER = ("marta", "una-contraseña-de-demo")
TICKER = "Reunión de equipo a las 12:00 · Recordad registrar el motivo de pausa"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where to write them")
    parser.add_argument("--only", nargs="*", default=[], help="only these file names")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp), open_access=False) as stack:
        UserStore(Path(tmp) / "users.yaml").add(*MANAGER[:1], "manager", MANAGER[1])
        stack.start("run")
        stack.wait_healthy(60)
        stack.cli("ticker", TICKER).check_returncode()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium() or "/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context()
            page = context.new_page()
            page.set_viewport_size({"width": 1024, "height": 640})
            page.goto(stack.url("/"))  # sent to sign in
            page.fill("#wb-user", MANAGER[0])
            if not args.only or "login.png" in args.only:
                page.screenshot(path=str(out / "login.png"))
            page.fill("#wb-password", MANAGER[1])
            page.click("#wb-login button[type=submit]")
            page.wait_for_url(stack.url("/"))
            for path, name, width, height in SHOTS:
                if args.only and name not in args.only:
                    continue
                page.set_viewport_size({"width": width, "height": height})
                page.goto(stack.url(path))
                page.wait_for_timeout(5000)
                page.screenshot(path=str(out / name))
            browser.close()
    print(f"screenshots written to {out}")


if __name__ == "__main__":
    main()
