"""The fault campaign, short: `wallboard run` under kill -9 of each of its processes while a
queue_log is written and rotated; the board's totals must equal `wallboard report`'s on the file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import faults


@pytest.mark.slow
def test_kill_9_of_every_process_loses_no_event_and_counts_none_twice(tmp_path: Path) -> None:
    # healthy_s 0: a process may be killed again right after its restart (delays 0, 1, 2 s).
    plan = faults.Plan(
        lines=50_000, kills=12, duration_s=30.0, healthy_s=0.0, rotations=2, seed=7, drain_timeout_s=120.0
    )
    result = faults.campaign(plan, tmp_path)

    assert result["kills"] == {kind: 3 for kind in faults.KINDS}
    assert result["deaths_logged"] == 12
    assert result["lines"] >= 50_000
    assert result["files"] == ["queue_log.1", "queue_log.2", "queue_log"]
    live, report = result["totals"]["live"], result["totals"]["report"]
    assert (
        sorted(report)
        == sorted(result["totals"]["written"])
        == ["empresas", "facturacion", "retencion", "soporte", "ventas"]
    )
    assert result["lost"] == {}
    assert result["doubled"] == {}
    for qid, row in report.items():
        assert row["offered"] > 1000
        assert {k: live[qid].get(k) for k in faults.COUNTS + faults.AVERAGES} == {
            k: row.get(k) for k in faults.COUNTS + faults.AVERAGES
        }
    assert result["averages_differ"] == {}
    assert result["report_vs_written"] == {}
    assert result["refused"] == {}
