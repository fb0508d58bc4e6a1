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


@pytest.mark.slow
def test_kill_9_of_the_active_aggregator_with_a_standby_loses_no_event_and_counts_none_twice(tmp_path: Path) -> None:
    """Two aggregators on one lease: each kill is of the active one. The one `run` keeps alive is
    restarted at once (and takes its own lease back); the standby, killed, comes back only once
    its lease has expired, so the other takes over: both ways, nothing lost or counted twice."""
    plan = faults.Plan(
        lines=30_000,
        kills=6,
        duration_s=45.0,
        healthy_s=0.0,
        rotations=1,
        seed=11,
        gap_s=(7.0, 9.0),  # past a takeover (the lease's 5 s): each kill is of a recovered pipeline
        drain_timeout_s=120.0,
        standby=True,
        kinds=("aggregator",),
    )
    result = faults.campaign(plan, tmp_path)

    assert result["kills"] == {"aggregator": 6}
    takeovers = result["takeovers"]
    # after each kill of the active one, one of the two was active again, and some kills were
    # taken over by the other: the standby, killed, comes back only after its lease has expired;
    # `run`'s own is restarted after 0, 1, 2, 4, 8 s as it keeps dying (7–9 s apart, never 30 s up),
    # so by its third or fourth death its lease has expired first and the other has taken it
    assert sum(takeovers.values()) == 6, takeovers
    assert sum(n for pair, n in takeovers.items() if pair.split(" -> ")[0] != pair.split(" -> ")[1]) >= 1, takeovers
    assert all(k["snapshot"] is not None and k["healthz"] is not None for k in result["kill_log"]), result["kill_log"]
    assert "standing by" in result["standby_log"]
    assert result["lost"] == {}
    assert result["doubled"] == {}
    live, report = result["totals"]["live"], result["totals"]["report"]
    for qid, row in report.items():
        assert row["offered"] > 500
        assert {k: live[qid].get(k) for k in faults.COUNTS + faults.AVERAGES} == {
            k: row.get(k) for k in faults.COUNTS + faults.AVERAGES
        }
