"""The configuration's shape: every section as a frozen pydantic model, checked across sections.

:class:`Config` is what every process is given; its lookups (a queue's settings
with the defaults, an agent's team, a metric's colour thresholds) are answered
here, so no caller reads the raw tree.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wallboard.config.security import AuthSettings, PrivacySettings
from wallboard.kpi import SLFormula
from wallboard.redis_client import url_error
from wallboard.tiles import METRICS, default_window, window_error

Direction = Literal["higher_is_worse", "lower_is_worse"]

#: KPIs that take ok/warn/alert colour thresholds, with their built-in defaults.
DEFAULT_THRESHOLDS: dict[str, dict[str, Any]] = {
    "waiting": {"warn": 3, "alert": 8, "direction": "higher_is_worse"},
    "longest_wait_s": {"warn": 30, "alert": 90, "direction": "higher_is_worse"},
    "service_level_pct": {"warn": 80, "alert": 70, "direction": "lower_is_worse"},
    "abandon_rate_pct": {"warn": 5, "alert": 10, "direction": "higher_is_worse"},
    "asa_s": {"warn": 20, "alert": 45, "direction": "higher_is_worse"},
    "aht_s": {"warn": 360, "alert": 600, "direction": "higher_is_worse"},
    "occupancy_pct": {"warn": 90, "alert": 95, "direction": "higher_is_worse"},
}

_IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.\-@/]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RedisSettings(_Frozen):
    url: str = ""
    prefix: str = "wb:"
    data_dir: str = ".wallboard/redis"
    stream_maxlen: int = Field(default=1_000_000, ge=1_000)
    # The embedded server's memory bound (Redis's own syntax: 1gb, 512mb, bytes; 0: none).
    # Full, it refuses writes (noeviction) instead of evicting events.
    maxmemory: str = Field(default="1gb", pattern=r"(?i)^[0-9]+(b|[kmg]b?)?$")
    #: Collectors wait for this many replicas to acknowledge each batch (Redis ``WAIT``) before
    #: they advance their cursor: an acknowledged event then survives a failover. 0: no wait.
    wait_replicas: int = Field(default=0, ge=0, le=16)
    #: How long a collector waits for those acknowledgements before it sends the batch again.
    wait_timeout_ms: int = Field(default=1000, ge=10, le=60_000)

    @property
    def embedded(self) -> bool:
        return not self.url

    @model_validator(mode="after")
    def _cluster_needs_a_hash_tag(self) -> RedisSettings:
        if self.url and (bad := url_error(self.url)):
            raise ValueError(f"redis.url: {bad}")
        error = cluster_prefix_error(self.url, self.prefix)
        if error:
            raise ValueError(error)
        return self


def cluster_prefix_error(url: str, prefix: str) -> str:
    """Why ``prefix`` cannot be used with a Redis Cluster at ``url`` ("" if it can, or it is no cluster).

    The aggregator saves its checkpoint and acknowledges the events it holds in one transaction,
    under its lease: a cluster runs that only on keys of one slot, so every key of a wallboard
    shares the hash tag in its prefix (``{wb}:``)."""
    scheme = url.partition("://")[0].lower()
    if scheme.endswith("+cluster") and not re.search(r"\{[^{}]+\}", prefix):
        return (
            f"redis.prefix {prefix!r} has no hash tag: with a Redis Cluster ({scheme}://) every key of a "
            "wallboard must share one, e.g. prefix '{wb}:' (the checkpoint, the events it acknowledges "
            "and the lease are written in one transaction)"
        )
    return ""


class Threshold(_Frozen):
    warn: float
    alert: float
    direction: Direction

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        worse_up = self.direction == "higher_is_worse"
        if (worse_up and self.alert < self.warn) or (not worse_up and self.alert > self.warn):
            word = "at least" if worse_up else "at most"
            raise ValueError(f"alert ({self.alert:g}) must be {word} warn ({self.warn:g}) when {self.direction}")
        return self


class QueueDefaults(_Frozen):
    sl_threshold_s: int = Field(default=20, ge=1, le=3600)
    sl_target_pct: float = Field(default=80, gt=0, le=100)
    short_abandon_s: int = Field(default=5, ge=0, le=600)
    sl_formula: SLFormula = "answered"


class QueueConfig(QueueDefaults):
    id: str = Field(pattern=_IDENT)
    name: str = ""
    thresholds: dict[str, Threshold] = {}

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        return _check_metric_names(value)


class TeamConfig(_Frozen):
    id: str = Field(pattern=_IDENT)
    name: str = ""
    agents: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()


class AgentConfig(_Frozen):
    id: str = Field(pattern=_IDENT)
    name: str = ""
    team: str = ""
    aliases: tuple[str, ...] = ()


class PauseReason(_Frozen):
    id: str = Field(pattern=_IDENT)
    name: str = ""
    limit_s: int | None = Field(default=None, ge=1)
    aliases: tuple[str, ...] = ()


class TimeInState(_Frozen):
    """Seconds after which an agent tile escalates, per state."""

    available: tuple[int, ...] = (30, 60, 300)
    ringing: tuple[int, ...] = (10, 20, 30)
    on_call: tuple[int, ...] = (10, 60, 300)
    on_hold: tuple[int, ...] = (30, 60, 120)
    wrap_up: tuple[int, ...] = (30, 60, 120)
    not_ready: tuple[int, ...] = (10, 60, 300, 600, 900)

    @model_validator(mode="after")
    def _increasing(self) -> TimeInState:
        for name, steps in self.model_dump().items():
            if list(steps) != sorted(set(steps)) or any(s <= 0 for s in steps):
                raise ValueError(f"{name}: steps must be positive and increasing, got {list(steps)}")
        return self


class CollectorConfig(_Frozen):
    kind: str
    name: str = ""
    enabled: bool = True
    #: Admit events naming queues and agents the config does not list (up to ``events``' caps).
    discover: bool = False
    options: dict[str, Any] = {}

    @property
    def source(self) -> str:
        """The source name events from this collector carry."""
        return self.name or self.kind


class TileConfig(_Frozen):
    """One figure of a screen: a metric (:data:`wallboard.tiles.METRICS`) over a window."""

    metric: str
    #: ``now`` (instants), a rolling window in minutes (one of ``windows:``), ``interval`` or
    #: ``today``; empty: ``now`` for instants, ``today`` for call figures.
    window: str = ""
    #: One of the screen's queues (that queue alone, by its own rules); empty: the screen's.
    queue: str = ""
    #: ``big`` (the top row of a TV) or ``small`` (the strip below); empty: the metric's own.
    size: Literal["big", "small", ""] = ""

    @field_validator("window", mode="before")
    @classmethod
    def _window_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return str(int(value))  # "015" is the 15-minute window
        return value

    @model_validator(mode="after")
    def _window_default(self) -> TileConfig:
        if not self.window and self.metric in METRICS:
            object.__setattr__(self, "window", default_window(self.metric))
        return self


class ScreenConfig(_Frozen):
    """A wall/TV screen: what it shows, in which language, and what it rotates with."""

    id: str = Field(pattern=_IDENT)
    title: str = ""
    queues: tuple[str, ...] = ()  # empty: every queue
    language: Literal["es", "en"] | None = None
    theme: Literal["dark", "light"] = "dark"
    rotate_with: tuple[str, ...] = ()  # other screens shown in turn on the same TV
    dwell_s: int = Field(default=30, ge=5, le=3600)
    #: The tiles, in order (empty: the TV defaults, :func:`wallboard.tiles.wall_defaults`).
    tiles: tuple[TileConfig, ...] = ()
    #: A row per queue under the tiles: ``None`` when the screen shows more than one queue.
    queue_rows: bool | None = None
    #: The rows' columns (empty: :func:`wallboard.tiles.row_defaults`); ``queue`` is not used.
    rows: tuple[TileConfig, ...] = ()
    #: A short chime when a tile crosses into alert (a kiosk browser must allow autoplay:
    #: docs/DEPLOYMENT.md).
    chime: bool = False

    def shows_rows(self, queue_count: int) -> bool:
        """Whether the screen draws a row per queue (``queue_rows``, else when it has several)."""
        return self.queue_rows if self.queue_rows is not None else queue_count > 1

    def detail_queues(self, shown: list[str]) -> list[str]:
        """The queues whose own blocks the screen draws (its rows, its tiles naming a queue), of
        ``shown``, the queues it shows."""
        rows = shown if self.shows_rows(len(shown)) else []
        return list(dict.fromkeys([*rows, *(t.queue for t in self.tiles if t.queue)]))


class AggregatorSettings(_Frozen):
    #: The active aggregator's lease in Redis: renewed every third of it; a standby takes over
    #: once it has expired (an active that stops cleanly hands it over at once).
    lease_ttl_s: float = Field(default=5.0, ge=1.0, le=300.0)


class WebSettings(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    heartbeat_s: float = Field(default=5.0, gt=0, le=60)
    stale_after_s: float = Field(default=5.0, gt=0, le=600)
    #: The origins browsers reach the screens at (``https://wallboard.example.com``): a page of
    #: any other origin is refused on ``/ws`` and on every request that changes something.
    #: Empty: only the origin the request itself names (its Host header).
    public_origins: tuple[str, ...] = ()
    #: Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (cookies are then
    #: ``Secure`` when the proxy says https). Empty: none.
    trusted_proxies: tuple[str, ...] = ()
    #: A bearer token that reads /healthz in full (for monitoring); empty: only signed-in admins do.
    health_token: str = ""
    #: Open connections the web process holds at most (lowered at start to leave open files spare).
    max_connections: int = Field(default=15_000, ge=16, le=1_000_000)
    #: Open connections from one client address (screens behind one NAT share an address).
    max_connections_per_client: int = Field(default=500, ge=1, le=1_000_000)
    #: A connection that has not sent a whole request by then is closed.
    handshake_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: A ``/ws`` that has not sent its subscribe message by then is closed (code 1008).
    subscribe_timeout_s: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "display_keys" in data:
            raise ValueError(
                "display_keys are no longer read from the config: add each with "
                "`wallboard display-key add NAME --screen ID` (kept hashed in Redis, revocable live)"
            )
        return data

    @field_validator("public_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(f"an origin is scheme://host[:port] with no path, got {origin!r}")
        return tuple(o.lower() for o in value)


class EventRules(_Frozen):
    """What the aggregator admits: how far ahead of its clock, and how many unconfigured names."""

    max_clock_skew_s: float = Field(default=120.0, ge=0, le=3600)
    #: Days of interval counters kept; an event older than that is refused as late.
    retain_days: int = Field(default=2, ge=1, le=31)
    max_discovered_queues: int = Field(default=50, ge=0, le=10_000)
    max_discovered_agents: int = Field(default=500, ge=0, le=100_000)


class Config(_Frozen):
    redis: RedisSettings = RedisSettings()
    timezone: str = "UTC"
    day_start: str = "00:00"
    language: Literal["es", "en"] = "es"
    windows: tuple[int, ...] = (15, 30, 60)
    interval_minutes: int = Field(default=15, ge=1, le=60)
    queue_defaults: QueueDefaults = QueueDefaults()
    queues: tuple[QueueConfig, ...] = ()
    events: EventRules = EventRules()
    teams: tuple[TeamConfig, ...] = ()
    agents: tuple[AgentConfig, ...] = ()
    pause_reasons: tuple[PauseReason, ...] = ()
    thresholds: dict[str, Threshold] = {}
    time_in_state: TimeInState = TimeInState()
    collectors: tuple[CollectorConfig, ...] = ()
    screens: tuple[ScreenConfig, ...] = ()
    web: WebSettings = WebSettings()
    aggregator: AggregatorSettings = AggregatorSettings()
    auth: AuthSettings = AuthSettings()
    privacy: PrivacySettings = PrivacySettings()
    #: Folder of the config file; relative paths in the config are taken from here.
    base_dir: Path = Path(".")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. Europe/Madrid)") from None
        return value

    @field_validator("day_start")
    @classmethod
    def _day_start(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(f"must be HH:MM, got {value!r}")
        hour, minute = int(value[:2]), int(value[3:])
        if hour > 23 or minute > 59:
            raise ValueError(f"not a time of day: {value!r}")
        if minute % 15:
            raise ValueError(f"must fall on a quarter hour so intervals line up, got {value!r}")
        return value

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w <= 0 or w > 24 * 60 for w in value):
            raise ValueError(f"rolling windows are minutes between 1 and 1440, got {list(value)}")
        return tuple(sorted(set(value)))

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, Threshold]) -> dict[str, Threshold]:
        return _check_metric_names(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        for what, ids in (
            ("queues", [q.id for q in self.queues]),
            ("teams", [t.id for t in self.teams]),
            ("agents", [a.id for a in self.agents]),
            ("screens", [sc.id for sc in self.screens]),
        ):
            seen: set[str] = set()
            for i, item_id in enumerate(ids):
                if item_id in seen:
                    raise ValueError(f"{what}[{i}].id: duplicate id {item_id!r}")
                seen.add(item_id)
        if 900 % (self.interval_minutes * 60) and (self.interval_minutes * 60) % 900:
            raise ValueError(f"interval_minutes: must divide or be a multiple of 15, got {self.interval_minutes}")
        team_ids = {t.id for t in self.teams}
        queue_ids = {q.id for q in self.queues}
        agent_ids = {a.id for a in self.agents}
        listed: dict[str, str] = {}
        for ti, team in enumerate(self.teams):
            for qid in team.queues:
                if qid not in queue_ids:
                    raise ValueError(f"teams[{ti}].queues: unknown queue {qid!r}")
            for aid in team.agents:
                if aid not in agent_ids:
                    raise ValueError(f"teams[{ti}].agents: unknown agent {aid!r}")
                if aid in listed:
                    raise ValueError(f"teams[{ti}].agents: agent {aid!r} is already in team {listed[aid]!r}")
                listed[aid] = team.id
        aliases: dict[str, str] = {}
        for ai, agent in enumerate(self.agents):
            if agent.team and agent.team not in team_ids:
                raise ValueError(f"agents[{ai}].team: unknown team {agent.team!r}")
            if agent.team and listed.get(agent.id, agent.team) != agent.team:
                raise ValueError(
                    f"agents[{ai}].team: {agent.team!r} but teams list {agent.id!r} under {listed[agent.id]!r}"
                )
            for alias in agent.aliases:
                if aliases.get(alias, agent.id) != agent.id:
                    raise ValueError(f"agents[{ai}].aliases: {alias!r} already names agent {aliases[alias]!r}")
                aliases[alias] = agent.id
        screen_ids = {sc.id for sc in self.screens}
        if "centre" in queue_ids:
            raise ValueError(
                "queues: 'centre' names the whole centre (the manager's row, its CSV); give this queue another id"
            )
        if "all" in screen_ids:
            raise ValueError("screens: 'all' names the whole centre's screen (/wall/all); give this screen another id")
        for si, screen in enumerate(self.screens):
            for qid in screen.queues:
                if qid not in queue_ids:
                    raise ValueError(f"screens[{si}].queues: unknown queue {qid!r}")
            for other in screen.rotate_with:
                if other not in screen_ids:
                    raise ValueError(f"screens[{si}].rotate_with: unknown screen {other!r}")
            shown = set(screen.queues or queue_ids)
            for part in ("tiles", "rows"):
                drawn: set[tuple[str, str, str]] = set()
                for ti, tile in enumerate(getattr(screen, part)):
                    if (tile.metric, tile.window, tile.queue) in drawn:
                        raise ValueError(f"screens[{si}].{part}[{ti}]: {tile.metric} over {tile.window!r} twice")
                    drawn.add((tile.metric, tile.window, tile.queue))
                    problem = window_error(tile.metric, tile.window, self.windows)
                    if problem is None and part == "rows" and (tile.queue or tile.size):
                        problem = "a row's column takes no queue or size (each row is one of the screen's queues)"
                    if problem is None and tile.queue and tile.queue not in shown:
                        problem = f"queue {tile.queue!r} is not one of the screen's queues"
                    if problem is not None:
                        raise ValueError(f"screens[{si}].{part}[{ti}]: {problem}")
        for mi, mapping in enumerate(self.auth.oidc.roles):
            for tid in mapping.teams:
                if tid not in team_ids:
                    raise ValueError(f"auth.oidc.roles[{mi}].teams: unknown team {tid!r}")
            for sid in mapping.screens:
                if sid not in screen_ids and sid != "all":
                    raise ValueError(f"auth.oidc.roles[{mi}].screens: unknown screen {sid!r}")
            if mapping.role == "team_leader" and not mapping.teams:
                raise ValueError(f"auth.oidc.roles[{mi}]: a team_leader mapping needs its teams")
        names: set[str] = set()
        for ci, collector in enumerate(self.collectors):
            if collector.source in names:
                raise ValueError(f"collectors[{ci}].name: two collectors named {collector.source!r}; give each a name")
            names.add(collector.source)
        return self

    # ------------------------------------------------------------- lookups

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def day_start_time(self) -> time:
        return time(int(self.day_start[:2]), int(self.day_start[3:]))

    def screen(self, screen_id: str) -> ScreenConfig | None:
        for sc in self.screens:
            if sc.id == screen_id:
                return sc
        return None

    def queue(self, queue_id: str) -> QueueConfig:
        """The queue's settings; a queue absent from the config gets the defaults."""
        for q in self.queues:
            if q.id == queue_id:
                return q
        return QueueConfig(
            id=queue_id if re.match(_IDENT, queue_id) else "unknown", name=queue_id, **self.queue_defaults.model_dump()
        )

    def team_of(self) -> dict[str, str]:
        """Agent id → team id, from both the agents' ``team`` and the teams' ``agents``."""
        out = {a.id: a.team for a in self.agents if a.team}
        for team in self.teams:
            for aid in team.agents:
                out[aid] = team.id
        return out

    def agent_aliases(self) -> dict[str, str]:
        """Source-side name (``PJSIP/201``, ``Agent/1001``) → agent id; ids map to themselves."""
        out = {a.id: a.id for a in self.agents}
        for a in self.agents:
            for alias in a.aliases:
                out[alias] = a.id
        return out

    def pause_reason_codes(self) -> dict[str, str]:
        """Source-side pause text (case-folded) → configured reason code."""
        out: dict[str, str] = {}
        for r in self.pause_reasons:
            out[r.id.casefold()] = r.id
            for alias in r.aliases:
                out[alias.casefold()] = r.id
        return out

    def threshold(self, metric: str, queue_id: str | None = None) -> Threshold:
        """Colour thresholds of ``metric``, overridden per queue where configured."""
        if queue_id is not None:
            for q in self.queues:
                if q.id == queue_id and metric in q.thresholds:
                    return q.thresholds[metric]
        if metric in self.thresholds:
            return self.thresholds[metric]
        return Threshold(**DEFAULT_THRESHOLDS[metric])

    def redis_data_dir(self) -> Path:
        path = Path(self.redis.data_dir)
        return path if path.is_absolute() else self.base_dir / path

    def users_file(self) -> Path:
        path = Path(self.auth.users_file)
        return path if path.is_absolute() else self.base_dir / path

    def screen_queues(self, screen_id: str) -> frozenset[str]:
        """The queues a wall screen shows, with those of the screens it rotates with
        (``all``: every queue)."""
        every = frozenset(q.id for q in self.queues)
        if screen_id == "all":
            return every
        sc = self.screen(screen_id)
        if sc is None:
            return frozenset()
        shown = set(sc.queues or every)
        for other in sc.rotate_with:
            other_sc = self.screen(other)
            if other_sc is not None:
                shown |= set(other_sc.queues or every)
        return frozenset(shown)


def _check_metric_names(value: dict[str, Threshold]) -> dict[str, Threshold]:
    for name in value:
        if name not in DEFAULT_THRESHOLDS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(DEFAULT_THRESHOLDS)}")
    return value
