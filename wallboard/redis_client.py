"""A Redis client for a URL: the one place that knows the URL forms.

- ``redis://[[user]:password@]host:port/db``, ``rediss://`` for TLS (``?ssl_ca_certs=/path/ca.pem``
  to trust a private CA) and ``unix:///path.sock``, as redis-py reads them;
- ``redis+sentinel://[[user]:password@]h1:26379,h2:26379,h3:26379/<master-name>[/<db>]`` through
  Redis Sentinel: the sentinels are asked which server is the master of ``<master-name>``, and
  asked again whenever a connection to it fails (a failover). The user and password are the data
  nodes' (master and replicas); the sentinels' own, if they require one, are the query arguments
  ``sentinel_password`` (and ``sentinel_username``). ``rediss+sentinel://`` speaks TLS to the
  data nodes *and* to the sentinels (the sentinels hand out the master's address and, with
  ``sentinel_password``, receive a secret: both deserve the same protection); the
  ``ssl_ca_certs``, ``ssl_certfile`` and ``ssl_keyfile`` arguments apply to both;
- ``redis+cluster://[[user]:password@]h1:6379,h2:6379[/0]`` for a Redis Cluster: the nodes given
  are where the client starts; it learns the others and the slot map from them
  (``rediss+cluster://`` for TLS). A cluster has only database 0. Every key of one wallboard
  must share one hash tag (``redis.prefix: "{wb}:"``): see ``docs/REDIS.md``.

A port missing from a host is 26379 for a sentinel, 6379 for a cluster node. A bad URL raises
:class:`ValueError` naming what is wrong, never quoting the password.

No ``socket_timeout``: with one, redis-py (8.1) wraps every send in ``asyncio.wait_for``,
which on Python 3.11 swallows a cancellation that lands as the send completes — measured
here, 325 of 400 cancelled ``SET`` loops kept running — and a task that cannot be cancelled
hangs a shutdown. A dead peer is found by TCP keep-alive instead (about 11 s), a stopped
server by the refused connection, and the blocking reads of the project are all bounded (≤ 1 s).
The same holds for the connections to the sentinels.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

#: What the project's Redis operations run on: one server (directly or through Sentinel) or a cluster.
Client: TypeAlias = Redis | RedisCluster

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
_DEFAULT_PORT = {"sentinel": 26379, "cluster": 6379}
#: The query arguments the sentinel and cluster forms take (any other is refused: a typo would be silent).
_TLS_ARGS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_SENTINEL_ARGS = ("sentinel_password", "sentinel_username", *_TLS_ARGS)
_CLUSTER_ARGS = _TLS_ARGS


def _keepalive() -> dict[int, int | bytes]:
    options: dict[int, int | bytes] = {}
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            options[getattr(socket, name)] = value
    return options


def connection_options() -> dict[str, Any]:
    """The options every connection of the project is made with."""
    return {
        "decode_responses": True,
        "socket_timeout": None,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "socket_keepalive_options": _keepalive(),
        "health_check_interval": 15,
    }


@dataclass(frozen=True)
class Target:
    """What a sentinel or cluster URL names (the password kept out of ``repr``)."""

    kind: str  # "sentinel" or "cluster"
    hosts: tuple[tuple[str, int], ...]
    tls: bool = False
    master: str = ""  # sentinel: the monitored master's name
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    tls_options: tuple[tuple[str, str], ...] = ()


def is_multi_node(url: str) -> bool:
    """Whether ``url`` is a sentinel or cluster form (else redis-py reads it)."""
    scheme = url.partition("://")[0].lower()
    return scheme in SENTINEL_SCHEMES or scheme in CLUSTER_SCHEMES


def _hosts(hostinfo: str, kind: str, scheme: str) -> tuple[tuple[str, int], ...]:
    if not hostinfo:
        raise ValueError(f"a {scheme}:// URL needs at least one host:port after '//'")
    hosts: list[tuple[str, int]] = []
    for item in hostinfo.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"a {scheme}:// URL has an empty host in its list (two commas, or one at an end)")
        if item.startswith("["):  # [IPv6]:port
            host, bracket, rest = item[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"{scheme}:// host {item!r}: an IPv6 address goes in brackets, e.g. [::1]:26379")
            port_text = rest[1:]
        else:
            host, _, port_text = item.partition(":")
            if ":" in port_text:
                raise ValueError(f"{scheme}:// host {item!r}: an IPv6 address goes in brackets, e.g. [::1]:26379")
        if not host:
            raise ValueError(f"{scheme}:// host {item!r} has no host name")
        if port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ValueError(f"{scheme}:// host {item!r}: the port must be a number from 1 to 65535")
            port = int(port_text)
        else:
            port = _DEFAULT_PORT[kind]
        hosts.append((host, port))
    return tuple(hosts)


def parse(url: str) -> Target:
    """The parts of a ``redis+sentinel://`` or ``redis+cluster://`` URL (``ValueError`` if bad)."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or not is_multi_node(url):
        raise ValueError(
            f"not a sentinel or cluster URL (scheme {scheme!r}; expected one of "
            f"{', '.join(s + '://' for s in SENTINEL_SCHEMES + CLUSTER_SCHEMES)})"
        )
    kind = "sentinel" if scheme in SENTINEL_SCHEMES else "cluster"
    if "#" in rest:
        raise ValueError(f"a {scheme}:// URL takes no '#' fragment (a '#' in a password is written %23)")
    rest, _, query = rest.partition("?")
    # The user info ends at the last "@" before the path: a password may hold "@" only as %40,
    # but an unescaped one must not make its tail a host name (and so appear in an error).
    authority, slash, path = rest.partition("/")
    userinfo, at, hostinfo = authority.rpartition("@")
    if not at and "@" in rest:
        raise ValueError(f"a {scheme}:// URL's password holds a '/', '?' or '#': write them as %2F, %3F, %23")
    username: str | None = None
    password: str | None = None
    if at:
        user_text, colon, password_text = userinfo.partition(":")
        username = unquote(user_text) or None
        password = unquote(password_text) if colon else None
        if not colon:  # redis://name@host: redis-py reads a lone user info as the password; so do we
            username, password = None, unquote(user_text) or None
    hosts = _hosts(hostinfo, kind, scheme)
    segments = [unquote(s) for s in path.split("/")] if slash else []
    if segments and segments[-1] == "":
        segments.pop()  # a trailing "/"
    master = ""
    db_text = ""
    if kind == "sentinel":
        if not segments or not segments[0]:
            raise ValueError(
                f"a {scheme}:// URL needs the master's name after the hosts "
                f"(the name the sentinels monitor): {scheme}://h1:26379,h2:26379,h3:26379/mymaster"
            )
        master = segments[0]
        if len(segments) > 2:
            raise ValueError(f"a {scheme}:// URL's path is /<master-name>[/<db>]: it has {len(segments)} parts")
        db_text = segments[1] if len(segments) == 2 else ""
    else:
        if len(segments) > 1:
            raise ValueError(f"a {scheme}:// URL's path is at most /0 (a cluster has only database 0)")
        db_text = segments[0] if segments else ""
    db = 0
    if db_text:
        if not db_text.isdigit():
            raise ValueError(f"a {scheme}:// URL's database must be a number, got {db_text!r}")
        db = int(db_text)
        if kind == "cluster" and db != 0:
            raise ValueError(f"a {scheme}:// URL names database {db}: a Redis Cluster has only database 0")
    allowed = _SENTINEL_ARGS if kind == "sentinel" else _CLUSTER_ARGS
    args: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name not in allowed:
            raise ValueError(f"a {scheme}:// URL takes no query argument {name!r} (it takes: {', '.join(allowed)})")
        if name in args:
            raise ValueError(f"a {scheme}:// URL gives the query argument {name!r} twice")
        args[name] = value
    tls = scheme.startswith("rediss")
    tls_options = tuple((k, v) for k, v in args.items() if k in _TLS_ARGS)
    if tls_options and not tls:
        raise ValueError(
            f"a {scheme}:// URL has {', '.join(k for k, _ in tls_options)} but no TLS: use "
            f"{scheme.replace('redis', 'rediss', 1)}://"
        )
    return Target(
        kind=kind,
        hosts=hosts,
        tls=tls,
        master=master,
        db=db,
        username=username,
        password=password,
        sentinel_username=args.get("sentinel_username") or None,
        sentinel_password=args.get("sentinel_password") or None,
        tls_options=tls_options,
    )


