"""`wallboard run` end to end: embedded Redis, simulator, aggregator, `snapshot`, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import free_port
from wallboard.redis_server import find_running

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "wallboard", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def demo_config(tmp_path: Path, speed: float = 30.0) -> Path:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["redis"] = {"url": "", "data_dir": str(tmp_path / "redis")}
    raw["collectors"][0]["options"]["speed"] = speed
    if speed > 1:  # the simulated clock runs ahead of the aggregator's: let it, for the test's minute
        raw["events"] = {"max_clock_skew_s": 3600}
    raw["web"] = {"port": free_port()}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def snapshot(config: Path) -> dict[str, Any] | None:
    out = cli("snapshot", "--json", "--config", str(config))
    return json.loads(out.stdout) if out.returncode == 0 else None


def test_help_lists_every_command() -> None:
    out = cli("--help")
    for command in ("run", "collect", "aggregate", "report", "snapshot", "check-config"):
        assert command in out.stdout


def test_snapshot_without_a_running_wallboard(tmp_path: Path) -> None:
    out = cli("snapshot", "--config", str(demo_config(tmp_path)))
    assert out.returncode == 1 and "no wallboard is running" in out.stderr


def test_run_brings_up_the_pipeline_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallboard", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        first: dict[str, Any] | None = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            first = snapshot(config)
            if (
                first
                and first["pipeline"]["applied"] > 0
                and not first["sources"]["simulador"]["stale"]
                and first["centre"]["today"]["offered"] > 0
            ):  # just after midnight: wait for calls
                break
            time.sleep(0.3)
        assert first is not None, "no snapshot within 60 s"
        assert first["centre"]["today"]["offered"] > 0, "no calls offered within 60 s"
        later: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            later = snapshot(config)
            if later and later["pipeline"]["applied"] > first["pipeline"]["applied"]:
                break
            time.sleep(0.3)
        assert later is not None and later["seq"] > first["seq"]
        assert later["pipeline"]["applied"] > first["pipeline"]["applied"], "numbers should move"
        summary = cli("snapshot", "--config", str(config))
        assert "CENTRE" in summary.stdout and "Ventas" in summary.stdout
        assert find_running(tmp_path / "redis") is not None
        port = yaml.safe_load(config.read_text())["web"]["port"]
        health: dict[str, Any] = {}
        while time.monotonic() < deadline + 30 and not health:
            try:
                health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read())
            except OSError:  # the web process is still importing Dash
                time.sleep(0.3)
        assert health["redis"] is True and health["snapshot_seq"] >= first["seq"]
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "checkpoint saved" in output and "embedded Redis stopped" in output
    assert "Traceback" not in output
    assert find_running(tmp_path / "redis") is None


def test_restart_resumes_without_double_counting(tmp_path: Path) -> None:
    """Stop and start again: the simulator's cursor and the checkpoint continue the same day."""
    config = demo_config(tmp_path, speed=1.0)
    env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}

    def run_once() -> dict[str, Any]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wallboard", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                snap = snapshot(config)
                if snap and snap["pipeline"]["applied"] > 0 and not snap["sources"]["simulador"]["stale"]:
                    time.sleep(1.5)
                    snap = snapshot(config)
                    assert snap is not None
                    return snap
                time.sleep(0.3)
            raise AssertionError("no snapshot")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)

    before = run_once()
    after = run_once()
    assert after["seq"] > before["seq"]
    assert after["pipeline"]["duplicates"] <= before["pipeline"]["duplicates"] + 50
    # the same simulated day: what was offered before is still there, not doubled
    assert (
        before["centre"]["today"]["offered"]
        <= after["centre"]["today"]["offered"]
        < before["centre"]["today"]["offered"] * 1.5 + 50
    )


def test_web_alone_stops_the_embedded_redis_it_started_on_sigterm(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    port = yaml.safe_load(config.read_text())["web"]["port"]
    env = {k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallboard", "web", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except urllib.error.HTTPError:  # 503: no aggregator, but the process serves
                break
            except OSError:
                time.sleep(0.2)
        assert find_running(tmp_path / "redis") is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "embedded Redis stopped" in output
    assert find_running(tmp_path / "redis") is None
