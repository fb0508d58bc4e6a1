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
    ("/wall/sala", "wall.png", 1920, 1080),
    ("/team/norte", "team.png", 1440, 900),
    ("/manager", "manager.png", 1440, 1000),
    ("/", "home.png", 1024, 640),
]
MANAGER = ("marta", "una-contraseña-de-demo")
TICKER = "Reunión de equipo a las 12:00 · Recordad registrar el motivo de pausa"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
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
            page.screenshot(path=str(ROOT / "docs" / "img" / "login.png"))
            page.fill("#wb-password", MANAGER[1])
            page.click("#wb-login button[type=submit]")
            page.wait_for_url(stack.url("/"))
            for path, name, width, height in SHOTS:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(stack.url(path))
                page.wait_for_timeout(5000)
                page.screenshot(path=str(ROOT / "docs" / "img" / name))
            browser.close()
    print("screenshots written to docs/img/")


if __name__ == "__main__":
    main()
