from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from wallboard.clock import LocalIntervals, day_start_at

MADRID = ZoneInfo("Europe/Madrid")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def test_day_start_midnight_on_spring_forward_day() -> None:
    # 2026-03-29: 02:00 CET → 03:00 CEST. The day runs 23 h, from 23:00Z to 22:00Z.
    assert day_start_at(utc(2026, 3, 29, 12), MADRID, time(0)) == utc(2026, 3, 28, 23)
    assert day_start_at(utc(2026, 3, 29, 21, 59), MADRID, time(0)) == utc(2026, 3, 28, 23)
    assert day_start_at(utc(2026, 3, 29, 22, 0), MADRID, time(0)) == utc(2026, 3, 29, 22)


def test_day_start_midnight_on_fall_back_day() -> None:
    # 2026-10-25: 03:00 CEST → 02:00 CET. The day runs 25 h.
    assert day_start_at(utc(2026, 10, 25, 22, 59), MADRID, time(0)) == utc(2026, 10, 24, 22)
    assert day_start_at(utc(2026, 10, 25, 23, 0), MADRID, time(0)) == utc(2026, 10, 25, 23)


def test_day_start_six_am_across_dst() -> None:
    assert day_start_at(utc(2026, 3, 29, 3, 59), MADRID, time(6)) == utc(2026, 3, 28, 5)  # 06:00 CET
    assert day_start_at(utc(2026, 3, 29, 4, 0), MADRID, time(6)) == utc(2026, 3, 29, 4)  # 06:00 CEST


def test_day_start_inside_the_gap_maps_to_the_end_of_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29 in Madrid; the day starts when clocks read 03:30 CEST.
    start = day_start_at(utc(2026, 3, 29, 12), MADRID, time(2, 30))
    assert start == utc(2026, 3, 29, 1, 30)
    assert datetime.fromtimestamp(start, MADRID).strftime("%H:%M") == "03:30"


def test_intervals_are_local() -> None:
    kolkata = LocalIntervals(ZoneInfo("Asia/Kolkata"), 3600)  # +05:30: local hours are :30 in UTC
    assert kolkata.floor(utc(2026, 1, 1, 4, 45)) == utc(2026, 1, 1, 4, 30)
    assert kolkata.iso(kolkata.floor(utc(2026, 1, 1, 4, 45))) == "2026-01-01T10:00:00+05:30"


def test_fall_back_has_two_distinct_local_one_o_clock_hours() -> None:
    hours = LocalIntervals(MADRID, 3600)
    first = hours.floor(utc(2026, 10, 25, 0, 30))  # 02:30 CEST
    second = hours.floor(utc(2026, 10, 25, 1, 30))  # 02:30 CET
    assert first != second
    assert hours.iso(first) == "2026-10-25T02:00:00+02:00"
    assert hours.iso(second) == "2026-10-25T02:00:00+01:00"
    assert hours.next(first) == second
