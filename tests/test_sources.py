"""All four real sources at once under `wallboard run`, feeding one snapshot.

An AMI stand-in and an Event Socket stand-in on real sockets, a queue_log file
on disk, and a batch posted to the web process's ingest API: each source's
numbers and health reach the same snapshot the simulator's reach.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.collectors.asterisk_ami.ami_server import AmiServer
from tests.collectors.freeswitch.esl_server import EslServer, agent, member
from tests.helpers import until, wait_for_port
from tests.stack import Stack
from wallboard.streams import Streams

TOKEN = "crm-token-0123456789abcdef"
NOW = int(time.time())


def _all_sources(ami_port: int, esl_port: int) -> Callable[[dict[str, Any]], None]:
    """The four real sources on the stand-ins' ports (secrets from the environment), a day started
    three hours ago in UTC."""

    def adjust(raw: dict[str, Any]) -> None:
        raw["timezone"] = "UTC"
        raw["day_start"] = datetime.fromtimestamp((NOW - 3 * 3600) // 900 * 900, UTC).strftime("%H:%M")
        raw["collectors"] = [
            {
                "kind": "asterisk_ami",
                "name": "pbx",
                "options": {"port": ami_port, "username": "wallboard", "secret": "${AMI_SECRET}"},
            },
            {"kind": "asterisk_queue_log", "name": "pbx-log", "options": {"path": "queue_log", "poll_s": 0.05}},
            {"kind": "freeswitch", "name": "fs", "options": {"port": esl_port, "password": "${FS_PASSWORD}"}},
            {"kind": "http", "name": "crm", "options": {"tokens": ["${CRM_API_TOKEN}"]}},
        ]

    return adjust


def _post(port: int, body: dict[str, Any]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/v1/events",
            json.dumps(body),
            {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


async def test_every_source_feeds_the_same_snapshot(
    tmp_path: Path, redis_url: str, streams: Streams, prefix: str
) -> None:
    ami = AmiServer()
    ami.status_rows = [
        [
            ("Event", "QueueParams"),
            ("Queue", "facturacion"),
            ("Max", "0"),
            ("Strategy", "rrmemory"),
            ("Calls", "1"),
            ("Holdtime", "0"),
            ("TalkTime", "0"),
            ("Completed", "0"),
            ("Abandoned", "0"),
            ("ServiceLevel", "20"),
            ("ServicelevelPerf", "0.0"),
            ("ServicelevelPerf2", "0.0"),
            ("Weight", "0"),
        ],
        [
            ("Event", "QueueEntry"),
            ("Queue", "facturacion"),
            ("Position", "1"),
            ("Channel", "PJSIP/trunk-0001"),
            ("Uniqueid", "1773129000.77"),
            ("Linkedid", "1773129000.77"),
            ("CallerIDNum", "600100300"),
            ("CallerIDName", "Cliente"),
            ("ConnectedLineNum", "unknown"),
            ("ConnectedLineName", "unknown"),
            ("Wait", "42"),
            ("Priority", "0"),
        ],
    ]
    await ami.start()
    async with EslServer() as esl:
        esl.queues = {"retencion@default": [member("retencion@default", "fs-call-1", NOW - 30)]}
        esl.agents = [agent("1001@default")]
        (tmp_path / "queue_log").write_text(
            f"{NOW - 600}|1.1|ventas|NONE|ENTERQUEUE||600100200|1\n"
            f"{NOW - 588}|1.1|ventas|PJSIP/201|CONNECT|12|1.1.1|2\n"
            f"{NOW - 488}|1.1|ventas|PJSIP/201|COMPLETECALLER|12|100|1\n"
        )
        stack = Stack(
            tmp_path,
            redis_url=redis_url,
            prefix=prefix,
            adjust=_all_sources(ami.port, esl.port),
            env={"AMI_SECRET": ami.secret, "FS_PASSWORD": esl.password, "CRM_API_TOKEN": TOKEN},
            log_level="WARNING",
        )
        stack.start("run")
        try:
            await asyncio.to_thread(wait_for_port, stack.port, 60, "the web process")
            queued = {"kind": "call.queued", "id": "q-1", "ts": NOW - 20, "queue": "soporte", "call_id": "crm-1"}
            assert await asyncio.to_thread(_post, stack.port, {"events": [queued]}) == (
                200,
                {"accepted": 1, "duplicates": 0},
            )

            def settled(s: dict[str, Any]) -> bool:
                sources, queues = s.get("sources", {}), s.get("queues", {})
                return (
                    all(name in sources and not sources[name]["stale"] for name in ("pbx", "pbx-log", "fs", "crm"))
                    and sources["crm"]["events_total"] == 1
                    and queues.get("ventas", {}).get("today", {}).get("answered") == 1
                    and all(queues.get(q, {}).get("waiting") == 1 for q in ("facturacion", "retencion", "soporte"))
                )

            async def settled_snapshot() -> dict[str, Any] | None:
                s = await streams.latest_snapshot() or {}
                return s if settled(s) else None

            snap: dict[str, Any] = await until(settled_snapshot, 60, "a snapshot showing every source")
        finally:
            code = await asyncio.to_thread(stack.stop, "run")
    await ami.stop()
    assert code == 0
    queues, sources = snap["queues"], snap["sources"]
    assert queues["ventas"]["today"]["asa_s"] == 12.0  # from the queue_log file
    assert queues["facturacion"]["longest_wait_s"] >= 42  # from AMI's QueueStatus
    assert queues["retencion"]["longest_wait_s"] >= 30  # from mod_callcenter's member list
    assert queues["soporte"]["longest_wait_s"] >= 20  # posted over HTTP
    assert {name: sources[name]["kind"] for name in ("pbx", "pbx-log", "fs", "crm")} == {
        "pbx": "asterisk_ami",
        "pbx-log": "asterisk_queue_log",
        "fs": "freeswitch",
        "crm": "http",
    }
    assert all(sources[n]["connected"] and sources[n]["errors_total"] == 0 for n in ("pbx", "pbx-log", "fs", "crm"))
    assert sources["crm"]["events_total"] == 1
