"""Regenerate the README's screenshots: `wallboard run` on the demo config, captured in Chromium.

.venv/bin/python docs/make_screenshots.py      # writes docs/img/*.png
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SHOTS = [
    ("/wall/sala", "wall.png", 1920, 1080),
    ("/team/norte", "team.png", 1440, 900),
    ("/manager", "manager.png", 1440, 1000),
    ("/", "home.png", 1024, 640),
]


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        raw = yaml.safe_load((ROOT / "config.yaml").read_text())
        raw["redis"] = {"url": "", "data_dir": str(Path(tmp) / "redis")}
        raw["web"] = {"port": port}
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(yaml.safe_dump(raw, allow_unicode=True))
        env = {k: v for k, v in os.environ.items() if k != "WALLBOARD_REDIS_URL"}
        proc = subprocess.Popen([sys.executable, "-m", "wallboard", "run", "--config", str(cfg)], env=env)
        try:
            for _ in range(300):
                try:
                    if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "wallboard",
                    "ticker",
                    "--config",
                    str(cfg),
                    "Reunión de equipo a las 12:00 · Recordad registrar el motivo de pausa",
                ],
                check=True,
            )
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--no-first-run",
                    ],
                )
                for path, name, width, height in SHOTS:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(f"http://127.0.0.1:{port}{path}")
                    page.wait_for_timeout(5000)
                    page.screenshot(path=str(ROOT / "docs" / "img" / name))
                    page.close()
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
    print("screenshots written to docs/img/")


if __name__ == "__main__":
    main()
