"""Local accounts: a YAML file of people, their roles and their argon2 password hashes.

Written only by ``wallboard user add|passwd|remove|list`` (atomically, mode 0600);
read by the web process, which sees a change within a second (the file's mtime is
checked at most once a second), so a removed person's session and sockets end
without a restart. A password is never stored, logged or shown: only its argon2id
hash (argon2-cffi's defaults). ``changed`` moves with every password change and is
signed into the session cookie, so changing a password ends the sessions it opened.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from wallboard.config import ROLES

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.@\-]{0,63}$")
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
#: Verified against when the user name is unknown, so a wrong name costs what a wrong password does.
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")


class UserError(ValueError):
    """A request to the store that cannot be carried out, saying why."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    password_hash: str = field(repr=False)
    teams: tuple[str, ...] = ()
    screens: tuple[str, ...] = ()
    changed: float = 0.0  # when the password last changed (signed into sessions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "teams": list(self.teams),
            "screens": list(self.screens),
            "changed": self.changed,
            "password_hash": self.password_hash,
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"user name {name!r}: 1–64 of a-z 0-9 _ . @ -, starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise UserError("the password is longer than 1024 characters")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def verify(user: User | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s; as slow for an unknown user (``None``) as for a known one."""
    if len(password) > 1024:
        return False
    try:
        return _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class UserStore:
    """The users file: read (cached by mtime) and rewritten whole, atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: dict[str, User] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0

    def users(self, max_age_s: float = 1.0) -> dict[str, User]:
        """Every user by name, re-read when the file changed (looked at once per ``max_age_s``)."""
        now = time.monotonic()
        if now - self._checked < max_age_s and self._stamp is not None:
            return self._users
        self._checked = now
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, (0, 0)
            return self._users
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._users = self._read()
            self._stamp = stamp
        return self._users

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    def _read(self) -> dict[str, User]:
        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        out: dict[str, User] = {}
        for item in data.get("users") or []:
            out[item["name"]] = User(
                name=item["name"],
                role=item["role"],
                password_hash=item["password_hash"],
                teams=tuple(item.get("teams") or ()),
                screens=tuple(item.get("screens") or ()),
                changed=float(item.get("changed") or 0),
            )
        return out

    def _write(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "# wallboard users: written by `wallboard user …`; passwords are argon2id hashes.\n" + yaml.safe_dump(
            {"users": [u.as_dict() for u in sorted(users.values(), key=lambda u: u.name)]}
        )
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._stamp = None

    def add(
        self, name: str, role: str, password: str, teams: tuple[str, ...] = (), screens: tuple[str, ...] = ()
    ) -> User:
        check_name(name)
        if role not in ROLES:
            raise UserError(f"role {role!r}: one of {', '.join(ROLES)}")
        if role == "team_leader" and not teams:
            raise UserError("a team_leader needs the teams they lead (--team ID)")
        users = dict(self.users(max_age_s=0))
        if name in users:
            raise UserError(f"user {name!r} exists already (wallboard user passwd {name} to change the password)")
        user = User(name, role, hash_password(password), teams, screens, changed=time.time())
        users[name] = user
        self._write(users)
        return user

    def set_password(self, name: str, password: str) -> User:
        users = dict(self.users(max_age_s=0))
        if name not in users:
            raise UserError(f"no user {name!r}")
        users[name] = replace(users[name], password_hash=hash_password(password), changed=time.time())
        self._write(users)
        return users[name]

    def remove(self, name: str) -> None:
        users = dict(self.users(max_age_s=0))
        if users.pop(name, None) is None:
            raise UserError(f"no user {name!r}")
        self._write(users)
