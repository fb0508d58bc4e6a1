"""Redis with a password: the embedded server's own, and a Redis of yours with an ACL user.

The embedded server requires the random password kept (mode 0600) in its data folder, never
shown on a command line; its URL carries it. A Redis of yours is reached from its URL alone:
``redis://user:pass@host:port/0`` for an ACL user limited to the wallboard's keys and
commands (:data:`WALLBOARD_ACL`, the line DEPLOYMENT.md gives), ``rediss://`` for TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import os
import socket
import ssl
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import BaseModel
from redis.exceptions import AuthenticationError, NoPermissionError

from tests.helpers import eventually, free_port, until
from tests.test_aggregator import CONFIG, clock, simulated
from wallboard.aggregator import Aggregator
from wallboard.collectors.runtime import CollectorContext
from wallboard.hub import Hub
from wallboard.redis_server import (
    PASSWORD_FILE,
    EmbeddedRedis,
    EmbeddedRedisError,
    find_running,
    read_password,
    server_binary,
    stop_with_parent,
)
from wallboard.retention import purge
from wallboard.streams import Streams, connect, redact_url

#: The commands the wallboard sends, for an ACL user of its own (``~wb:*``: its keys alone).
#: Streams (events, refused, snapshots, audit), the group, the checkpoint in a transaction,
#: the append and id-store scripts, health/cursor/ticker hashes and strings, the retention's
#: XTRIM and XPENDING, the sign-in's secret and display keys (HSETNX, INCR), the aggregator's
#: lease (its fenced read: WATCH), the sign-in failure limit (sorted sets, TIME).
WALLBOARD_COMMANDS = (
    "+ping +select +xadd +xtrim +xrevrange +xread +xreadgroup +xack +xautoclaim +xpending"
    " +xgroup|create +xgroup|setid +xinfo|groups +get +set +del +pexpire +incr"
    " +hget +hset +hsetnx +hdel +hgetall +sadd +srem +sismember +scard"
    " +multi +exec +discard +watch +unwatch +evalsha +script|load"
    " +time +zadd +zcard +zpopmin +zrange +zremrangebyrank +zremrangebyscore"
)
WALLBOARD_ACL = f"user wallboard on >{{password}} resetkeys ~wb:* resetchannels -@all {WALLBOARD_COMMANDS}"


# ------------------------------------------------------------- embedded


def _cmdlines() -> dict[int, bytes]:
    """Every process's command line (those this user may read)."""
    out: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                out[int(entry.name)] = (entry / "cmdline").read_bytes()
    return out


def test_the_embedded_redis_requires_its_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "data", persist=False) as server:
        assert server.password is not None and len(server.password) >= 40  # token_urlsafe(32): 43
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(b"SET k v\r\nGET k\r\n")
            replies = b""
            while replies.count(b"\r\n") < 2:
                replies += raw.recv(1024)
        assert replies == b"-NOAUTH Authentication required.\r\n" * 2
        anonymous = redis.Redis(port=server.port, socket_timeout=5)
        with pytest.raises(AuthenticationError):
            anonymous.set("k", "v")
        anonymous.close()
        wrong = redis.Redis(port=server.port, password="not-the-password", socket_timeout=5)
        with pytest.raises(AuthenticationError):
            wrong.ping()
        wrong.close()
        url = find_running(tmp_path / "data")
        assert url == server.url == f"redis://:{server.password}@127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(url)
        assert client.set("k", "v") and client.get("k") == b"v"
        assert client.config_get("protected-mode") == {"protected-mode": "yes"}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        client.close()
        assert redact_url(url) == f"redis://:***@127.0.0.1:{server.port}/0"


def test_the_password_is_on_no_command_line_and_in_no_public_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = EmbeddedRedis(data, persist=True)
    server.start()
    try:
        assert server.process is not None and server.password is not None
        secret = server.password.encode()
        lines = _cmdlines()
        assert server.process.pid in lines  # (the server's own is read)
        assert [pid for pid, line in lines.items() if secret in line] == []
        assert stat.S_IMODE((data / PASSWORD_FILE).stat().st_mode) == 0o600
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for path in data.rglob("*"):  # the log, server.json, the append-only files
            if path.is_file() and path.name != PASSWORD_FILE:
                assert secret not in path.read_bytes(), path
        assert "password" not in json.loads((data / "server.json").read_text())
        # A restart by the supervisor (launch, same port) keeps it off the command line too.
        server.stop()
        server.launch()
        eventually(lambda: find_running(data), 15, "the relaunched server answering")
        assert [pid for pid, line in _cmdlines().items() if secret in line] == []
    finally:
        server.stop()