def _tls(target: Target) -> dict[str, Any]:
    return {"ssl": True, **dict(target.tls_options)} if target.tls else {}


def sentinel_for(target: Target) -> Sentinel:
    """A :class:`Sentinel` manager for a parsed sentinel URL."""
    options = connection_options()
    sentinel_kwargs: dict[str, Any] = {
        **{k: v for k, v in options.items() if k.startswith("socket_")},
        "decode_responses": True,
        **_tls(target),
    }
    if target.sentinel_password is not None:
        sentinel_kwargs["password"] = target.sentinel_password
    if target.sentinel_username is not None:
        sentinel_kwargs["username"] = target.sentinel_username
    return Sentinel(list(target.hosts), sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]


class SentinelMaster(Redis):
    """The master's client (a :class:`Redis`) that also closes its connections to the sentinels."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self.sentinels is not None:
                for client in self.sentinels.sentinels:
                    await client.aclose()


def _sentinel_master(target: Target) -> Redis:
    sentinel = sentinel_for(target)
    master: SentinelMaster = sentinel.master_for(
        target.master,
        redis_class=SentinelMaster,
        db=target.db,
        username=target.username,
        password=target.password,
        **_tls(target),
        **connection_options(),
    )
    master.sentinels = sentinel
    return master


def _cluster(target: Target) -> RedisCluster:
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        username=target.username,
        password=target.password,
        **_tls(target),
        **connection_options(),
    )


def client_for(url: str) -> Redis:
    """An asyncio client for one server at ``url`` that can always be cancelled: directly, or the
    master that Sentinel names (a ``redis+sentinel://`` URL). ``ValueError`` for a bad URL, and
    for a cluster URL (a :class:`RedisCluster` is no :class:`Redis`: :func:`connect_any`)."""
    if is_multi_node(url):
        target = parse(url)
        if target.kind == "cluster":
            raise ValueError(
                f"{url.partition('://')[0]}:// names a Redis Cluster, which this Redis access "
                "(wallboard.redis_client.client_for) does not speak: it needs connect_any()"
            )
        return _sentinel_master(target)
    client: Redis = Redis.from_url(url, **connection_options())
    return client


def connect_any(url: str) -> Client:
    """An asyncio client for any URL form: :func:`client_for`'s, or a :class:`RedisCluster` for a
    ``redis+cluster://`` URL. ``ValueError`` for a bad URL."""
    if is_multi_node(url):
        target = parse(url)
        return _cluster(target) if target.kind == "cluster" else _sentinel_master(target)
    return client_for(url)


def url_error(url: str) -> str:
    """Why ``url`` is no Redis URL the project can use ("" when it is one): for a config check
    before anything connects. The message never quotes the password."""
    try:
        if is_multi_node(url):
            parse(url)
        else:
            from redis.asyncio.connection import parse_url

            parse_url(url)
    except ValueError as exc:
        if is_multi_node(url) or "scheme" not in str(exc):
            return str(exc)
        # redis-py's message names the forms it knows: those known here besides.
        return f"{exc} (or {', '.join(s + '://' for s in SENTINEL_SCHEMES + CLUSTER_SCHEMES)})"
    return ""
