"""Against a real three-master Redis Cluster on loopback (tests/topology.py): the whole pipeline
with ``redis.prefix: "{wb}:"`` (the ingest API of `wallboard collect` → the aggregator → a snapshot
→ a screen on `wallboard web`'s /ws), a prefix without a hash tag refused, and two wallboards with
different tags on different masters, each one's keys all on its own master.

Why one tag for all of a wallboard's keys: the aggregator saves its checkpoint and acknowledges the
entries it covers (XACK on the event stream) in one MULTI/EXEC, which a cluster runs only on keys of
one slot; a test below shows the transaction refused without the tag.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import RedisClusterException, ResponseError
from websockets.sync.client import connect as ws_connect

from tests.helpers import eventually, free_port, post_events, wait_for_port
from tests.stack import Stack, cli
from tests.topology import Cluster
from wallboard.events import CallAnswered
from wallboard.redis_client import connect_any
from wallboard.streams import GROUP, Streams

TOKEN = "cluster-test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


def test_the_whole_pipeline_runs_on_a_cluster_with_a_tagged_prefix(tmp_path: Path, cluster: Cluster) -> None:
    ingest_port = free_port()

    def adjust(raw: dict[str, Any]) -> None:
        raw["redis"].update(prefix="{wb}:")
        raw["collectors"] = [
            {"kind": "http", "name": "crm", "options": {"tokens": ["${CRM_TOKEN}"], "port": ingest_port}}
        ]

    stack = Stack(tmp_path, adjust=adjust, env={"WALLBOARD_REDIS_URL": cluster.url(), "CRM_TOKEN": TOKEN})
    with stack:
        for part in ("aggregate", "collect", "web"):
            stack.start(part)
        wait_for_port(ingest_port, 60, "the ingest API of `wallboard collect`")
        stack.wait_healthy(60)
        now = time.time()
        calls = [
            {
                "kind": "call.answered",
                "id": f"cl-{i}",
                "ts": now - 60 + i,
                "queue": "ventas",
                "call_id": f"cl-call-{i}",
                "agent": "raul.serrano",
                "wait_s": 4.0,
            }
            for i in range(30)
        ]
        assert post_events(ingest_port, TOKEN, calls) == 200
        eventually(lambda: stack.healthz()[1].get("events", {}).get("applied") == 30, 60, "30 events on the board")
        with ws_connect(f"ws://127.0.0.1:{stack.port}/ws") as ws:
            ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            view = json.loads(ws.recv(timeout=10))
        assert view["view"]["queues"]["ventas"]["today"]["answered"] == 30
        # All of it on the master that serves the tag {wb}: the stream, the checkpoint, the cursor-less
        # source's health, the snapshots.
        home = cluster.node_for_key("{wb}")
        with home.client() as node:
            for key in ("events", "aggregator:checkpoint", "sources", "snapshots"):
                assert node.exists("{wb}:" + key), key
            assert node.xpending("{wb}:events", GROUP)["pending"] == 0
        for other in cluster.nodes:
            if other is not home:
                with other.client() as node:
                    assert node.dbsize() == 0, f"{other.name} holds keys of the wallboard"
        for part in ("aggregate", "collect", "web"):
            assert stack.procs[part].poll() is None, f"`wallboard {part}` exited"
    logs = "".join(stack.output(p) for p in ("aggregate", "collect", "web"))
    assert cluster.password not in logs


def test_a_prefix_without_a_hash_tag_is_refused_with_why(tmp_path: Path, cluster: Cluster) -> None:
    config = tmp_path / "config.yaml"
    Stack(tmp_path, adjust=lambda raw: raw["redis"].update(prefix="wb:"))  # writes config.yaml there
    result = cli("check-config", "--config", str(config), env={"WALLBOARD_REDIS_URL": cluster.url()})
    assert result.returncode != 0
    assert "hash tag" in result.stderr and "'wb:'" in result.stderr, result.stderr
    assert cluster.password not in result.stdout + result.stderr
    tagged = tmp_path / "tagged"
    Stack(tagged, adjust=lambda raw: raw["redis"].update(prefix="{wb}:"))
    ok = cli("check-config", "--config", str(tagged / "config.yaml"), env={"WALLBOARD_REDIS_URL": cluster.url()})
    assert ok.returncode == 0, ok.stderr


def _other_tag(cluster: Cluster, than: str) -> str:
    home = cluster.node_for_key(than)
    return next(t for t in (f"{{site{i}}}" for i in range(100)) if cluster.node_for_key(t) is not home)


async def _fold_one(streams: Streams, n: int) -> None:
    """What the aggregator does with Redis, in small: append, read as the group, commit (checkpoint + XACK)."""
    await streams.ensure_group()
    now = time.time()
    await streams.append(
        [
            CallAnswered(
                id=f"{streams.prefix}{i}",
                ts=now,
                source="t",
                queue="ventas",
                call_id=f"c{i}",
                agent="raul.serrano",
                wait_s=1.0,
            )
            for i in range(n)
        ]
    )
    entries = await streams.read_new("test", 100, 100)
    assert len(entries) == n
    await streams.commit({"last_id": entries[-1][0]}, [entry_id for entry_id, _ in entries])


async def test_two_wallboards_with_different_tags_live_on_different_masters(cluster: Cluster) -> None:
    tags = ["{site-a}", _other_tag(cluster, "{site-a}")]  # (not {wb}: the pipeline test's wallboard)
    client = connect_any(cluster.url())
    try:
        for k, tag in enumerate(tags):
            await _fold_one(Streams(client, f"{tag}:"), 3 + k)  # type: ignore[arg-type]
    finally:
        await client.aclose()
    homes = [cluster.node_for_key(tag) for tag in tags]
    assert homes[0] is not homes[1]
    for k, (tag, home) in enumerate(zip(tags, homes, strict=True)):
        with home.client() as node:
            assert node.xlen(f"{tag}:events") == 3 + k
            assert node.xpending(f"{tag}:events", GROUP)["pending"] == 0
            assert json.loads(node.get(f"{tag}:aggregator:checkpoint") or "{}")["last_id"]
            own = set(node.scan_iter(match=f"{tag}:*"))
        assert {f"{tag}:events", f"{tag}:aggregator:checkpoint"} <= own
        with homes[1 - k].client() as node:  # (a key of another slot there would be a MOVED: listed instead)
            assert list(node.scan_iter(match=f"{tag}:*")) == []


async def test_without_a_tag_the_checkpoint_transaction_cannot_run(cluster: Cluster) -> None:
    """The reason for the rule: checkpoint and event stream in different slots (here on different
    masters) cannot be written in one transaction."""
    client = connect_any(cluster.url())
    prefix = next(
        p
        for p in (f"untagged{i}:" for i in range(100))
        if cluster.node_for_key(p + "events") is not cluster.node_for_key(p + "aggregator:checkpoint")
    )
    try:
        streams = Streams(client, prefix)  # type: ignore[arg-type]
        await streams.ensure_group()
        with pytest.raises((RedisClusterException, ResponseError), match=r"(?i)slot"):
            await streams.commit({"last_id": "0-0"}, ["1-0"])
    finally:
        await client.delete(prefix + "events")
        await client.aclose()
