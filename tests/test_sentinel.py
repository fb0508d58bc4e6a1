"""Through Redis Sentinel, for real: `wallboard collect` (the HTTP ingest API on its own port),
`wallboard aggregate` and `wallboard web` on ``redis+sentinel://`` (a master, two replicas and three
sentinels on loopback, tests/topology.py); the master is killed with SIGKILL while events are being
posted. After the failover the three processes carry on, and with ``redis.wait_replicas: 1`` every
event the API acknowledged (HTTP 200) is on the new master's stream and counted once.

Two replicas: with ``wait_replicas: 1`` the promoted one needs another replica to acknowledge its
writes (with a single replica, writes are refused — HTTP 503, retried — until a replica is back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eventually, free_port, post_events, wait_for_port
from tests.stack import Stack
from tests.topology import SentinelSet, master_client
from wallboard.wire import decode

TOKEN = "sentinel-test-token-0123456789abcdef"
#: The promise: after the master dies, new events reach the board (through the collector, the
#: aggregator and the web process) within this many seconds. The sentinels need about 1 s to see
#: it down and 1-2 s to promote a replica; the clients' back-off adds up to a few seconds.
RECOVERY_S = 30.0
BATCH = 20


class Poster(threading.Thread):
    """Posts batches of new answered calls to the ingest API, each batch until it is taken (HTTP 200),
    and remembers which were acknowledged, and when."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.acked: list[str] = []
        self.acked_at: list[float] = []
        self.refused = 0  # 503s (Redis unavailable: retried) and connection errors
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            k = 0
            while not self.stop.is_set():
                now = time.time()
                batch = [
                    {
                        "kind": "call.answered",
                        "id": f"fo-{k + i}",
                        "ts": now,
                        "queue": "ventas",
                        "call_id": f"fo-call-{k + i}",
                        "agent": "raul.serrano",
                        "wait_s": 3.0,
                    }
                    for i in range(BATCH)
                ]
                while True:  # a batch until it is taken: a client that retries, as the API asks
                    try:
                        status = post_events(self.port, TOKEN, batch)
                    except OSError:
                        status = 0
                    if status == 200:
                        break
                    if status not in (0, 503):
                        raise AssertionError(f"the ingest API answered {status}")
                    self.refused += 1
                    time.sleep(0.2)
                self.acked.extend(e["id"] for e in batch)
                self.acked_at.append(time.time())
                k += BATCH
                time.sleep(0.01)
        except BaseException as exc:
            self.error = exc


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[SentinelSet]:
    with SentinelSet(tmp_path / "redis", replicas=2) as t:
        yield t


def _stack(tmp: Path, topology: SentinelSet, ingest_port: int) -> Stack:
    def adjust(raw: dict[str, Any]) -> None:
        raw["redis"].update(prefix="wb:", wait_replicas=1, wait_timeout_ms=1000)
        raw["collectors"] = [
            {
                "kind": "http",
                "name": "crm",
                "options": {"tokens": ["${CRM_TOKEN}"], "port": ingest_port, "rate_per_s": 100_000, "burst": 100_000},
            }
        ]

    # The URL (with both passwords) reaches the processes in the environment, as a deployment does.
    return Stack(tmp, adjust=adjust, env={"WALLBOARD_REDIS_URL": topology.url(), "CRM_TOKEN": TOKEN})


def test_the_pipeline_survives_a_kill_9_of_the_master_and_loses_no_acknowledged_event(
    tmp_path: Path, topology: SentinelSet
) -> None:
    ingest_port = free_port()
    stack = _stack(tmp_path / "stack", topology, ingest_port)
    with stack:
        for part in ("aggregate", "collect", "web"):
            stack.start(part)
        wait_for_port(ingest_port, 60, "the ingest API of `wallboard collect`")
        stack.wait_healthy(60)
        poster = Poster(ingest_port)
        poster.start()
        eventually(lambda: len(poster.acked) >= 400 or poster.error, 60, "400 events acknowledged before the kill")
        assert poster.error is None

        _, before = stack.healthz()
        killed = topology.kill_master()
        killed_at = time.time()
        new = topology.wait_failover(killed)
        assert new is not killed

        def board_moved_on() -> dict[str, Any] | None:
            status, body = stack.healthz()
            applied = (body.get("events") or {}).get("applied", 0)
            acked_since = sum(1 for t in poster.acked_at if t > killed_at)
            fresh = status == 200 and body.get("snapshot_seq", 0) > before["snapshot_seq"]
            return body if fresh and acked_since >= 5 and applied > len(poster.acked) - 5 * BATCH else None

        eventually(board_moved_on, RECOVERY_S, "events acknowledged and counted on the board after the failover")
        assert poster.error is None
        moved_on_at = time.time()
        eventually(lambda: poster.acked_at[-1] > moved_on_at + 2, 30, "posting 2 s more")
        poster.stop.set()
        poster.join(60)
        assert poster.error is None and not poster.is_alive()
        acked = set(poster.acked)
        assert len(acked) == len(poster.acked)

        # Every acknowledged event is on the new master's stream…
        with master_client(topology) as client:
            assert client.info("replication")["role"] == "master"
            on_stream = {decode(fields).id.removeprefix("crm:") for _, fields in client.xrange("wb:events")}
        assert acked - on_stream == set()
        # …and the board counts each of them once (the API is the only source).
        final = eventually(
            lambda: (b := stack.healthz()[1]) and b.get("events", {}).get("applied") == len(acked) and b,
            60,
            f"the board counting the {len(acked)} acknowledged events",
        )
        assert final["status"] in ("ok", "degraded") and final["redis"] is True
        for part in ("aggregate", "collect", "web"):
            assert stack.procs[part].poll() is None, f"`wallboard {part}` exited"
    logs = "".join(stack.output(p) for p in ("aggregate", "collect", "web"))
    assert topology.password not in logs and topology.sentinel_password not in logs
