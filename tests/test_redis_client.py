"""The URL forms of wallboard.redis_client: sentinel and cluster URLs read, bad ones refused with
what is wrong (never the password), and real clients through three sentinels and a cluster."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.topology import Cluster, SentinelSet
from wallboard.redis_client import Target, client_for, connect_any, parse, url_error
from wallboard.streams import UNREACHABLE, redact_url

SECRET = "s3cr%2Ft"  # "s3cr/t", escaped as a URL must


def test_a_sentinel_url_names_the_sentinels_the_master_and_both_passwords() -> None:
    target = parse(
        f"rediss+sentinel://app:{SECRET}@10.0.0.1:26380,sentinel-b,[::1]:26381/wbmaster/2"
        "?sentinel_password=sp%40ss&sentinel_username=watcher&ssl_ca_certs=/etc/ca.pem"
    )
    assert target == Target(
        kind="sentinel",
        hosts=(("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 26381)),
        tls=True,
        master="wbmaster",
        db=2,
        username="app",
        password="s3cr/t",
        sentinel_username="watcher",
        sentinel_password="sp@ss",
        tls_options=(("ssl_ca_certs", "/etc/ca.pem"),),
    )
    assert "s3cr" not in repr(target) and "sp@ss" not in repr(target)
    plain = parse("redis+sentinel://h1,h2/m/")
    assert (plain.db, plain.password, plain.username, plain.tls) == (0, None, None, False)
    assert parse("redis+sentinel://:pw@h/m").password == "pw"
    assert parse("redis+sentinel://pw@h/m").password == "pw"  # as redis-py reads redis://pw@host


def test_a_cluster_url_names_its_startup_nodes() -> None:
    target = parse("redis+cluster://:pw@n1:7000,n2/0")
    assert (target.kind, target.hosts, target.password, target.db) == ("cluster", (("n1", 7000), ("n2", 6379)), "pw", 0)
    assert parse("rediss+cluster://n1:7000?ssl_ca_certs=/ca.pem").tls_options == (("ssl_ca_certs", "/ca.pem"),)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"redis+sentinel://:{SECRET}@h1:26379,h2:26379", "needs the master's name"),
        (f"redis+sentinel://:{SECRET}@h1:26379/", "needs the master's name"),
        (f"redis+sentinel://:{SECRET}@h1:263790/m", "port must be a number from 1 to 65535"),
        (f"redis+sentinel://:{SECRET}@h1:x/m", "port must be a number"),
        (f"redis+sentinel://:{SECRET}@h1,,h2/m", "empty host"),
        (f"redis+sentinel://:{SECRET}@/m", "at least one host"),
        (f"redis+sentinel://:{SECRET}@::1/m", "IPv6 address goes in brackets"),
        (f"redis+sentinel://:{SECRET}@h/m/x", "database must be a number"),
        (f"redis+sentinel://:{SECRET}@h/m/0/1", "/<master-name>[/<db>]"),
        (f"redis+sentinel://:{SECRET}@h/m?sentinel_pasword=x", "no query argument 'sentinel_pasword'"),
        (f"redis+sentinel://:{SECRET}@h/m?ssl_ca_certs=/ca.pem", "but no TLS: use rediss+sentinel://"),
        (f"redis+sentinel://:{SECRET}@h/m?sentinel_password=a&sentinel_password=b", "twice"),
        ("redis+sentinel://:pa/ss@h/m", "holds a '/', '?' or '#'"),
        (f"redis+cluster://:{SECRET}@h:7000/1", "only database 0"),
        (f"redis+cluster://:{SECRET}@h:7000/0/0", "at most /0"),
        (f"redis+cluster://:{SECRET}@h:7000?sentinel_password=x", "no query argument 'sentinel_password'"),
    ],
)
def test_a_bad_url_is_refused_naming_what_is_wrong_and_not_the_password(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        connect_any(url)
    message = str(caught.value)
    assert says in message, message
    assert "s3cr" not in message and "pa/ss" not in message and "pa" + "/" not in message
    assert url_error(url) == message


def test_url_error_takes_every_form_and_names_the_schemes() -> None:
    for url in ("redis://:pw@127.0.0.1:6379/0", "unix:///run/redis.sock", "redis+sentinel://h/m", "redis+cluster://h"):
        assert url_error(url) == "", url
    assert "redis+sentinel://" in url_error("http://:pw@h/") and "pw" not in url_error("http://:pw@h/")


def test_a_cluster_is_no_single_server_client() -> None:
    with pytest.raises(ValueError, match="Redis Cluster"):
        client_for("redis+cluster://127.0.0.1:7000")
    assert isinstance(connect_any("redis+cluster://127.0.0.1:7000"), RedisCluster)


def test_logs_see_these_forms_redacted() -> None:
    url = f"redis+sentinel://app:{SECRET}@h1:26379,h2:26379/m/0?sentinel_password=sp4ss&ssl_ca_certs=/ca.pem"
    shown = redact_url(url)
    assert shown == "redis+sentinel://app:***@h1:26379,h2:26379/m/0?sentinel_password=***&ssl_ca_certs=/ca.pem"
    assert redact_url(f"redis+cluster://:{SECRET}@n1:7000,n2:7001") == "redis+cluster://:***@n1:7000,n2:7001"


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    with SentinelSet(tmp_path_factory.mktemp("sentinel")) as s:
        yield s


async def test_through_the_sentinels_to_the_master_and_on_after_a_failover(sentinels: SentinelSet) -> None:
    client = client_for(sentinels.url())
    assert isinstance(client, Redis)
    try:
        await client.set("k", "before")
        assert await client.get("k") == "before"
        old = sentinels.kill_master()
        failures = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # what the project's retry loops do: an unreachable Redis, then the new master
            try:
                await client.set("k", "after")
                break
            except UNREACHABLE:
                failures += 1
                assert loop.time() < deadline, "no write succeeded within 30 s of the master's death"
                await asyncio.sleep(0.1)
        assert failures >= 1
        new = sentinels.current_master()
        assert new is not old
        with new.client() as direct:
            assert direct.get("k") == "after"
    finally:
        await client.aclose()


async def test_a_demoted_master_is_a_connection_error_that_is_retried(tmp_path: Path) -> None:
    """redis-py's Sentinel client turns -READONLY from the server it took for the master into a
    ConnectionError (and asks the sentinels again on the next connection): the retry loops of the
    collectors, the aggregator and the web process take it as Redis being away, never as a bug."""
    with SentinelSet(tmp_path) as s:
        client = client_for(s.url())
        try:
            await client.set("k", "v")
            with s.master.client() as direct:  # the master becomes a replica under the client's feet
                direct.execute_command("REPLICAOF", "127.0.0.1", str(s.replicas[0].port))
            with pytest.raises(RedisConnectionError, match="previous master is now a slave"):
                await client.set("k", "w")
        finally:
            await client.aclose()


async def test_a_cluster_client_finds_every_node_from_one(tmp_path: Path) -> None:
    with Cluster(tmp_path) as cluster:
        one = cluster.url().rsplit(",", 2)[0]  # the first node only
        client = connect_any(one)
        try:
            for tag in ("{a}", "{b}", "{c}", "{wb}"):
                await client.set(f"{tag}:k", tag)
            assert len(client.get_nodes()) == 3
            assert [await client.get(f"{tag}:k") for tag in ("{a}", "{b}", "{c}", "{wb}")] == [
                "{a}",
                "{b}",
                "{c}",
                "{wb}",
            ]
        finally:
            await client.aclose()


async def test_wait_replicas_holds_a_batch_until_a_replica_has_it(tmp_path: Path) -> None:
    """``redis.wait_replicas: 1``: with the replica stopped (SIGSTOP) a batch is not acknowledged —
    the append raises :class:`ReplicasBehind` (a timeout: the collector sends it again, its cursor
    unmoved) — and once the replica runs again the same append goes through."""
    from tests.test_aggregator import simulated
    from wallboard.streams import ReplicasBehind, Streams, connect

    with SentinelSet(tmp_path / "wait") as s:
        client = connect(s.url())
        streams = Streams(client, "wb:", wait_replicas=1, wait_timeout_ms=300)
        events = simulated(20)
        try:
            assert len(await streams.append(events[:10])) == 10  # the replica runs: acknowledged
            replica = s.replicas[0].process
            assert replica is not None
            replica.send_signal(signal.SIGSTOP)
            try:
                with pytest.raises(ReplicasBehind, match="only 0 of 1 replicas"):
                    await streams.append(events[10:])
            finally:
                replica.send_signal(signal.SIGCONT)
            assert len(await streams.append(events[10:])) == 10  # sent again: taken and acknowledged
            # the events are on the master twice now: the aggregator counts an event id once
            assert await client.xlen(streams.events_key) == 30
        finally:
            await client.aclose()
