"""Local time: where today starts and how intervals tile a day, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from wallboard.clock import LocalIntervals, day_start_at

MADRID = ZoneInfo("Europe/Madrid")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


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


# Intervals longer than an hour tile the local day from day_start by wall-clock time.
# Madrid 2026: spring forward on Sunday 29 March at 01:00Z (02:00 CET → 03:00 CEST),
# fall back on Sunday 25 October at 01:00Z (03:00 CEST → 02:00 CET).


def test_a_day_is_one_interval_from_local_midnight_on_the_spring_forward_day() -> None:
    days = LocalIntervals(MADRID, 86_400)
    day = utc(2026, 3, 28, 23)  # 00:00 CET on the 29th
    # 00:30 CET, 14:00 CEST and 23:30 CEST of the 29th are one day, whatever their offset
    for ts in (utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 12), utc(2026, 3, 29, 21, 30)):
        assert days.floor(ts) == day
    assert days.iso(day) == "2026-03-29T00:00:00+01:00"
    assert days.next(day) == utc(2026, 3, 29, 22)  # 23 hours later: 00:00 CEST on the 30th
    assert days.floor(utc(2026, 3, 29, 22, 30)) == utc(2026, 3, 29, 22)
    assert days.floor(utc(2026, 3, 28, 22, 59, 59)) == utc(2026, 3, 27, 23)  # 23:59:59 CET on the 28th


def test_a_day_is_25_hours_on_the_fall_back_day() -> None:
    days = LocalIntervals(MADRID, 86_400)
    day = utc(2026, 10, 24, 22)  # 00:00 CEST on the 25th
    for ts in (utc(2026, 10, 24, 22), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 22, 59)):
        assert days.floor(ts) == day
    assert days.next(day) - day == 25 * 3600
    assert days.iso(days.next(day)) == "2026-10-26T00:00:00+01:00"


def test_a_day_starts_at_day_start_across_dst() -> None:
    days = LocalIntervals(MADRID, 86_400, time(6))
    # the day of the 28th runs 06:00 CET (05:00Z) to 06:00 CEST on the 29th (04:00Z): 23 hours
    assert days.floor(utc(2026, 3, 29, 3, 30)) == utc(2026, 3, 28, 5)  # 05:30 CEST, still the 28th's day
    assert days.floor(utc(2026, 3, 29, 4, 30)) == utc(2026, 3, 29, 4)  # 06:30 CEST
    assert days.next(utc(2026, 3, 28, 5)) == utc(2026, 3, 29, 4)
    assert days.iso(utc(2026, 3, 29, 4)) == "2026-03-29T06:00:00+02:00"
    # the day of the 24th October runs 06:00 CEST (04:00Z) to 06:00 CET on the 25th (05:00Z): 25 hours
    assert days.floor(utc(2026, 10, 25, 4, 59)) == utc(2026, 10, 24, 4)  # 05:59 CET
    assert days.floor(utc(2026, 10, 25, 5)) == utc(2026, 10, 25, 5)
    assert days.next(utc(2026, 10, 24, 4)) == utc(2026, 10, 25, 5)


def test_two_hour_intervals_on_the_spring_forward_night() -> None:
    hours = LocalIntervals(MADRID, 7200)
    # walls 00:00, 02:00 (in the gap: the instant after it, 03:00 CEST), 04:00 CEST, …
    assert hours.floor(utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 28, 23)  # 01:30 CET
    assert hours.floor(utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 29, 1)  # 03:30 CEST
    assert hours.iso(utc(2026, 3, 29, 1)) == "2026-03-29T03:00:00+02:00"
    assert hours.next(utc(2026, 3, 28, 23)) == utc(2026, 3, 29, 1)  # 2 real hours
    assert hours.next(utc(2026, 3, 29, 1)) == utc(2026, 3, 29, 2)  # 1 real hour (to 04:00 CEST)
    assert hours.floor(utc(2026, 3, 29, 21, 59)) == utc(2026, 3, 29, 20)  # 22:00 CEST
    assert hours.next(utc(2026, 3, 29, 20)) == utc(2026, 3, 29, 22)  # 00:00 of the 30th


def test_three_hour_intervals_on_the_fall_back_night() -> None:
    hours = LocalIntervals(MADRID, 3 * 3600)
    # 00:00 CEST (22:00Z) to 03:00 CET (02:00Z) holds four real hours: 02:00–03:00 comes twice
    for ts in (utc(2026, 10, 24, 22), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)):
        assert hours.floor(ts) == utc(2026, 10, 24, 22)
    assert hours.next(utc(2026, 10, 24, 22)) == utc(2026, 10, 25, 2)
    assert hours.iso(utc(2026, 10, 25, 2)) == "2026-10-25T03:00:00+01:00"
    assert hours.floor(utc(2026, 10, 25, 2, 30)) == utc(2026, 10, 25, 2)


def test_intervals_longer_than_an_hour_must_tile_the_day() -> None:
    for seconds in (7 * 3600, 2 * 86_400, 0):
        try:
            LocalIntervals(MADRID, seconds)
        except ValueError as exc:
            assert f"got {seconds} s" in str(exc)
        else:
            raise AssertionError(f"{seconds} s accepted")
