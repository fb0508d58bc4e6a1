from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.helpers import eventually, listening
from wallboard.redis_server import EmbeddedRedis, EmbeddedRedisError, find_running, read_password, server_binary


def test_binary_is_a_real_redis_server() -> None:
    assert Path(server_binary()).name == "redis-server"


def test_starts_persists_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    url = server.start()
    try:
        assert url.startswith(f"redis://:{server.password}@127.0.0.1:")
        assert find_running(tmp_path / "data") == url
        client = redis.Redis.from_url(url)
        client.set("kept", "yes")
        assert client.config_get("bind")["bind"].startswith("127.0.0.1")
        client.close()
    finally:
        server.stop()
    assert find_running(tmp_path / "data") is None
    assert (tmp_path / "data" / "appendonly.aof").exists()
    with EmbeddedRedis(tmp_path / "data") as again:
        client = redis.Redis.from_url(again.url)
        assert client.get("kept") == b"yes"
        client.close()


def test_a_taken_port_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(EmbeddedRedisError, match="did not start"):
            EmbeddedRedis(tmp_path, port=port).start(timeout=3)


def test_stale_server_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "server.json").write_text('{"port": 1, "pid": 999999999}')
    assert find_running(tmp_path) is None
    (tmp_path / "server.json").write_text("not json")
    assert find_running(tmp_path) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_a_killed_parent_leaves_no_redis_behind(tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from wallboard.redis_server import EmbeddedRedis\n"
        f"r = EmbeddedRedis(Path({str(tmp_path)!r}), persist=False); r.start()\n"
        "print(r.process.pid, r.port, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid, port = (int(x) for x in parent.stdout.readline().split())
    client = redis.Redis(port=port, password=read_password(tmp_path))
    assert client.ping()
    client.close()
    parent.kill()  # SIGKILL: no cleanup code runs in the parent
    parent.wait(10)
    eventually(lambda: not listening(port), 10, f"redis-server {pid} gone after its parent was killed")
    parent.stdout.close()