def test_the_password_is_kept_so_a_url_outlives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = EmbeddedRedis(data, persist=True)
    url = first.start()
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.set("kept", "1")
        first.stop()
        first.launch()  # as `wallboard run` restarts it: the children keep their URL
        eventually(lambda: find_running(data), 15, "the relaunched server answering")
        assert eventually(lambda: client.get("kept"), 15, "the old client served again") == b"1"
        first.stop()
        with EmbeddedRedis(data, persist=True) as again:  # a later `wallboard run`
            assert again.password == first.password
            assert redis.Redis.from_url(again.url).get("kept") == b"1"
    finally:
        client.close()
        first.stop()


def test_a_password_file_open_to_others_is_made_private_and_a_bad_one_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / PASSWORD_FILE).write_text("an-operators-own-password-0123\n")
    (data / PASSWORD_FILE).chmod(0o644)
    with EmbeddedRedis(data, persist=False) as server:
        assert server.password == "an-operators-own-password-0123"
        assert stat.S_IMODE((data / PASSWORD_FILE).stat().st_mode) == 0o600
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert redis.Redis.from_url(server.url).ping()
    (data / PASSWORD_FILE).write_text("short\n")
    with pytest.raises(EmbeddedRedisError, match="16 to 512 characters"):
        read_password(data)
    with pytest.raises(EmbeddedRedisError, match="16 to 512 characters"):
        EmbeddedRedis(data, persist=False).start()


def test_redact_url() -> None:
    cases = {
        "redis://127.0.0.1:6379/0": "redis://127.0.0.1:6379/0",
        "redis://:s3cret@127.0.0.1:6379/0": "redis://:***@127.0.0.1:6379/0",
        "redis://wallboard:p@ss:w0rd@redis.lan:6379/1": "redis://wallboard:***@redis.lan:6379/1",
        "rediss://wb:pw@redis.lan:6380/0?ssl_ca_certs=/etc/ca.pem": "rediss://wb:***@redis.lan:6380/0?ssl_ca_certs=/etc/ca.pem",
        "redis://redis.lan/0?password=pw&db=1": "redis://redis.lan/0?password=***&db=1",
        "unix:///run/redis.sock?password=pw": "unix:///run/redis.sock?password=***",
        "redis://:pa/ss@redis.lan:6379/0": "redis://***@redis.lan:6379/0",  # an unescaped "/"
        "redis://:a%40b@redis.lan:6379/0": "redis://:***@redis.lan:6379/0",
        "redis://user@redis.lan:6379/0": "redis://user@redis.lan:6379/0",  # a user name alone
        "redis://[::1": "***",
    }
    assert {url: redact_url(url) for url in cases} == cases


# ------------------------------------------------------ a Redis of yours


def _start_redis(tmp: Path, config: str) -> tuple[subprocess.Popen[bytes], int]:
    """A real redis-server on loopback, its config (passwords included) given on stdin."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [server_binary(), "-", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp)]
        + ["--save", "", "--appendonly", "no", "--logfile", "redis.log"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=stop_with_parent,
    )
    assert proc.stdin is not None
    proc.stdin.write(config.encode())
    proc.stdin.close()
    return proc, port


ADMIN_PASSWORD = "admin-" + os.urandom(12).hex()
WB_PASSWORD = "wb-" + os.urandom(12).hex()


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Redis of 'yours': requirepass for the default user, and the wallboard's ACL user."""
    config = f'requirepass "{ADMIN_PASSWORD}"\n' + WALLBOARD_ACL.format(password=WB_PASSWORD) + "\n"
    proc, port = _start_redis(tmp_path_factory.mktemp("acl-redis"), config)
    admin = redis.Redis(port=port, password=ADMIN_PASSWORD, socket_timeout=5)

    def answers() -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(admin.ping())
        return False

    try:
        eventually(answers, 15, "the ACL Redis answering")
        yield port
    finally:
        admin.close()
        proc.terminate()
        proc.wait(10)


class NoOptions(BaseModel):
    pass


def _empty(port: int) -> None:
    """Start a test on an empty server (as its administrator: the wallboard's user may not)."""
    admin = redis.Redis(port=port, password=ADMIN_PASSWORD, socket_timeout=5)
    admin.flushall()
    admin.close()


async def _aggregate_until(streams: Streams, hub: Hub, applied: int) -> None:
    """Run an aggregator (as ``wallboard aggregate`` does) until the hub shows ``applied`` events."""
    agg = Aggregator(CONFIG, streams, clock=clock, block_ms=20, publish_min_s=0.0)
    stop = asyncio.Event()
    running = asyncio.create_task(agg.run(stop))
    try:
        await until(lambda: hub.latest is not None and hub.latest["pipeline"]["applied"] == applied, 60, "folded")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)  # (it raises what Redis refused, if anything)
    checkpoint = await streams.load_checkpoint()
    assert checkpoint is not None and checkpoint["state"]["applied"] == applied


