"""Who may open what: the one rule every door of the web process asks.

Pure. A :class:`Principal` is whoever a request comes from (a person signed in,
a display key's screen, or anyone in open mode); its :class:`Grant` says which
wall screens and teams it opens, whether the manager view, and whether the admin
details. :func:`may_open` answers for a page path, :func:`may_subscribe` for a
``/ws`` subscription; Dash's page callback is asked through :func:`may_open`
with the path it would draw.

Roles (least to most): a team leader opens their teams and the wall screens
showing only queues their teams serve; a supervisor the wall screens and teams
of their floor (all when none are named); a manager everything; an admin also the
health details. A display key opens the screens, teams and views it names, with
the screens its screens rotate with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from wallboard.config import Config
from wallboard.views import Selector

Kind = Literal["person", "display", "open"]

#: The wall screen of every queue: ``/wall/all``.
ALL_SCREEN = "all"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a principal opens: ``None`` for screens or teams means every one."""

    screens: frozenset[str] | None = frozenset()
    teams: frozenset[str] | None = frozenset()
    manager: bool = False
    admin: bool = False

    def screen(self, screen_id: str) -> bool:
        return self.screens is None or screen_id in self.screens

    def team(self, team_id: str) -> bool:
        return self.teams is None or team_id in self.teams


EVERYTHING = Grant(screens=None, teams=None, manager=True, admin=True)


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever a request or socket comes from.

    ``credential`` names what can be revoked under it: ``key:<name>`` for a display
    key, ``user:<name>`` for a local account, ``oidc:<name>`` for a single sign-on.
    """

    kind: Kind
    name: str
    role: str
    grant: Grant
    credential: str = ""
    #: For a local account: when its password last changed, as signed into the session; for a
    #: display key: its record's id (a key made again under the same name is another key).
    stamp: str = ""
    #: When a person's session ends (epoch seconds; ``None``: never, a screen's key).
    expires: float | None = None
    #: The session's own id (sign-out ends it, by this id).
    session: str = ""

    @property
    def label(self) -> str:
        """How the audit log names it (a person's user name, a key's name)."""
        return f"{self.kind}:{self.name}"


OPEN = Principal("open", "anyone", "open", EVERYTHING, "")


def _closure(config: Config, screens: Iterable[str]) -> frozenset[str]:
    """The screens with those each rotates with (a TV showing ``sala`` subscribes to them too)."""
    out: set[str] = set()
    todo = list(screens)
    while todo:
        sid = todo.pop()
        if sid in out:
            continue
        out.add(sid)
        sc = config.screen(sid)
        if sc is not None:
            todo.extend(sc.rotate_with)
    return frozenset(out)


def served_queues(config: Config, teams: Iterable[str]) -> frozenset[str]:
    wanted = set(teams)
    return frozenset(q for t in config.teams if t.id in wanted for q in t.queues)


def person_grant(config: Config, role: str, teams: Iterable[str] = (), screens: Iterable[str] = ()) -> Grant:
    """What a person of ``role`` opens; ``teams``/``screens`` are theirs (a supervisor's floor)."""
    teams, screens = tuple(teams), tuple(screens)
    if role == "admin":
        return EVERYTHING
    if role == "manager":
        return Grant(screens=None, teams=None, manager=True)
    if role == "supervisor":
        return Grant(
            screens=_closure(config, screens) if screens else None,
            teams=frozenset(teams) if teams else None,
        )
    if role == "team_leader":
        served = served_queues(config, teams)
        candidates = [sc.id for sc in config.screens] + [ALL_SCREEN]
        walls = {sid for sid in candidates if config.screen_queues(sid) and config.screen_queues(sid) <= served}
        return Grant(screens=frozenset(walls), teams=frozenset(teams))
    raise ValueError(f"unknown role {role!r}")


def key_grant(config: Config, screens: Iterable[str] = (), teams: Iterable[str] = (), manager: bool = False) -> Grant:
    """What a display key naming these screens, teams and views opens."""
    return Grant(screens=_closure(config, screens), teams=frozenset(teams), manager=manager)


def page_of(path: str) -> tuple[str, str] | None:
    """The view a page path draws, and its screen or team: ``("wall", "sala")``, ``("home", "")``.
    ``None``: not a page path."""
    if path in ("/", ""):
        return ("home", "")
    if path == "/manager":
        return ("manager", "")
    for prefix, view in (("/wall/", "wall"), ("/tv/", "wall"), ("/team/", "team")):  # /tv: the TV-lite page
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            if rest and "/" not in rest:
                return (view, rest)
    return None


def may_open(grant: Grant, path: str) -> bool:
    """Whether the page at ``path`` may be drawn for this grant (the home page for anyone)."""
    page = page_of(path)
    if page is None:
        return False
    view, ident = page
    if view == "home":
        return True
    if view == "manager":
        return grant.manager
    if view == "wall":
        return grant.screen(ident)
    return grant.team(ident)


def may_subscribe(grant: Grant, selector: Selector) -> bool:
    """Whether a ``/ws`` subscription may be served for this grant."""
    if selector.view == "manager":
        return grant.manager
    if selector.view == "team":
        return grant.team(selector.team)
    return all(grant.screen(sc) for sc in selector.screens)


def visible_screens(config: Config, grant: Grant) -> list[str]:
    """The wall screens (ids, with ``all`` last) this grant opens, for the home page."""
    return [sid for sid in [*(sc.id for sc in config.screens), ALL_SCREEN] if grant.screen(sid)]


def visible_teams(config: Config, grant: Grant) -> list[str]:
    return [t.id for t in config.teams if grant.team(t.id)]
