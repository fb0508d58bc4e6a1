"""All four real sources at once under `wallboard run`, feeding one snapshot.

An AMI stand-in and an Event Socket stand-in on real sockets, a queue_log file
on disk, and a batch posted to the web process's ingest API: each source's
numbers and health reach the same snapshot the simulator's reach.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.collectors.ami_server import AmiServer
from tests.collectors.esl_server import EslServer, agent, member
from tests.helpers import free_port
from wallboard.streams import Streams

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "crm-token-0123456789abcdef"
NOW = int(time.time())


def _config(tmp: Path, redis_url: str, prefix: str, ami_port: int, esl_port: int, web_port: int) -> Path:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["redis"] = {"url": redis_url, "prefix": prefix}
    raw["timezone"] = "UTC"
    raw["day_start"] = datetime.fromtimestamp((NOW - 3 * 3600) // 900 * 900, UTC).strftime("%H:%M")
    raw["web"] = {"port": web_port}
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
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    (tmp / "queue_log").write_text(
        f"{NOW - 600}|1.1|ventas|NONE|ENTERQUEUE||600100200|1\n"
        f"{NOW - 588}|1.1|ventas|PJSIP/201|CONNECT|12|1.1.1|2\n"
        f"{NOW - 488}|1.1|ventas|PJSIP/201|COMPLETECALLER|12|100|1\n"
    )
    return path


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
        web_port = free_port()
        config = _config(tmp_path, redis_url, prefix, ami.port, esl.port, web_port)
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("WALLBOARD_REDIS_URL", "WALLBOARD_CONFIG")},
            "AMI_SECRET": ami.secret,
            "FS_PASSWORD": esl.password,
            "CRM_API_TOKEN": TOKEN,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wallboard", "run", "--config", str(config), "--log-level", "WARNING", env=env
        )
        try:
            deadline = time.monotonic() + 60
            status: int | None = None
            while status is None:
                try:
                    status, body = await asyncio.to_thread(
                        _post,
                        web_port,
                        {
                            "events": [
                                {
                                    "kind": "call.queued",
                                    "id": "q-1",
                                    "ts": NOW - 20,
                                    "queue": "soporte",
                                    "call_id": "crm-1",
                                }
                            ]
                        },
                    )
                except OSError:  # the web process is still starting
                    assert time.monotonic() < deadline, "web process did not start"
                    await asyncio.sleep(0.2)
            assert (status, body) == (200, {"accepted": 1, "duplicates": 0})

            snap: dict[str, Any] = {}

            def settled(s: dict[str, Any]) -> bool:
                sources, queues = s.get("sources", {}), s.get("queues", {})
                return (
                    all(name in sources and not sources[name]["stale"] for name in ("pbx", "pbx-log", "fs", "crm"))
                    and sources["crm"]["events_total"] == 1
                    and queues.get("ventas", {}).get("today", {}).get("answered") == 1
                    and all(queues.get(q, {}).get("waiting") == 1 for q in ("facturacion", "retencion", "soporte"))
                )

            while not settled(snap):
                assert time.monotonic() < deadline, f"snapshot never showed every source: {snap.get('sources')}"
                await asyncio.sleep(0.2)
                snap = await streams.latest_snapshot() or {}
        finally:
            proc.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(proc.wait(), 60)
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
