"""Bad-input log lines: one per reason per interval, with how many were left out."""

from __future__ import annotations

import logging

import pytest

from wallboard.ratelog import RateLimitedLog


def test_one_line_per_reason_per_interval_then_the_count_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    limited = RateLimitedLog(logging.getLogger("test.ratelog"), interval_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "test.ratelog"):
        for _ in range(500):
            limited.warning("binary first message", "closed 1003")
        limited.warning("not JSON")
        now[0] += 61
        limited.warning("binary first message", "closed 1003")
    assert [r.getMessage() for r in caplog.records] == [
        "binary first message: closed 1003",
        "not JSON",
        "binary first message: closed 1003 (499 more like it in the last 61 s not logged)",
    ]
    assert limited.counts == {"binary first message": 501, "not JSON": 1}
    assert not any(r.exc_info for r in caplog.records)
