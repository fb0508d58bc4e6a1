"""The admin's commands: people (``user``), screens' keys (``display-key``), and the ``audit`` log.

``wallboard user add NAME --role ROLE [--team ID…] [--screen ID…]`` asks for the
password twice at a prompt, or reads one line from stdin with ``--password-stdin``
(never an argument: arguments are visible to every user of the host). The users
file changes atomically; running web processes see it within a second.

``wallboard display-key add NAME --screen ID…|--team ID…|--manager`` prints the key
once, with the address that sets a screen up; ``list`` shows each key's scope and
when it was last used; ``revoke NAME`` ends it: its screens go dark within seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wallboard.config import ROLES, Config
from wallboard.users import UserError, UserStore, check_password

UrlFor = Callable[[Config], "str | None"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("user", parents=[common], help="local accounts: add, passwd, remove, list")
    users = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = users.add_parser("add", parents=[common], help="add a person (password from a prompt or --password-stdin)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--team", action="append", default=[], metavar="ID", help="a team they lead or supervise")
    a.add_argument("--screen", action="append", default=[], metavar="ID", help="a supervisor's floor screen")
    a.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    a = users.add_parser("passwd", parents=[common], help="change a person's password (their sessions end)")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true")
    a = users.add_parser("remove", parents=[common], help="remove a person (their sessions and sockets end)")
    a.add_argument("name")
    users.add_parser("list", parents=[common], help="every person, their role and teams")

    p = sub.add_parser("display-key", parents=[common], help="keys for unattended screens: add, list, revoke")
    keys = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = keys.add_parser(
        "add", parents=[common], help="make a key for the screens, teams or views it opens (shown once)"
    )
    a.add_argument("name")
    a.add_argument("--screen", action="append", default=[], metavar="ID", help="a wall screen id, or all")
    a.add_argument("--team", action="append", default=[], metavar="ID", help="a team's page (agents' names!)")
    a.add_argument("--manager", action="store_true", help="the manager view")
    keys.add_parser("list", parents=[common], help="every key: what it opens, when made, when last used")
    a = keys.add_parser("revoke", parents=[common], help="end a key now: its screens go dark within seconds")
    a.add_argument("name")

    p = sub.add_parser("audit", parents=[common], help="the newest audit entries (sign-ins, refusals, keys)")
    p.add_argument("--count", type=int, default=50)

    p = sub.add_parser("purge", parents=[common], help="trim personal data older than privacy.retention_days now")
    p.add_argument("--older-than-days", type=float, metavar="DAYS", help="another age than the configured one")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    check_password(first)
    if getpass.getpass("Password again: ") != first:
        raise UserError("the two passwords differ")
    return first


def cmd_user(config: Config, path: Path, args: argparse.Namespace, url_for: UrlFor) -> int:
    store = UserStore(config.users_file())
    try:
        if args.action == "add":
            _check_scope(config, args.team, args.screen)
            user = store.add(args.name, args.role, _password(args), tuple(args.team), tuple(args.screen))
            print(f"user {user.name} added ({user.role}) in {store.path}")
        elif args.action == "passwd":
            if store.get(args.name) is None:
                raise UserError(f"no user {args.name!r}")
            store.set_password(args.name, _password(args))
            print(f"password of {args.name} changed: their open sessions have ended")
        elif args.action == "remove":
            store.remove(args.name)
            print(f"user {args.name} removed: their sessions and screens end within seconds")
        else:
            users = store.users(max_age_s=0)
            if not users:
                print(f"no users in {store.path} (wallboard user add NAME --role admin)")
            for u in sorted(users.values(), key=lambda u: u.name):
                scope = " ".join([*(f"team:{t}" for t in u.teams), *(f"screen:{s}" for s in u.screens)])
                print(f"{u.name:24} {u.role:12} {scope or '-':30} password changed {_when(u.changed)}")
    except UserError as exc:
        print(f"wallboard: {exc}", file=sys.stderr)
        return 1
    return 0


def _check_scope(config: Config, teams: list[str], screens: list[str]) -> None:
    known_teams = {t.id for t in config.teams}
    known_screens = {s.id for s in config.screens} | {"all"}
    for t in teams:
        if t not in known_teams:
            raise UserError(f"no team {t!r} in the config (teams: {', '.join(sorted(known_teams))})")
    for s in screens:
        if s not in known_screens:
            raise UserError(f"no screen {s!r} in the config (screens: {', '.join(sorted(known_screens))})")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "never"


def cmd_display_key(config: Config, path: Path, args: argparse.Namespace, url_for: UrlFor) -> int:
    from wallboard.display_keys import KeyStore
    from wallboard.streams import connect

    url = url_for(config)
    if not url:
        print("wallboard: no wallboard is running; start `wallboard run` or set redis.url", file=sys.stderr)
        return 1
    if args.action == "add":
        try:
            _check_scope(config, args.team, args.screen)
        except UserError as exc:
            print(f"wallboard: {exc}", file=sys.stderr)
            return 1

    async def main() -> int:
        client = connect(url)
        try:
            store = KeyStore(client, config.redis.prefix)
            if args.action == "add":
                try:
                    record, key = await store.add(args.name, tuple(args.screen), tuple(args.team), args.manager)
                except ValueError as exc:
                    print(f"wallboard: {exc}", file=sys.stderr)
                    return 1
                first = (
                    f"/wall/{record.screens[0]}"
                    if record.screens
                    else (f"/team/{record.teams[0]}" if record.teams else "/manager")
                )
                host = "127.0.0.1" if config.web.host in ("0.0.0.0", "::") else config.web.host
                print(f"display key {record.name} opens {record.scope()}")
                print(f"key (shown once, keep it secret): {key}")
                print(f"set a screen up by opening once: http://{host}:{config.web.port}{first}?key={key}")
            elif args.action == "revoke":
                if not await store.revoke(args.name):
                    print(f"wallboard: no display key {args.name!r}", file=sys.stderr)
                    return 1
                print(f"display key {args.name} revoked: its screens go dark within seconds")
            else:
                records, seen = await store.all(), await store.last_seen()
                if not records:
                    print("no display keys (wallboard display-key add NAME --screen ID)")
                for name in sorted(records):
                    r = records[name]
                    print(f"{name:24} {r.scope():40} made {_when(r.created)}  last used {_when(seen.get(name, 0))}")
            return 0
        finally:
            await client.aclose()

    return asyncio.run(main())


def cmd_audit(config: Config, path: Path, args: argparse.Namespace, url_for: UrlFor) -> int:
    from wallboard.audit import Audit
    from wallboard.streams import connect

    url = url_for(config)
    if not url:
        print("wallboard: no wallboard is running; start `wallboard run` or set redis.url", file=sys.stderr)
        return 1

    async def main() -> None:
        client = connect(url)
        try:
            entries = await Audit(client, config.redis.prefix, config.privacy.audit_maxlen).recent(args.count)
        finally:
            await client.aclose()
        for e in reversed(entries):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(e.get("ts") or 0)))
            print(
                f"{when} {e.get('event', ''):15} {e.get('who') or '-':28} {e.get('from') or '-':15} "
                f"{e.get('at') or '-'} {e.get('detail', '')}"
            )

    asyncio.run(main())
    return 0


def cmd_purge(config: Config, path: Path, args: argparse.Namespace, url_for: UrlFor) -> int:
    from wallboard.retention import purge
    from wallboard.streams import Streams, connect

    url = url_for(config)
    if not url:
        print("wallboard: no wallboard is running; start `wallboard run` or set redis.url", file=sys.stderr)
        return 1
    days = args.older_than_days
    if days is not None and days < 1:
        print("wallboard: --older-than-days must be at least 1 (today's numbers need today's events)", file=sys.stderr)
        return 1

    async def main() -> dict[str, int]:
        client = connect(url)
        try:
            streams = Streams.configured(client, config.redis)
            return await purge(streams, config, time.time(), older_than_days=days)
        finally:
            await client.aclose()

    trimmed = asyncio.run(main())
    kept = config.privacy.retention_days if days is None else days
    print(f"purged entries older than {kept:g} days: " + ", ".join(f"{k} {n}" for k, n in sorted(trimmed.items())))
    return 0


HANDLERS = {"user": cmd_user, "display-key": cmd_display_key, "audit": cmd_audit, "purge": cmd_purge}
