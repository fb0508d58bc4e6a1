"""The config: the shipped file is valid, bad values name their key path, defaults and overrides."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallboard.collectors import configure
from wallboard.config import ConfigError, QueueDefaults, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_is_a_believable_centre() -> None:
    config = load_config(ROOT / "config.yaml", env={})
    assert len(config.queues) >= 3
    assert len(config.teams) >= 4
    sizes = [sum(1 for a in config.agents if a.team == t.id) for t in config.teams]
    assert all(10 <= n <= 16 for n in sizes), sizes
    assert config.redis.embedded
    assert config.collectors[0].kind == "simulator"
    assert config.agent_aliases()["PJSIP/201"] == config.agents[0].id


def test_the_source_examples_in_config_yaml_are_valid() -> None:
    text = (ROOT / "config.yaml").read_text()
    block = text.split("# >>> source examples\n")[1].split("# <<< source examples")[0]
    uncommented = "\n".join(line[1:] for line in block.splitlines())
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["collectors"] = yaml.safe_load(uncommented)
    env = {"AMI_SECRET": "s3cret", "FS_PASSWORD": "ClueCon", "CRM_API_TOKEN": "t" * 32}
    config = parse_config(raw, env=env)
    assert [c.kind for c in config.collectors] == ["asterisk_ami", "asterisk_queue_log", "freeswitch", "http"]
    assert config.collectors[0].options["secret"] == "s3cret"


def bad(raw: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        configure(parse_config(raw, source="c.yaml", env=env or {}), "c.yaml")
    return str(err.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"queues": [{"id": "q", "sl_formula": "fastest"}]}, "c.yaml: queues[0].sl_formula: Input should be"),
        ({"queues": [{"id": "q", "sl_formula": "fastest"}]}, "(got 'fastest')"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown IANA timezone 'Mars/Olympus'"),
        ({"day_start": "6am"}, "day_start: must be HH:MM, got '6am'"),
        ({"day_start": "06:10"}, "day_start: must fall on a quarter hour"),
        ({"windows": [15, 0]}, "windows: rolling windows are minutes between 1 and 1440"),
        ({"language": "fr"}, "language: Input should be 'es' or 'en' (got 'fr')"),
        ({"queues": [{"id": "q"}, {"id": "q"}]}, "queues[1].id: duplicate id 'q'"),
        ({"queues": [{"id": "q", "sl_threshold_s": -5}]}, "queues[0].sl_threshold_s: Input should be greater than"),
        ({"agents": [{"id": "a", "team": "ghosts"}]}, "agents[0].team: unknown team 'ghosts'"),
        ({"teams": [{"id": "t", "queues": ["nope"]}]}, "teams[0].queues: unknown queue 'nope'"),
        (
            {"thresholds": {"waiting": {"warn": 10, "alert": 5, "direction": "higher_is_worse"}}},
            "thresholds.waiting: alert (5) must be at least warn (10)",
        ),
        (
            {"thresholds": {"happiness": {"warn": 1, "alert": 2, "direction": "higher_is_worse"}}},
            "thresholds: unknown metric 'happiness'",
        ),
        ({"redis": {"ulr": "redis://x"}}, "redis.ulr: unknown key"),
        ({"collectors": [{"kind": "carrier_pigeon"}]}, "collectors[0].kind: unknown collector kind"),
        (
            {"collectors": [{"kind": "simulator", "options": {"speed": -1}}]},
            "collectors[0].options.speed: Input should be greater than 0",
        ),
        ({"collectors": [{"kind": "simulator", "options": {"sped": 2}}]}, "collectors[0].options.sped: unknown key"),
        ({"collectors": [{"kind": "simulator"}, {"kind": "simulator"}]}, "two collectors named 'simulator'"),
        ({"redis": {"url": "${WB_TEST_NOT_SET}"}}, "redis.url: environment variable WB_TEST_NOT_SET is not set"),
    ],
)
def test_bad_values_name_the_key_path(raw: dict[str, Any], expected: str) -> None:
    assert expected in bad(raw)


def test_env_interpolation() -> None:
    config = parse_config({"redis": {"url": "redis://${WB_HOST}:${WB_PORT:-6379}/0"}}, env={"WB_HOST": "10.0.0.5"})
    assert config.redis.url == "redis://10.0.0.5:6379/0"


def test_unknown_queue_gets_the_defaults() -> None:
    config = parse_config({"queue_defaults": {"sl_threshold_s": 30, "sl_formula": "offered"}}, env={})
    q = config.queue("not-configured")
    assert (q.sl_threshold_s, q.sl_formula) == (30, "offered")


def test_both_sl2_names_are_accepted() -> None:
    config = parse_config(
        {"queues": [{"id": "a", "sl_formula": "asterisk_sl2"}, {"id": "h", "sl_formula": "sl2_hangups"}]}, env={}
    )
    assert (config.queue("a").sl_formula, config.queue("h").sl_formula) == ("asterisk_sl2", "sl2_hangups")
    with pytest.raises(ConfigError, match="'sl2_hangups'"):  # the message lists every name
        parse_config({"queues": [{"id": "q", "sl_formula": "sl2"}]}, env={})


def test_threshold_override_per_queue() -> None:
    config = parse_config(
        {"queues": [{"id": "v", "thresholds": {"asa_s": {"warn": 5, "alert": 9, "direction": "higher_is_worse"}}}]},
        env={},
    )
    assert config.threshold("asa_s", "v").warn == 5
    assert config.threshold("asa_s", "other").warn == 20


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wallboard", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_check_config_ok() -> None:
    result = run_cli("check-config", "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    assert "OK — 5 queues, 4 teams, 52 agents" in result.stdout


def test_bad_config_exits_2_with_the_key_and_value(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["queues"][2]["sl_formula"] = "best_effort"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    for command in (["check-config"], ["run"], ["aggregate"], ["snapshot", "--json"]):
        result = run_cli(*command, "--config", str(path))
        assert result.returncode == 2, (command, result.stderr)
        assert "queues[2].sl_formula" in result.stderr and "'best_effort'" in result.stderr
        assert "Traceback" not in result.stderr


def test_config_before_or_after_the_command(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("queues: [{id: a}, {id: b}]\n")
    for args in (("--config", str(path), "check-config"), ("check-config", "--config", str(path))):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0 and "2 queues" in result.stdout, (args, result.stderr)


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("timezone: America/Bogota\nqueues: [{id: ventas}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "wallboard", "check-config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**__import__("os").environ, "WALLBOARD_CONFIG": str(path)},
        timeout=60,
    )
    assert result.returncode == 0 and "1 queues" in result.stdout


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("queues: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")


@pytest.mark.parametrize(
    ("key", "value"),
    [("sl_threshold_s", 45), ("sl_target_pct", 90.0), ("short_abandon_s", 12), ("sl_formula", "offered")],
)
def test_queue_defaults_apply_to_every_listed_queue_that_does_not_set_the_key(key: str, value: object) -> None:
    config = parse_config(
        {
            "queue_defaults": {key: value},
            "queues": [{"id": "plain"}, {"id": "own", key: QueueDefaults().model_dump()[key]}],
        },
        env={},
    )
    assert getattr(config.queue("plain"), key) == value
    assert getattr(config.queue("own"), key) == QueueDefaults().model_dump()[key]  # its own value wins
    assert getattr(config.queue("unlisted"), key) == value


def test_a_bad_queue_default_is_named_by_its_path() -> None:
    with pytest.raises(ConfigError, match=r"queue_defaults\.sl_threshold_s"):
        parse_config({"queue_defaults": {"sl_threshold_s": 0}, "queues": [{"id": "q"}]}, env={})
