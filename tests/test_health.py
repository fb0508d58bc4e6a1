"""/healthz and the screens under bad input, end to end: `wallboard run` following a queue_log file.

A bad line holding a caller number, a line dated 2099 and a line for a queue that is not configured:
/healthz names each by line number and reason, with the refusal counts per source and the unconfigured
queue's name; no caller number reaches /healthz or a screen, and screens get counts, not error texts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect as ws_connect

from tests.helpers import eventually
from tests.stack import Stack

CALLER = "34699555123"


def test_health_names_bad_input_by_reason_and_line_and_no_screen_sees_personal_data(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text("")

    def one_queue_log(raw: dict[str, Any]) -> None:
        raw["collectors"] = [
            {"kind": "asterisk_queue_log", "name": "pbx-log", "options": {"path": str(log), "load_today": False}}
        ]

    stack = Stack(tmp_path, adjust=one_queue_log)
    stack.start("run")
    try:
        eventually(
            lambda: stack.healthz()[1].get("sources", {}).get("pbx-log", {}).get("connected"),
            90,
            "the queue_log source connected in /healthz",
        )
        t = int(time.time()) - 30
        with log.open("a") as f:
            f.write(f"{t}|c1|ventas|NONE|ENTERQUEUE||{CALLER}|1\n")
            f.write(f"{t + 1}|c1|ventas|PJSIP/201|CONNECT|x{CALLER}|c1.2|1\n")  # line 2: a caller number as holdtime
            f.write(f"4070908800|c2|ventas|NONE|ENTERQUEUE||{CALLER}|1\n")  # line 3: 2099
            f.write(f"{t + 2}|c3|invented|NONE|ENTERQUEUE||{CALLER}|1\n")  # line 4: not a configured queue
            f.write(f"{t + 2}|c4|+{CALLER}|NONE|ENTERQUEUE||1|1\n")  # line 5: a caller number as the queue
            f.write(f"{t + 3}|c1|ventas|NONE|ABANDON|1|1|4\n")

        def refused() -> dict[str, Any] | None:
            health = stack.healthz()[1]
            source = health.get("sources", {}).get("pbx-log", {})
            done = source.get("refused", {}).get("unconfigured_queue") == 2 and source.get("errors_total")
            return health if done else None

        health = eventually(refused, 60, "refusals in /healthz")
        source = health["sources"]["pbx-log"]
        assert source["refused"] == {"future": 1, "unconfigured_queue": 2}
        assert source["errors_total"] == 1
        assert source["last_error"].startswith(f"{log}: line 2: CONNECT: holdtime"), source["last_error"]
        assert health["events"]["unconfigured_queues"] == {"invented": 1}
        assert health["events"]["unconfigured_queues_unnamed"] == 1
        assert CALLER not in json.dumps(health)

        with ws_connect(f"ws://127.0.0.1:{stack.port}/ws") as ws:
            ws.send(json.dumps({"subscribe": {"view": "manager"}}))
            first = ws.recv(timeout=10)
        assert isinstance(first, str) and CALLER not in first and "last_error" not in first
        view = json.loads(first)
        assert view["view"]["sources"]["pbx-log"]["refused"] == {"future": 1, "unconfigured_queue": 2}
        assert view["view"]["queues"]["ventas"]["today"]["abandoned"] == 1
        assert "invented" not in view["view"]["queues"]
    finally:
        stack.close()
    output = stack.output("run")
    assert CALLER not in output, "a caller number reached the log"
    assert "Traceback" not in output
