"""The admin's commands as an admin types them: ``wallboard user``, ``display-key``, ``audit``, ``purge``,
run as real processes on a real Redis and a real users file."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.stack import clean_env, demo_config
from wallboard.users import UserStore, verify


@pytest.fixture
def config_file(tmp_path: Path, redis_url: str, prefix: str) -> Path:
    raw = demo_config()
    raw["redis"].update(url=redis_url, prefix=prefix)
    raw["auth"] = {"users_file": str(tmp_path / "people" / "users.yaml")}
    raw["collectors"] = []
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def wallboard(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wallboard", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )


def test_people_are_added_listed_changed_and_removed(config_file: Path, tmp_path: Path) -> None:
    users_file = tmp_path / "people" / "users.yaml"
    added = wallboard(
        config_file, "user", "add", "lucia", "--role", "team_leader", "--team", "norte", "--password-stdin",
        stdin="una-contraseña-larga\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    text = users_file.read_text()
    assert "una-contraseña-larga" not in text and "$argon2id$" in text
    user = UserStore(users_file).get("lucia")
    assert user is not None and verify(user, "una-contraseña-larga") and not verify(user, "otra")

    listing = wallboard(config_file, "user", "list")
    assert "lucia" in listing.stdout and "team_leader" in listing.stdout and "team:norte" in listing.stdout
    assert "argon2" not in listing.stdout

    for bad, why in (
        (["add", "x", "--role", "team_leader", "--password-stdin"], "needs the teams"),
        (["add", "x", "--role", "supervisor", "--team", "atlantis", "--password-stdin"], "no team 'atlantis'"),
        (["add", "lucia", "--role", "admin", "--password-stdin"], "exists already"),
        (["add", "Bad Name", "--role", "admin", "--password-stdin"], "user name"),
        (["add", "short", "--role", "admin", "--password-stdin"], "at least 10 characters"),
        (["passwd", "nobody", "--password-stdin"], "no user 'nobody'"),
        (["remove", "nobody"], "no user 'nobody'"),
    ):
        out = wallboard(config_file, "user", *bad, stdin="corta\n" if "short" in bad else "suficientemente-larga\n")
        assert out.returncode == 1 and why in out.stderr, (bad, out.stderr)

    changed = wallboard(config_file, "user", "passwd", "lucia", "--password-stdin", stdin="la-nueva-contraseña\n")
    assert changed.returncode == 0, changed.stderr
    user = UserStore(users_file).get("lucia")
    assert user is not None and verify(user, "la-nueva-contraseña") and not verify(user, "una-contraseña-larga")
    assert wallboard(config_file, "user", "remove", "lucia").returncode == 0
    assert UserStore(users_file).get("lucia") is None


def test_a_password_is_never_an_argument(config_file: Path) -> None:
    out = wallboard(config_file, "user", "add", "x", "--role", "admin", "--password", "secreto-en-la-linea")
    assert out.returncode == 2 and "unrecognized arguments" in out.stderr


def test_display_keys_are_made_listed_and_revoked(config_file: Path) -> None:
    made = wallboard(config_file, "display-key", "add", "tv-sala", "--screen", "sala")
    assert made.returncode == 0, made.stderr
    key = made.stdout.split("keep it secret): ")[1].split()[0]
    assert key.startswith("wbk_") and f"/wall/sala?key={key}" in made.stdout
    again = wallboard(config_file, "display-key", "add", "tv-sala", "--screen", "sala")
    assert again.returncode == 1 and "exists already" in again.stderr
    nothing = wallboard(config_file, "display-key", "add", "tv-x")
    assert nothing.returncode == 1 and "must open something" in nothing.stderr
    unknown = wallboard(config_file, "display-key", "add", "tv-y", "--screen", "atlantis")
    assert unknown.returncode == 1 and "no screen 'atlantis'" in unknown.stderr
    listing = wallboard(config_file, "display-key", "list")
    assert "tv-sala" in listing.stdout and "screen:sala" in listing.stdout and "last used never" in listing.stdout
    assert key not in listing.stdout and key[4:20] not in listing.stdout
    assert wallboard(config_file, "display-key", "revoke", "tv-sala").returncode == 0
    gone = wallboard(config_file, "display-key", "revoke", "tv-sala")
    assert gone.returncode == 1 and "no display key" in gone.stderr


def test_purge_and_audit_run_against_the_wallboard(config_file: Path) -> None:
    purged = wallboard(config_file, "purge", "--older-than-days", "3")
    assert purged.returncode == 0 and "purged entries older than 3 days" in purged.stdout, purged.stderr
    too_young = wallboard(config_file, "purge", "--older-than-days", "0.5")
    assert too_young.returncode == 1 and "at least 1" in too_young.stderr
    audit = wallboard(config_file, "audit")
    assert audit.returncode == 0, audit.stderr


def test_no_redis_password_in_what_commands_log(tmp_path: Path, redis_url: str) -> None:
    raw = demo_config()
    raw["redis"]["url"] = "redis://:a-secret-password@127.0.0.1:1/0"  # nothing listens there
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    out = subprocess.run(
        [sys.executable, "-m", "wallboard", "ticker", "hola", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean_env(), "WALLBOARD_LOG_LEVEL": "DEBUG"},
    )
    assert "a-secret-password" not in out.stdout + out.stderr
