"""`wallboard report`: calls logged again, daily and multi-hour rows on DST days, the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallboard.config import parse_config
from wallboard.report import build_report, to_csv

DATA = Path(__file__).resolve().parent / "data"
RELOGGED = DATA / "queue_log_relogged.txt"
DST = DATA / "queue_log_madrid_dst.txt"
RAW: dict[str, Any] = {
    "timezone": "Europe/Madrid",
    "queues": [{"id": "ventas", "sl_threshold_s": 20, "short_abandon_s": 5}],
    "agents": [
        {"id": "ana", "aliases": ["PJSIP/201"]},
        {"id": "luis", "aliases": ["PJSIP/202"]},
        {"id": "marta", "aliases": ["PJSIP/203"]},
    ],
}


def rows(path: Path, minutes: int, day_start: str = "00:00") -> dict[str, int]:
    """Offered calls per interval start."""
    config = parse_config({**RAW, "day_start": day_start}, env={})
    rep, stats = build_report(iter(path.read_text().splitlines(keepends=True)), config, minutes)
    assert stats.malformed == 0
    return {i["start"]: i["offered"] for i in rep["queues"]["ventas"]["intervals"]}


def test_calls_logged_again_count_once() -> None:
    config = parse_config(RAW, env={})
    rep, stats = build_report(iter(RELOGGED.read_text().splitlines(keepends=True)), config)
    v = rep["queues"]["ventas"]["total"]
    # answered r1 12, r2 20, r3 5, r6 3 (r1's CONNECT twice): all within T = 20
    assert (v["answered"], v["answered_within_sl"], v["asa_s"]) == (4, 4, 10.0)
    # r4 abandoned after 8 s, logged twice; r5 timed out twice, each time logged twice, re-entering between
    assert (v["abandoned"], v["abandoned_within_sl"], v["short_abandoned"]) == (1, 1, 0)
    assert v["exits"]["timeout"] == 2 and v["other_exits"] == 2
    assert v["offered"] == 7
    # handled r1 180 (3 lines), r2 240 (2 lines), r3 300 (1 line); r6 still talking
    assert (v["handled"], v["transferred"], v["aht_s"]) == (3, 0, 240.0)
    assert v["abandon_rate_pct"] == pytest.approx(14.29)  # 1 / 7
    assert dict(stats.repeated) == {
        "CONNECT": 1,
        "ENTERQUEUE": 1,
        "COMPLETEAGENT": 2,
        "COMPLETECALLER": 1,
        "ABANDON": 1,
        "EXITWITHTIMEOUT": 1,
    }


# 09:00 Madrid; T = 20 s, Ts = 5 s. Waits are the log's own (CONNECT holdtime, the exits' waittime).
EVERY_EXIT = """\
1773129600|r1|ventas|NONE|ENTERQUEUE||600100001|1
1773129605|r1|ventas|PJSIP/201|CONNECT|5|r1-agent|2
1773129610|r2|ventas|NONE|ENTERQUEUE||600100002|1
1773129640|r2|ventas|PJSIP/202|CONNECT|30|r2-agent|4
1773129620|r3|ventas|NONE|ENTERQUEUE||600100003|2
1773129623|r3|ventas|NONE|ABANDON|2|2|3
1773129630|r4|ventas|NONE|ENTERQUEUE||600100004|2
1773129650|r4|ventas|NONE|EXITWITHTIMEOUT|1|2|20
1773129640|r5|ventas|NONE|ENTERQUEUE||600100005|2
1773129700|r5|ventas|NONE|EXITWITHTIMEOUT|1|2|60
1773129650|r6|ventas|NONE|ENTERQUEUE||600100006|2
1773129650|r6|ventas|NONE|EXITEMPTY|2|2|0
1773129660|r7|ventas|NONE|ENTERQUEUE||600100007|2
1773129705|r7|ventas|NONE|WITHDRAW|1|2|45|
1773129670|r8|ventas|NONE|ENTERQUEUE||600100008|3
1773129678|r8|ventas|NONE|EXITWITHKEY|1|1|3|8
"""


def test_the_report_shows_asterisks_sl2() -> None:
    config = parse_config(RAW, env={})
    rep, stats = build_report(iter(EVERY_EXIT.splitlines(keepends=True)), config)
    assert stats.malformed == 0
    v = rep["queues"]["ventas"]["total"]
    # answered r1 5 s (within), r2 30 s; hung up r3 3 s (within, short); timeouts r4 20 s (within: ≤ T), r5 60 s;
    # left empty r6 0 s (within); withdrawn r7 45 s; exit with key r8 8 s (within, but no abandon for app_queue)
    assert (v["answered"], v["answered_within_sl"], v["abandoned"], v["abandoned_within_sl"]) == (2, 1, 1, 1)
    assert v["exits"] == {"timeout": 2, "exit_key": 1, "empty": 1, "withdraw": 1, "other": 0}
    assert v["exits_within_sl"] == {"timeout": 1, "exit_key": 1, "empty": 1, "withdraw": 0, "other": 0}
    # U = 1 hang-up + 2 timeouts + empty + withdraw = 5 (Asterisk's Abandoned); U≤T = r3 + r4 + r6 = 3
    assert v["service_level_pct"] == {
        "answered": 50.0,  # 1 / 2 (ServicelevelPerf)
        "asterisk_sl2": 57.14,  # (1 + 3) / (2 + 5) (ServicelevelPerf2)
        "sl2_hangups": 66.67,  # (1 + 1) / (2 + 1)
        "offered": 33.33,  # 1 / (2 + 1)
        "excl_short_abandons": 50.0,  # 1 / (2 + 1 − 1)
        "abandons_after_T": 50.0,  # 1 / (2 + 0)
    }
    csv_total = to_csv(rep).splitlines()
    header, total = csv_total[0].split(","), csv_total[1].split(",")
    row = dict(zip(header, total, strict=True))
    assert (row["service_level_pct.asterisk_sl2"], row["service_level_pct.sl2_hangups"]) == ("57.14", "66.67")
    assert row["exits_within_sl.timeout"] == "1"


# Madrid 2026: spring forward Sunday 29 March 01:00Z, fall back Sunday 25 October 01:00Z.
# One abandoned call at each of (UTC → local):
#   s1 28 Mar 22:30 → 23:30 CET      s2 28 Mar 23:30 → 00:30 CET 29th   s3 29 Mar 00:30 → 01:30 CET
#   s4 29 Mar 01:30 → 03:30 CEST     s5 29 Mar 03:30 → 05:30 CEST       s6 29 Mar 04:30 → 06:30 CEST
#   s7 29 Mar 12:00 → 14:00 CEST     s8 29 Mar 21:30 → 23:30 CEST       s9 29 Mar 22:30 → 00:30 CEST 30th
#   f1 24 Oct 21:30 → 23:30 CEST     f2 24 Oct 22:30 → 00:30 CEST 25th  f3 25 Oct 00:30 → 02:30 CEST
#   f4 25 Oct 01:30 → 02:30 CET      f5 25 Oct 02:30 → 03:30 CET        f6 25 Oct 22:30 → 23:30 CET
#   f7 25 Oct 23:30 → 00:30 CET 26th


def test_daily_rows_are_local_days_on_dst_days() -> None:
    assert rows(DST, 1440) == {
        "2026-03-28T00:00:00+01:00": 1,  # s1
        "2026-03-29T00:00:00+01:00": 7,  # s2–s8: the 23-hour day in one row
        "2026-03-30T00:00:00+02:00": 1,  # s9
        "2026-10-24T00:00:00+02:00": 1,  # f1
        "2026-10-25T00:00:00+02:00": 5,  # f2–f6: the 25-hour day in one row
        "2026-10-26T00:00:00+01:00": 1,  # f7
    }


def test_daily_rows_start_at_day_start() -> None:
    assert rows(DST, 1440, "06:00") == {
        "2026-03-28T06:00:00+01:00": 5,  # s1–s5: to 06:00 CEST on the 29th, 23 hours
        "2026-03-29T06:00:00+02:00": 4,  # s6–s9
        "2026-10-24T06:00:00+02:00": 5,  # f1–f5: to 06:00 CET on the 25th, 25 hours
        "2026-10-25T06:00:00+01:00": 2,  # f6, f7
    }


def test_two_hour_rows_on_the_spring_forward_night() -> None:
    spring = {k: n for k, n in rows(DST, 120).items() if k.startswith("2026-03")}
    assert spring == {
        "2026-03-28T22:00:00+01:00": 1,  # s1
        "2026-03-29T00:00:00+01:00": 2,  # s2, s3 (00:00–02:00 CET)
        "2026-03-29T03:00:00+02:00": 1,  # s4: the 02:00 row starts when the gap ends, and lasts an hour
        "2026-03-29T04:00:00+02:00": 1,  # s5
        "2026-03-29T06:00:00+02:00": 1,  # s6
        "2026-03-29T14:00:00+02:00": 1,  # s7
        "2026-03-29T22:00:00+02:00": 1,  # s8
        "2026-03-30T00:00:00+02:00": 1,  # s9
    }


def test_three_hour_rows_on_the_fall_back_night() -> None:
    autumn = {k: n for k, n in rows(DST, 180).items() if k.startswith("2026-10")}
    assert autumn == {
        "2026-10-24T21:00:00+02:00": 1,  # f1
        "2026-10-25T00:00:00+02:00": 3,  # f2, f3, f4: 00:00 CEST to 03:00 CET holds four hours
        "2026-10-25T03:00:00+01:00": 1,  # f5
        "2026-10-25T21:00:00+01:00": 1,  # f6
        "2026-10-26T00:00:00+01:00": 1,  # f7
    }


def test_report_command_daily_with_day_start_and_summary(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({**RAW, "day_start": "06:00"}))
    log = tmp_path / "queue_log"
    # the DST file with two bad lines holding a caller number and a member name
    log.write_text(
        DST.read_text() + "1774800000|s9|ventas|PJSIP/201|CONNECT|600123456x|s9-agent|1\n"
        "600123456|x|ventas|NONE|ABANDON|1|1|5\n" + RELOGGED.read_text()
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallboard",
            "report",
            "--queue-log",
            str(log),
            "--interval",
            "1440",
            "--config",
            str(cfg),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    starts = [i["start"] for i in json.loads(out.stdout)["queues"]["ventas"]["intervals"]]
    assert starts == [
        "2026-03-10T06:00:00+01:00",
        "2026-03-28T06:00:00+01:00",
        "2026-03-29T06:00:00+02:00",
        "2026-10-24T06:00:00+02:00",
        "2026-10-25T06:00:00+01:00",
    ]
    assert "2 malformed" in out.stderr
    assert "line 33: CONNECT: holdtime (data field 1) is not a number of seconds" in out.stderr
    assert "line 34: time is in 1989, before 2000-01-01" in out.stderr
    assert "COMPLETEAGENT×2" in out.stderr
    assert "600123456" not in out.stderr and "PJSIP" not in out.stderr
