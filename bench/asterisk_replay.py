"""The recordings of a real Asterisk, replayed through each way the wallboard reads it, against
Asterisk's own counters: one table per scenario and queue.

    .venv/bin/python bench/asterisk_replay.py

For each scenario of tests/data/asterisk/ (a day of calls; the same with a 15 s
AMI outage; a ``core restart now``) and each queue: Asterisk's own figures
(``QueueSummary``/``QueueStatus``, with the queue_log for what they do not
split), then the wallboard's through the AMI collector alone (the recorded
sessions served over a socket), the queue_log collector alone (a real file),
and both together with one ``system`` name. The same replays the tests make
(tests/collectors/*/test_recordings.py), on a real Redis started here.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.collectors.asterisk_ami import test_recordings as ami_replay
from tests.collectors.asterisk_ami.recording import expected
from tests.collectors.asterisk_queue_log import test_recordings as log_replay
from wallboard import retry
from wallboard.collectors import runtime
from wallboard.redis_server import EmbeddedRedis
from wallboard.streams import Streams, connect

SCENARIOS = ("day", "day_outage", "restart")
COLUMNS = (
    ("offered", "offered"),
    ("answered", "answered"),
    ("abandoned", "abandoned"),
    ("timeouts", "timeouts"),
    ("ASA s", "asa_s"),
    ("AHT s", "aht_s"),
    ("SL %", "sl_answered_pct"),
    ("SL2 %", "sl2_pct"),
)


def figures(totals: dict[str, Any]) -> dict[str, Any]:
    """A queue's totals with the figures Asterisk names: timeouts, SL (ServicelevelPerf), SL2."""
    if "service_level_pct" not in totals:  # Asterisk's own
        return totals
    sl = totals["service_level_pct"]
    return {
        **totals,
        "timeouts": totals["exits"].get("timeout", 0),
        "sl_answered_pct": sl["answered"],
        "sl2_pct": sl["asterisk_sl2"],
    }


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


async def main() -> None:
    retry.backoff = lambda attempt, base=0.5, cap=30.0: 0.05  # type: ignore[assignment]  # a recorded session ends at once
    runtime.HEARTBEAT_S = 0.1
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", persist=False)
        server.start()
        client = connect(server.url)
        try:
            n = 0

            def fresh() -> Streams:
                nonlocal n
                n += 1
                return Streams(client, f"replay{n}:", maxlen=2_000_000)

            print("| scenario | queue | read by | " + " | ".join(name for name, _ in COLUMNS) + " |")
            print("|---|---|---|" + "---:|" * len(COLUMNS))
            for scenario in SCENARIOS:
                rows: dict[str, dict[str, dict[str, Any]]] = {"Asterisk": expected(scenario)}
                rows["AMI"] = (await ami_replay.replay(scenario, fresh())).totals
                alone, together = Path(tmp) / f"{scenario}-log", Path(tmp) / f"{scenario}-both"
                alone.mkdir()
                together.mkdir()
                rows["queue_log"] = await log_replay.follow(scenario, fresh(), alone)
                rows["both, one system"] = await log_replay.both(scenario, fresh(), together, system="pbx1")
                for queue in rows["Asterisk"]:
                    for who, who_rows in rows.items():
                        q = figures(who_rows.get(queue, {}))
                        values = " | ".join(cell(q.get(key)) for _, key in COLUMNS)
                        print(f"| {scenario} | {queue} | {who} | {values} |")
        finally:
            await client.aclose()
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