async def _pipeline_through(url: str) -> None:
    """Collector, aggregator (group reads, checkpoints, refusals, snapshots), hub, ingest id
    store, ticker and retention, all through ``url``; then what the ACL refuses."""
    client = connect(url)
    streams = Streams(client, "wb:")
    try:
        ctx = CollectorContext(CONFIG, CONFIG.collectors[0], NoOptions(), streams)
        events = simulated(410)
        await ctx.emit(events[:400])  # the collectors' append (the script)
        await ctx.heartbeat(force=True)
        await ctx.save_cursor({"at": 400})
        assert await ctx.load_cursor() == {"at": 400}
        await streams.append_raw({"garbage": "x"})  # refused: on events:rejected
        hub = Hub(streams, block_ms=50)
        following = asyncio.create_task(hub.run())
        try:
            await streams.set_ticker("*", "Reunión")
            await _aggregate_until(streams, hub, applied=400)
            assert hub.latest is not None and hub.latest["ticker"] == {"*": "Reunión"}
            assert hub.latest["pipeline"]["rejected"] == 1
            fresh, _ = await streams.claim_ids("ingest", [b"a", b"b"], now=1.0, horizon_s=60, max_ids=100)
            assert fresh == [0, 1] and await streams.id_store_size("ingest") == 2
            await streams.release_ids("ingest", [b"a"])
            # Five of ten new entries taken by an aggregator that then died: pending, never folded.
            await ctx.emit(events[400:])
            await client.xreadgroup("aggregator", "crashed", {streams.events_key: ">"}, count=5)
            counts = await purge(streams, CONFIG, now=time.time() + 1, older_than_days=0)
            assert counts["wb:events"] == 401 and counts["wb:events:rejected"] == 1
            # restore, the lease, XAUTOCLAIM of the dead one's five (nobody else reads under the
            # lease: taken at once), the other five (the fenced read: WATCH, MULTI)
            await _aggregate_until(streams, hub, applied=410)
            counts = await purge(streams, CONFIG, now=time.time() + 1, older_than_days=0)
            assert counts["wb:events"] == 10 and len(await client.xrevrange(streams.events_key)) == 0
            assert (await streams.group_info())["pending"] == 0
        finally:
            following.cancel()
        # The user's limits: no key outside its prefix, no command it was not given.
        with pytest.raises(NoPermissionError):
            await client.set("other:key", "x")
        with pytest.raises(NoPermissionError):
            await client.execute_command("FLUSHALL")
        with pytest.raises(NoPermissionError):
            await client.config_get("requirepass")
    finally:
        await client.aclose()


async def test_an_acl_user_limited_to_the_prefix_runs_the_whole_wallboard(acl_redis: int) -> None:
    _empty(acl_redis)
    url = f"redis://wallboard:{WB_PASSWORD}@127.0.0.1:{acl_redis}/0"
    await _pipeline_through(url)
    anonymous = connect(f"redis://127.0.0.1:{acl_redis}/0")
    with pytest.raises(AuthenticationError):
        await anonymous.get("wb:events")
    await anonymous.aclose()
    wrong = connect(f"redis://wallboard:nope@127.0.0.1:{acl_redis}/0")
    with pytest.raises(AuthenticationError):
        await wrong.ping()
    await wrong.aclose()


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wallboard test redis")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextlib.asynccontextmanager
async def _tls_in_front_of(port: int, cert: Path, key: Path) -> AsyncIterator[int]:
    """A TLS endpoint forwarding to the plain Redis on ``port`` (as stunnel or a managed Redis's
    TLS would): the client below speaks real TLS over a real socket."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tasks: set[asyncio.Task[None]] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        for task in (asyncio.create_task(pump(reader, up_writer)), asyncio.create_task(pump(up_reader, writer))):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_rediss_with_an_acl_user_over_real_tls(acl_redis: int, tmp_path: Path) -> None:
    _empty(acl_redis)
    cert, key = _self_signed(tmp_path)
    async with _tls_in_front_of(acl_redis, cert, key) as tls_port:
        url = f"rediss://wallboard:{WB_PASSWORD}@127.0.0.1:{tls_port}/0?ssl_ca_certs={cert}"
        await _pipeline_through(url)
        # The certificate is checked: without the CA that signed it, no connection.
        untrusted = connect(f"rediss://wallboard:{WB_PASSWORD}@127.0.0.1:{tls_port}/0")
        with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
            await untrusted.ping()
        await untrusted.aclose()
