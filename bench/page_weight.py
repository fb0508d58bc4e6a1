"""What a browser transfers to load each view of the demo: requests and bytes on the wire.

    .venv/bin/python bench/page_weight.py

Starts `wallboard run` on the demo config (open mode, embedded Redis), loads each view in Debian's
Chromium with the DevTools protocol counting every response's encoded bytes, 3 s after load. To
measure another checkout, run this file with that checkout first on PYTHONPATH (the processes it
starts import the wallboard from there).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright

from tests.stack import CHROMIUM_ARGS, Stack, chromium

VIEWS = ("/wall/sala", "/tv/sala", "/team/norte", "/manager", "/")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp)) as stack:
        stack.start("run")
        stack.wait_healthy(60)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium() or "/usr/bin/chromium", args=CHROMIUM_ARGS)
            for path in VIEWS:
                context = browser.new_context()
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                total = {"requests": 0, "bytes": 0}

                def finished(event: dict[str, float], total: dict[str, int] = total) -> None:
                    total["requests"] += 1
                    total["bytes"] += int(event.get("encodedDataLength", 0))

                cdp.on("Network.loadingFinished", finished)
                page.goto(stack.url(path))
                page.wait_for_timeout(3000)
                print(f"{path:14} requests {total['requests']:3}  transferred {total['bytes'] / 1024:8.1f} KB")
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
