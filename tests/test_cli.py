"""`wallboard run` end to end: embedded Redis, simulator, aggregator, `snapshot`, clean Ctrl-C."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import eventually
from tests.stack import Stack, cli
from wallboard.redis_server import find_running


def demo_stack(tmp_path: Path, speed: float = 30.0, *, busy: bool = False) -> Stack:
    """The demo config on an embedded Redis in ``tmp_path``, its simulator running ``speed`` times real time.

    ``busy``: events every second whatever the time of day (the demo's nights are quiet: at
    speed 1 a minute can pass without one), and no backfill of the day so far."""

    def simulator_speed(raw: dict[str, Any]) -> None:
        options = raw["collectors"][0]["options"]
        options["speed"] = speed
        if busy:  # at night a twentieth of the peak: ~2 calls a second still, ~10 events
            options.update(backfill=False, calls_per_hour={q["id"]: 30_000 for q in raw["queues"]})
        if speed > 1:  # the simulated clock runs ahead of the aggregator's: let it, for the test's minute
            raw["events"] = {"max_clock_skew_s": 3600}

    return Stack(tmp_path, adjust=simulator_speed)


def snapshot(stack: Stack) -> dict[str, Any] | None:
    """The current snapshot as `wallboard snapshot --json` prints it (None when it fails)."""
    out = stack.cli("snapshot", "--json")
    return json.loads(out.stdout) if out.returncode == 0 else None


def test_help_lists_every_command() -> None:
    out = cli("--help")
    for command in ("run", "collect", "aggregate", "report", "snapshot", "check-config"):
        assert command in out.stdout


def test_snapshot_without_a_running_wallboard(tmp_path: Path) -> None:
    out = demo_stack(tmp_path).cli("snapshot")
    assert out.returncode == 1 and "no wallboard is running" in out.stderr


def test_run_brings_up_the_pipeline_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    stack = demo_stack(tmp_path)
    stack.start("run")
    try:
        first: dict[str, Any] = eventually(
            lambda: (
                (s := snapshot(stack))
                and s["pipeline"]["applied"] > 0
                and not s["sources"]["simulador"]["stale"]
                and s["centre"]["today"]["offered"] > 0  # just after midnight: wait for calls
                and s
            ),
            60,
            "a snapshot with calls offered",
        )
        later: dict[str, Any] = eventually(
            lambda: (s := snapshot(stack)) and s["pipeline"]["applied"] > first["pipeline"]["applied"] and s,
            60,
            "numbers moving",
        )
        assert later["seq"] > first["seq"]
        assert later["pipeline"]["applied"] > first["pipeline"]["applied"], "numbers should move"
        summary = stack.cli("snapshot")
        assert "CENTRE" in summary.stdout and "Ventas" in summary.stdout
        assert find_running(stack.redis_dir) is not None
        health = stack.wait_healthy(30)  # the web process may still be importing Dash
        assert health["redis"] is True and health["snapshot_seq"] >= first["seq"]
    finally:
        code = stack.stop("run")
    output = stack.output("run")
    assert code == 0, output
    assert "checkpoint saved" in output and "embedded Redis stopped" in output
    assert "Traceback" not in output
    assert find_running(stack.redis_dir) is None


def test_restart_resumes_without_double_counting(tmp_path: Path) -> None:
    """Stop and start again: the simulator's cursor and the checkpoint continue the same day."""
    stack = demo_stack(tmp_path, speed=1.0)

    def run_once() -> dict[str, Any]:
        stack.start("run")
        try:
            snap: dict[str, Any] = eventually(
                lambda: (
                    ((s := snapshot(stack)) and s["pipeline"]["applied"] > 0 and not s["sources"]["simulador"]["stale"])
                    and s
                ),
                60,
                "a snapshot with the simulator live",
            )
            later: dict[str, Any] = eventually(
                lambda: (s := snapshot(stack)) and s["seq"] > snap["seq"] and s, 60, "a later snapshot"
            )
            return later
        finally:
            stack.stop("run")

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
    stack = demo_stack(tmp_path)
    stack.start("web")
    try:
        stack.wait_healthy(60, degraded=True)  # 503: no aggregator, but the process serves
        assert find_running(stack.redis_dir) is not None
    finally:
        code = stack.stop("web", signal.SIGTERM)
    output = stack.output("web")
    assert code == 0, output
    assert "embedded Redis stopped" in output
    assert find_running(stack.redis_dir) is None


def test_a_bad_metrics_port_is_refused_naming_it(tmp_path: Path) -> None:
    stack = demo_stack(tmp_path)
    out = cli("check-config", "--config", str(stack.config), env={"WALLBOARD_METRICS_PORT": "nine"})
    assert out.returncode == 2 and "WALLBOARD_METRICS_PORT" in out.stderr and "'nine'" in out.stderr
    raw = dict(stack.raw, web={**stack.raw["web"], "health_token": ""}, redis={"url": "redis://127.0.0.1:1/0"})
    tokenless = tmp_path / "tokenless.yaml"
    tokenless.write_text(yaml.safe_dump(raw, allow_unicode=True))
    out = cli("aggregate", "--config", str(tokenless), "--metrics-port", "9", "--metrics-host", "0.0.0.0")
    assert out.returncode == 2 and "need web.health_token" in out.stderr
